"""Baselines as bridges: the prompted LLM ("LLM 0-shot") and LoRA fine-tuning ("LLM + LoRA").

Both read the source inside LMT's prompt, have no encoder, and go through the same
checkpoint, trainer and CLI paths as every bridge.
"""

import argparse
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from babelbridge.backbones import load_decoder, load_encoder
from babelbridge.bridges import (
    LoRABridge,
    PromptedBridge,
    TranslationPair,
    build_bridge,
    load_bridge,
    save_bridge,
    save_prompted_baseline,
)
from babelbridge.cli import main as cli_main
from babelbridge.cli import translate_cmd
from babelbridge.errors import BabelBridgeError, BackboneMismatchError, CheckpointError, InputError
from babelbridge.runconfig import load_run_config
from babelbridge.textio import one_line

ROOT = Path(__file__).resolve().parents[1]
# Prompts of different lengths: left padding has to do real work.
TEXTS = ["Hallo", "Guten Morgen, wie geht es dir heute?", "Der Hund schläft unter dem Tisch, weil es regnet."]
PAIRS = [
    TranslationPair("Guten Morgen.", "Good morning.", "deu_Latn"),
    TranslationPair("Der Hund schläft unter dem Tisch.", "The dog sleeps under the table.", "deu_Latn"),
    TranslationPair("Bonjour à tous.", "Hello everyone.", "fra_Latn"),
]
LMT_PROMPT_DE_EN = ("<|im_start|>user\nTranslate the following text from German into English:\n"
                    "German: Guten Morgen.\nEnglish:<|im_end|>\n<|im_start|>assistant\n")


def prompted(decoder="qwen3", **config):
    return build_bridge("prompted", None, load_decoder(f"tiny-random:{decoder}"), config)


def lora(decoder="qwen3", **config):
    torch.manual_seed(0)
    return build_bridge("lora", None, load_decoder(f"tiny-random:{decoder}"), {"r": 4, **config})


def run_cli(capsys, *argv):
    code = cli_main.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---- prompted: the prompt -----------------------------------------------------------------------


def test_prompt_is_lmts_inside_the_chat_template():
    bridge = prompted()
    ids = bridge.prompt_ids("Guten Morgen.", "deu_Latn", "eng_Latn")
    assert bridge.decoder.tokenizer.decode(ids) == LMT_PROMPT_DE_EN
    assert ids == bridge.decoder.tokenizer(LMT_PROMPT_DE_EN, add_special_tokens=False)["input_ids"]
    # ISO aliases name the same languages.
    assert bridge.prompt_ids("Guten Morgen.", "de", "en") == ids


def test_custom_template_and_a_decoder_without_chat_template():
    bridge = prompted(template="{src_code} -> {tgt_code}: {text}")
    bridge.decoder.tokenizer.chat_template = None  # a base LLM: the plain text, then a line break
    ids = bridge.prompt_ids("Bonjour", "fr", "deu_Latn")
    assert bridge.decoder.tokenizer.decode(ids) == "fra_Latn -> deu_Latn: Bonjour\n"


@pytest.mark.parametrize("template, message", [
    ("Translate to {tgt_name}.", r"has no \{text\} placeholder .* accepted placeholders: \{text\}, \{src_name\}"),
    ("{source}: {text}", r"unknown placeholder\(s\) \{source\}"),
    ("{text", r"is not a valid format string"),
])
def test_bad_template_is_named_with_the_accepted_placeholders(template, message):
    with pytest.raises(BabelBridgeError, match=message):
        prompted(template=template)


def test_postprocess_first_line_or_whole_answer():
    answer = " \n  The dog sleeps.  \nGerman: Der Hund\n"
    assert prompted().postprocess(answer) == "The dog sleeps."
    assert prompted(postprocess="strip").postprocess(answer) == "The dog sleeps.  \nGerman: Der Hund"
    assert prompted().postprocess("\n \n") == ""
    with pytest.raises(BabelBridgeError, match="postprocess must be one of first_line, strip"):
        prompted(postprocess="last_line")


def test_over_long_source_is_refused_or_truncated():
    bridge = prompted(max_source_tokens=8)
    assert bridge.source_token_count("Guten Morgen.") == 13  # bytes: one token each here
    with pytest.raises(InputError, match=r"is 13 LLM tokens long; the limit is 8 \(max_source_tokens\)"):
        bridge.translate(["Guten Morgen."], "de", max_new_tokens=2)
    assert bridge.fit_source("Guten Morgen.", truncate=True) == "Guten Mo"
    assert bridge.translate(["Guten Morgen."], "de", max_new_tokens=2, truncate=True)[0] is not None


# ---- prompted: generation -------------------------------------------------------------------------


@pytest.mark.parametrize("decoder, num_beams", [("qwen3", 1), ("llama", 1), ("qwen3", 3)])
def test_batched_equals_one_by_one(decoder, num_beams):
    bridge = prompted(decoder)
    lengths = {len(bridge.prompt_ids(t, "deu_Latn", "eng_Latn")) for t in TEXTS}
    assert len(lengths) == len(TEXTS)  # prompts differ in length
    batched = bridge.generate_token_ids(TEXTS, "deu_Latn", "eng_Latn", max_new_tokens=12, num_beams=num_beams)
    alone = [bridge.generate_token_ids([t], "deu_Latn", "eng_Latn", max_new_tokens=12, num_beams=num_beams)[0]
             for t in TEXTS]
    assert batched == alone
    assert len({tuple(row) for row in batched}) == len(TEXTS)  # the source changes the answer


def test_translate_decodes_and_postprocesses_in_input_order():
    bridge = prompted()
    ids = [bridge.generate_token_ids([t], "deu_Latn", "eng_Latn", max_new_tokens=12)[0] for t in TEXTS]
    expected = [bridge.postprocess(bridge.decoder.tokenizer.decode(row, skip_special_tokens=True)) for row in ids]
    assert bridge.translate(list(reversed(TEXTS)), "de", "en", batch_size=2, max_new_tokens=12) == expected[::-1]


# ---- prompted: the checkpoint --------------------------------------------------------------------


def test_zero_shot_cli_writes_a_checkpoint_that_loads_and_translates(capsys, tmp_path):
    out = tmp_path / "zs"
    code, stdout, err = run_cli(capsys, "baseline", "zero-shot", "--decoder", "tiny-random:qwen3", "--out", out,
                                "--template", "From {src_name} to {tgt_name}:\n{text}", "--postprocess", "strip")
    assert code == 0, err
    assert stdout == (f"wrote a zero-shot baseline (method prompted, decoder tiny-random:qwen3) to {out}; "
                      f"use it with --bridge {out}\n")
    assert load_file(out / "bridge.safetensors") == {}
    meta = json.loads((out / "bridge.json").read_text())
    assert meta["method"] == "prompted" and list(meta["backbones"]) == ["decoder"]  # records no encoder
    assert meta["config"]["template"] == "From {src_name} to {tgt_name}:\n{text}"
    assert meta["parameters"] == {"trainable": 0, "decoder": meta["backbones"]["decoder"]["parameters"]}
    loaded = load_bridge(out)
    assert isinstance(loaded, PromptedBridge) and loaded.encoder is None
    fresh = prompted(template="From {src_name} to {tgt_name}:\n{text}", postprocess="strip")
    assert loaded.translate(TEXTS, "de", max_new_tokens=8) == fresh.translate(TEXTS, "de", max_new_tokens=8)


def test_zero_shot_checkpoint_works_with_translate_command(capsys, monkeypatch, tmp_path):
    path = save_prompted_baseline("tiny-random:qwen3", tmp_path / "zs")
    parser = cli_main.build_parser()
    if not any(isinstance(a, argparse._SubParsersAction) and "translate" in a.choices for a in parser._actions):
        def build_parser():  # until main.py wires translate in
            p = argparse.ArgumentParser(prog="babelbridge")
            translate_cmd.add_parser(p.add_subparsers(dest="command", required=True))
            return p

        monkeypatch.setattr(cli_main, "build_parser", build_parser)
    code, out, err = run_cli(capsys, "translate", "--bridge", path, "--src-lang", "de", "--max-new-tokens", "6",
                             "-q", *TEXTS)
    assert code == 0, err
    assert out.splitlines() == [one_line(t) for t in prompted().translate(TEXTS, "de", max_new_tokens=6)]


def test_zero_shot_cli_errors_are_one_line_and_write_nothing(capsys, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("keep me")
    code, _, err = run_cli(capsys, "baseline", "zero-shot", "--decoder", "tiny-random:qwen3",
                           "--out", tmp_path / "taken")
    assert code == 2
    assert err == (f"babelbridge baseline: error: --out {tmp_path / 'taken'} already exists and is not an empty "
                   f"directory; give a new directory\n")
    assert (tmp_path / "taken" / "notes.txt").read_text() == "keep me"
    code, _, err = run_cli(capsys, "baseline", "zero-shot", "--decoder", "tiny-random:qwen3",
                           "--out", tmp_path / "new", "--template", "Translate: {txt}")
    assert code == 2 and err.count("\n") == 1 and "unknown placeholder(s) {txt}" in err
    assert not (tmp_path / "new").exists()


def test_checkpoint_without_encoder_refuses_one_and_other_decoders(tmp_path):
    path = save_prompted_baseline(load_decoder("tiny-random:qwen3"), tmp_path / "zs")
    with pytest.raises(CheckpointError, match=r"\(prompted\) uses no encoder; do not pass one"):
        load_bridge(path, encoder=load_encoder("tiny-random:m2m100"))
    with pytest.raises(BackboneMismatchError,
                       match="trained on decoder tiny-random:qwen3 .* given is tiny-random:llama"):
        load_bridge(path, decoder="tiny-random:llama")


def test_encoder_is_required_or_refused_by_method():
    with pytest.raises(BabelBridgeError, match="method hca needs an encoder"):
        build_bridge("hca", None, load_decoder("tiny-random:qwen3"), {"bottleneck_dim": 8})
    with pytest.raises(BabelBridgeError, match="method prompted uses no encoder"):
        build_bridge("prompted", load_encoder("tiny-random:bert"), load_decoder("tiny-random:qwen3"))


# ---- LoRA ------------------------------------------------------------------------------------------


def test_lora_trainable_set_is_exactly_the_lora_matrices():
    bridge = build_bridge("lora", None, load_decoder("tiny-random:qwen3"))  # defaults: r 16, alpha 32
    cfg = bridge.config
    assert (cfg.r, cfg.alpha) == (16, 32)
    assert cfg.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    names = [n for n, _ in bridge.trainable_named_parameters()]
    assert len(names) == 2 * 7 * 2  # 2 layers x 7 projections x (A, B)
    assert all(n.endswith((".lora_A.default.weight", ".lora_B.default.weight")) for n in names)
    assert sorted(names) == sorted(n for n, p in bridge.named_parameters() if p.requires_grad)
    # r x (in + out) per projection: q 32->32, k/v 32->16, o 32->32, gate/up 32->64, down 64->32.
    per_layer = 16 * ((32 + 32) + 2 * (32 + 16) + (32 + 32) + 2 * (32 + 64) + (64 + 32))
    counts = bridge.parameter_counts()
    assert counts["trainable"] == 2 * per_layer
    assert counts["decoder"] == bridge.decoder.identity()["parameters"] - counts["trainable"]
    assert counts["decoder"] == load_decoder("tiny-random:qwen3").identity()["parameters"]


def test_lora_weights_stay_float32_on_a_bfloat16_llm():
    bridge = build_bridge("lora", None, load_decoder("tiny-random:qwen3", dtype="bfloat16"), {"r": 4})
    assert {p.dtype for _, p in bridge.trainable_named_parameters()} == {torch.float32}
    lora_names = {n for n, _ in bridge.trainable_named_parameters()}
    assert {p.dtype for n, p in bridge.named_parameters() if n not in lora_names} == {torch.bfloat16}
    bridge.loss(bridge.collate(PAIRS)).backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for _, p in bridge.trainable_named_parameters())


def test_lora_starts_as_the_prompted_llm():
    """LoRA's B starts at zero: before training, the same prompt gives the same tokens."""
    assert (lora().generate_token_ids(TEXTS, "de", "en", max_new_tokens=10)
            == prompted().generate_token_ids(TEXTS, "de", "en", max_new_tokens=10))


def test_loss_is_on_target_tokens_only():
    bridge = lora()
    batch = bridge.collate(PAIRS)
    for i, pair in enumerate(PAIRS):
        prompt = bridge.prompt_ids(pair.src, pair.src_lang, pair.tgt_lang)
        target = bridge.decoder.target_ids(pair.tgt)
        row = batch["labels"][i].tolist()
        assert row[: len(prompt)] == [-100] * len(prompt)
        assert row[len(prompt): len(prompt) + len(target)] == target
        assert set(row[len(prompt) + len(target):]) <= {-100}  # padding
        assert batch["input_ids"][i, : len(prompt)].tolist() == prompt
    assert target[-1] == bridge.decoder.eos_token_id  # the model learns to stop


def test_lora_step_changes_only_lora_weights_and_leaves_the_llm_bit_identical():
    bridge = lora(dropout=0.1)
    lora_names = {n for n, _ in bridge.trainable_named_parameters()}
    base_before = {n: p.detach().clone() for n, p in bridge.named_parameters() if n not in lora_names}
    lora_before = {n: p.detach().clone() for n, p in bridge.trainable_named_parameters()}
    optimizer = torch.optim.Adam([p for _, p in bridge.trainable_named_parameters()], lr=1e-2)
    bridge.train()
    batch = bridge.collate(PAIRS)
    losses = []
    for _ in range(3):  # B starts at zero: A moves from step 2
        loss = bridge.loss(batch)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    base_after = {n: p for n, p in bridge.named_parameters() if n not in lora_names}
    assert base_before.keys() == base_after.keys() and len(base_before) > 0
    assert all(torch.equal(base_before[n], base_after[n]) for n in base_before)
    assert [n for n, p in bridge.trainable_named_parameters() if torch.equal(p, lora_before[n])] == []
    assert losses[-1] < losses[0]


def test_lora_dropout_trains_while_the_llm_stays_in_eval():
    bridge = lora(dropout=0.5)
    dropouts = [m for n, m in bridge.decoder.named_modules() if n.endswith("lora_dropout.default")]
    assert len(dropouts) == 14
    bridge.train()
    assert all(d.training for d in dropouts)
    assert not bridge.decoder.training and not bridge.decoder.model.model.layers[0].self_attn.training
    bridge.eval()
    assert not any(d.training for d in dropouts)


def test_lora_round_trip_gives_identical_outputs(tmp_path):
    bridge = lora(dropout=0.3).eval()  # dropout on: outputs match only if eval mode switches it off
    with torch.no_grad():  # move every LoRA weight away from its init so the load really matters
        for _, p in bridge.trainable_named_parameters():
            p.add_(torch.randn_like(p) * 0.5)
    expected = bridge.generate_token_ids(TEXTS, "de", "en", max_new_tokens=10, num_beams=2)
    assert expected != prompted().generate_token_ids(TEXTS, "de", "en", max_new_tokens=10, num_beams=2)
    save_bridge(bridge, tmp_path / "ckpt")
    tensors = load_file(tmp_path / "ckpt" / "bridge.safetensors")
    assert set(tensors) == {n for n, _ in bridge.trainable_named_parameters()}  # no base weight
    meta = json.loads((tmp_path / "ckpt" / "bridge.json").read_text())
    assert list(meta["backbones"]) == ["decoder"]
    assert meta["backbones"]["decoder"]["parameters"] == load_decoder("tiny-random:qwen3").identity()["parameters"]
    loaded = load_bridge(tmp_path / "ckpt")
    assert isinstance(loaded, LoRABridge) and loaded.config == bridge.config
    assert loaded.generate_token_ids(TEXTS, "de", "en", max_new_tokens=10, num_beams=2) == expected


def test_lora_owns_its_decoder_and_names_bad_targets():
    decoder = load_decoder("tiny-random:qwen3")
    build_bridge("lora", None, decoder, {"r": 2})
    with pytest.raises(BabelBridgeError, match="already carries LoRA layers"):
        build_bridge("lora", None, decoder, {"r": 2})
    fresh = load_decoder("tiny-random:qwen3")
    with pytest.raises(BabelBridgeError, match=r"^LoRA target_modules \['vproj'\] match no module of tiny-random:qwen3; "
                                               r"its Linear modules are: down_proj, gate_proj, k_proj, lm_head, "
                                               r"o_proj, q_proj, up_proj, v_proj$"):
        build_bridge("lora", None, fresh, {"target_modules": ["q_proj", "vproj"]})  # q_proj alone would pass peft
    with pytest.raises(BabelBridgeError, match=r"do not fit tiny-random:qwen3 \(.*\); its Linear modules are: "):
        build_bridge("lora", None, fresh, {"target_modules": ["model.layers.0.input_layernorm"]})  # not a Linear
    build_bridge("lora", None, fresh, {"r": 2})  # the refused targets left the decoder untouched
    with pytest.raises(BabelBridgeError, match="r \\(the LoRA rank\\) must be a positive integer, got 0"):
        build_bridge("lora", None, decoder, {"r": 0})


# ---- run configs, training, inspect ---------------------------------------------------------------


def test_smoke_lora_config_trains_through_the_cli_and_loss_goes_down(capsys, tmp_path):
    code, out, err = run_cli(capsys, "train", ROOT / "configs" / "lora-smoke-tiny.yaml",
                             "--set", f"train.output_dir={tmp_path / 'run'}", "--set", "train.epochs=4")
    assert code == 0, err
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    assert len(losses) == 20 and losses[-1] < 0.6 * losses[0]
    assert "trained 20 steps" in out
    loaded = load_bridge(tmp_path / "run" / "bridge")
    assert isinstance(loaded, LoRABridge) and loaded.config.r == 8
    assert set(load_file(tmp_path / "run" / "bridge" / "bridge.safetensors")) == {
        n for n, _ in loaded.trainable_named_parameters()}


def test_inspect_lora_config_equals_inspect_of_its_checkpoint(capsys, tmp_path):
    config = ROOT / "configs" / "lora-smoke-tiny.yaml"
    code, from_config, err = run_cli(capsys, "inspect", config)
    assert code == 0, err
    run = load_run_config(config)
    torch.manual_seed(0)
    save_bridge(build_bridge("lora", None, load_decoder(run.decoder), run.bridge), tmp_path / "ckpt")
    code, from_checkpoint, err = run_cli(capsys, "inspect", tmp_path / "ckpt")
    assert code == 0, err
    a, b = from_config.splitlines(), from_checkpoint.splitlines()
    assert a[:4] == b[:4] and a[-1] == b[-1] and sorted(a[4:-1]) == sorted(b[4:-1])
    assert a[1] == "encoder    none (the LLM reads the source in its prompt)"
    assert a[3].startswith("trainable  8,192  ")
    assert a[-1].startswith("config     template='Translate the following text from {src_name} into "
                            "{tgt_name}:\\n{src_name}: {text}\\n{tgt_name}:', postprocess=first_line, ")


def write(tmp_path, text):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_hca_config_without_encoder_is_a_clear_error(capsys, tmp_path):
    path = write(tmp_path, "method: hca\ndecoder: tiny-random:qwen3\n")
    code, out, err = run_cli(capsys, "inspect", path)
    assert code == 2 and out == ""
    assert err == (f"babelbridge inspect: error: {path}: method hca needs an encoder: add `encoder: SPEC` "
                   f"(a multilingual encoder, e.g. facebook/nllb-200-distilled-600M or tiny-random:m2m100)\n")


def test_lora_config_with_an_encoder_is_a_clear_error(tmp_path):
    path = write(tmp_path, "method: lora\nencoder: tiny-random:m2m100\ndecoder: tiny-random:qwen3\n")
    with pytest.raises(BabelBridgeError, match=r"method lora uses no encoder .* remove the encoder and "
                                               r"encoder_options keys"):
        load_run_config(path)
    assert load_run_config(path, ["encoder=null"]).encoder is None


def test_training_the_prompted_baseline_is_refused_before_loading(capsys, tmp_path):
    path = write(tmp_path, "method: prompted\ndecoder: tiny-random:qwen3\ndata: {train: []}\n")
    code, _, err = run_cli(capsys, "train", path)
    assert code == 2
    assert err.startswith("babelbridge train: error: method prompted has no trainable parameters: nothing to train")


# ---- the training loss: the LM head only where answers are scored ------------------------------


def _labels_loss(bridge, batch):
    """transformers' own loss from labels= (the head on every position): the reference."""
    return bridge.decoder.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                labels=batch["labels"], use_cache=False).loss


def _loss_and_grads(bridge, loss_fn, batch):
    bridge.zero_grad(set_to_none=True)
    loss = loss_fn(batch)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in bridge.trainable_named_parameters() if p.grad is not None}


@pytest.mark.parametrize("method", ["lora", "hca"])
def test_answer_loss_is_the_labels_loss_with_the_head_on_answers_only(method):
    if method == "lora":
        bridge = lora()
        reference = lambda batch: _labels_loss(bridge, batch)  # noqa: E731
    else:
        torch.manual_seed(0)
        bridge = build_bridge("hca", load_encoder("tiny-random:m2m100"), load_decoder("tiny-random:qwen3"),
                              {"bottleneck_dim": 8})

        def reference(batch):
            with bridge.attached(bridge.encode_source(batch["source_ids"], batch["source_mask"])):
                return _labels_loss(bridge, batch)
    bridge.eval()  # no dropout: both passes see the same network
    batch = bridge.collate(PAIRS)
    first = int((batch["labels"] != -100).any(dim=0).nonzero()[0])
    assert first > 1 and (batch["labels"] == -100).any(dim=1).all()  # prompts and pads are skipped
    # A first step so that every trainable weight (LoRA's B, HCA's gates) has moved off its
    # zero start and the gradients below are not trivially zero.
    optimizer = torch.optim.SGD([p for _, p in bridge.trainable_named_parameters()], lr=0.5)
    bridge.loss(batch).backward()
    optimizer.step()

    ours, ours_grads = _loss_and_grads(bridge, bridge.loss, batch)
    ref, ref_grads = _loss_and_grads(bridge, reference, batch)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-6)
    assert ours_grads.keys() == ref_grads.keys() and len(ours_grads) > 0
    for name, grad in ours_grads.items():
        torch.testing.assert_close(grad, ref_grads[name], rtol=1e-4, atol=1e-6, msg=name)
    assert any(g.abs().max() > 0 for g in ours_grads.values())
