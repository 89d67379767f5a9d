"""XBridge and its NMT backbone on tiny random models: each stage trains exactly its parameters,
the LLM input and the decoder memory sit where the method puts them, the target language token
comes first, one LLM pass decodes into several languages, batched == one-by-one, resumable runs,
checkpoints that know their backbones."""

import pytest
import torch

from babelbridge.backbones import BackboneSpec, FrozenNMT, load_decoder, load_encoder, load_nmt
from babelbridge.bridges import TranslationPair, build_bridge, load_backbones, load_bridge, save_bridge
from babelbridge.bridges.xbridge.ot import relaxed_ot
from babelbridge.errors import BabelBridgeError, BackboneMismatchError, CheckpointError, InputError
from babelbridge.train import TrainConfig, Trainer

PAIRS = [
    TranslationPair("Guten Morgen.", "Good morning.", "deu_Latn"),
    TranslationPair("Der Hund schläft unter dem Tisch.", "The dog sleeps under the table.", "deu_Latn"),
    TranslationPair("Bonjour à tous.", "Hola a todos.", "fra_Latn", "spa_Latn", pivot="Hello everyone."),
    TranslationPair("Wie spät ist es?", "What time is it?", "deu_Latn"),
]
SOURCES = ["Guten Morgen, wie geht es dir heute?", "Hallo", "Der Hund schläft unter dem Tisch, weil es regnet."]
GROUPS = {"encoder_mapping": ("encoder_mapping.",), "decoder_mapping": ("decoder_mapping.",),
          "cross_attention": (".encoder_attn.",)}


def make(stage=1, decoder="qwen3", lively=True, **config):
    """A tiny XBridge; lively: the mappings scaled up so that different sources give different
    outputs (random tiny models otherwise repeat one token whatever they read)."""
    encoder, llm = load_backbones("xbridge", config, "tiny-random:m2m100", f"tiny-random:{decoder}")
    torch.manual_seed(0)
    bridge = build_bridge("xbridge", encoder, llm, {"stage": stage, **config})
    if lively:
        with torch.no_grad():
            bridge.encoder_mapping.mapping[-1].down.weight.mul_(4)
            if bridge.decoder_mapping is not None:
                bridge.decoder_mapping[-1].down.weight.mul_(3)
                for name, p in bridge.encoder.cross_attention_parameters():
                    if "out_proj.weight" in name:
                        p.mul_(10)
    return bridge.eval()


def group_of(name: str) -> str | None:
    return next((g for g, marks in GROUPS.items() if any(m in name for m in marks)), None)


# ---- the NMT backbone ------------------------------------------------------------------------------
def test_nmt_backbone_shares_the_encoder_and_forces_the_target_language_first(monkeypatch):
    nmt, alone = load_nmt("tiny-random:m2m100"), load_encoder("tiny-random:m2m100")
    source = nmt.tokenize(SOURCES, ["deu_Latn"] * 3)
    assert torch.equal(nmt(**source), alone(**source))  # the same encoder as load_encoder's
    assert nmt.identity()["fingerprint"] == alone.identity()["fingerprint"]
    assert nmt.identity()["parameters"] > alone.identity()["parameters"]
    assert nmt.seq2seq.lm_head.weight.data_ptr() == nmt.seq2seq.model.shared.weight.data_ptr()
    raw = []
    generate = nmt.seq2seq.generate
    monkeypatch.setattr(nmt.seq2seq, "generate", lambda **kw: raw.append(generate(**kw)) or raw[-1])
    rows = nmt.translate_ids(source["input_ids"], source["attention_mask"], "fra_Latn", max_new_tokens=5)
    fra = nmt.tokenizer.convert_tokens_to_ids("fra_Latn")
    assert raw[0][:, 0].tolist() == [nmt.decoder_start_token_id] * 3 and raw[0][:, 1].tolist() == [fra] * 3
    assert all(len(r) <= 5 and fra not in r for r in rows)
    labels = nmt.target_batch(["Bonjour"], ["fra_Latn"], 64)[0].tolist()
    assert labels == [fra] + nmt.tokenizer("Bonjour", add_special_tokens=False)["input_ids"] + [nmt.eos_token_id]


def test_nmt_loader_names_what_it_accepts():
    with pytest.raises(ValueError, match="unknown tiny-random NMT model 'bert'; accepted: m2m100"):
        load_nmt("tiny-random:bert")
    with pytest.raises(ValueError, match="pocket backbones cannot be NMT models"):
        load_nmt("pocket:e5-small")
    meta = load_nmt("random:facebook/nllb-200-1.3B", device="meta")  # the paper's NMT model, counted
    assert meta.identity()["parameters"] == pytest.approx(1.37e9, rel=0.02)
    assert len(meta.cross_attention_parameters()) == 24 * 8


# ---- what trains in each stage ---------------------------------------------------------------------
def train_config(tmp_path, name, **overrides):
    values = dict(output_dir=str(tmp_path / name), lr=1e-2, global_batch_size=4, micro_batch_size=2,
                  max_steps=1, save_every=1, keep_last=2, schedule="constant", warmup_steps=0, optimizer="adamw")
    return TrainConfig(**{**values, **overrides})


@pytest.mark.parametrize("stage,trained", [(1, {"encoder_mapping", "decoder_mapping", "cross_attention"}),
                                           (2, {"encoder_mapping"}), (3, {"decoder_mapping", "cross_attention"})])
def test_a_training_step_changes_exactly_its_stages_parameters(tmp_path, stage, trained):
    bridge = make(stage)
    before = {n: p.detach().clone() for n, p in bridge.named_parameters()}
    Trainer(bridge, PAIRS, train_config(tmp_path, f"s{stage}")).train()
    changed = {n for n, p in bridge.named_parameters() if not torch.equal(p, before[n])}
    assert {group_of(n) for n in changed} == trained
    for n, p in bridge.named_parameters():  # every weight of a trained group moved; nothing else did
        assert (n in changed) == (group_of(n) in trained), n
    assert {group_of(n) for n, _ in bridge.trainable_named_parameters()} == set(GROUPS)  # all saved


def test_stage_losses_are_config_and_ablations_drop_their_terms():
    batch = make(1).collate(PAIRS)
    assert set(make(1).loss_terms(batch)) == {"llm", "decoder", "ot"}
    assert set(make(2).loss_terms(batch)) == {"llm"}
    assert set(make(3).loss_terms(batch)) == {"decoder", "ot"}
    assert set(make(1, ot_weight=0.0).loss_terms(batch)) == {"llm", "decoder"}
    bridge = make(1)
    terms = bridge.loss_terms(batch)
    assert bridge.loss(batch).item() == pytest.approx(
        (terms["llm"] + 0.2 * terms["decoder"] + terms["ot"]).item(), rel=1e-6)


def test_without_the_decoder_only_the_encoder_side_exists():
    bridge = build_bridge("xbridge", load_encoder("tiny-random:bert"), load_decoder("tiny-random:qwen3"),
                          {"decoder_side": False})  # any encoder will do
    assert bridge.decoder_mapping is None
    assert {group_of(n) for n, _ in bridge.trainable_named_parameters()} == {"encoder_mapping"}
    assert set(bridge.loss_terms(bridge.collate(PAIRS))) == {"llm"}
    with pytest.raises(InputError, match="no decoder side .* English only, not fra_Latn"):
        bridge.translate(["Hallo"], "deu_Latn", "fra_Latn")
    with pytest.raises(BabelBridgeError, match="decoder side needs a translation model with both halves"):
        build_bridge("xbridge", load_encoder("tiny-random:m2m100"), load_decoder("tiny-random:qwen3"), {})


# ---- where things sit ----------------------------------------------------------------------------
def test_llm_input_is_prompt_start_mapped_source_boundary_prompt_rest_answer():
    bridge = make(2)
    with torch.no_grad():
        bridge.encoder_mapping.end_boundary.normal_()
    source = bridge.encoder.tokenize(SOURCES[:2], ["deu_Latn"] * 2)
    mapped = bridge.map_source(source["input_ids"], source["attention_mask"])
    answer = bridge.decoder.target_ids("Hello")
    embeds, mask, labels = bridge.llm_inputs(mapped, source["attention_mask"], [answer, answer], left=False)
    before, after = bridge.prompt_parts()
    embed = bridge.decoder.embed
    for i in range(2):
        n = int(source["attention_mask"][i].sum())
        row = embeds[i, : int(mask[i].sum())]
        assert torch.equal(row[: len(before)], embed(torch.tensor(before)))
        assert torch.equal(row[len(before) : len(before) + n], mapped[i, :n])  # its own states, no padding
        assert torch.equal(row[len(before) + n], bridge.encoder_mapping.end_boundary)
        assert torch.equal(row[len(before) + n + 1 :], embed(torch.tensor(after + answer)))
        assert labels[i, : int(mask[i].sum())].tolist() == [-100] * (len(row) - len(answer)) + answer
    assert mask[1].sum() < mask[0].sum() and mask[1, -1] == 0  # right padding for training


def test_memory_is_the_penultimate_state_before_each_answer_token():
    bridge = make(1)
    batch = bridge.collate(PAIRS[:2])
    answers = [row[row != -100].tolist() for row in batch["answer_ids"]]
    embeds, mask, labels = bridge.llm_inputs(bridge.map_source(batch["source_ids"], batch["source_mask"]),
                                             batch["source_mask"], answers, left=False)
    states = bridge.decoder.model(inputs_embeds=embeds, attention_mask=mask, output_hidden_states=True).hidden_states[-2]
    memory, memory_mask = bridge.memory(states, labels)
    for i, answer in enumerate(answers):
        last = int(mask[i].sum())  # the answer fills the row's last len(answer) positions
        expected = bridge.decoder_mapping(states[i, last - len(answer) - 1 : last - 1])
        assert torch.allclose(memory[i, : len(answer)], expected, atol=1e-6)
        assert memory_mask[i].tolist() == [1] * len(answer) + [0] * (memory.shape[1] - len(answer))


def test_ot_term_aligns_the_nmt_encoding_of_the_english_with_the_memory():
    bridge = make(3)
    batch = bridge.collate(PAIRS)
    assert bridge.encoder.tokenize(["Hello everyone."], ["eng_Latn"])["input_ids"][0].tolist() == \
        batch["english_ids"][2, : int(batch["english_mask"][2].sum())].tolist()  # the pivot, not the target
    answers = [row[row != -100].tolist() for row in batch["answer_ids"]]
    embeds, mask, labels = bridge.llm_inputs(bridge.map_source(batch["source_ids"], batch["source_mask"]),
                                             batch["source_mask"], answers, left=False)
    states = bridge.decoder.hidden_states_at(-2, mask, inputs_embeds=embeds)
    memory, memory_mask = bridge.memory(states, labels)
    english = bridge.encoder(batch["english_ids"], batch["english_mask"])
    expected = relaxed_ot(english, batch["english_mask"], memory, memory_mask)
    assert bridge.loss_terms(batch)["ot"].item() == pytest.approx(expected.item(), rel=1e-6)


def test_pair_sides_pivot_into_english_out_of_english():
    bridge = make(1)
    assert bridge.sides(PAIRS[0]) == ("Good morning.", ("Guten Morgen.", "deu_Latn"))  # x -> en -> x
    assert bridge.sides(PAIRS[2]) == ("Hello everyone.", ("Hola a todos.", "spa_Latn"))
    assert bridge.sides(TranslationPair("Hi", "Hallo", "eng_Latn", "deu_Latn")) == ("Hi", ("Hallo", "deu_Latn"))
    with pytest.raises(InputError, match="pivot is the LLM's English; this triple's pivot is deu_Latn"):
        bridge.sides(TranslationPair("Hola", "Salut", "spa_Latn", "fra_Latn", pivot="Hallo", pivot_lang="deu_Latn"))
    with pytest.raises(InputError, match="deu_Latn -> fra_Latn pair without its English"):
        bridge.sides(TranslationPair("Hallo", "Salut", "deu_Latn", "fra_Latn"))


# ---- generation ----------------------------------------------------------------------------------
def test_the_decoders_first_token_is_the_target_language(monkeypatch):
    bridge = make(1)
    raw = []
    generate = bridge.encoder.seq2seq.generate
    monkeypatch.setattr(bridge.encoder.seq2seq, "generate", lambda **kw: raw.append(generate(**kw)) or raw[-1])
    bridge.translate(SOURCES, "deu_Latn", "spa_Latn", max_new_tokens=6)
    spa = bridge.encoder.tokenizer.convert_tokens_to_ids("spa_Latn")
    assert raw[0][:, 1].tolist() == [spa] * 3


def test_one_llm_pass_into_two_languages_equals_two_calls(monkeypatch):
    bridge = make(1)
    single = {lang: bridge.translate(SOURCES, "deu_Latn", lang, max_new_tokens=6)
              for lang in ("fra_Latn", "spa_Latn", "eng_Latn")}
    calls = []
    generate = bridge.decoder.model.generate
    monkeypatch.setattr(bridge.decoder.model, "generate", lambda **kw: calls.append(1) or generate(**kw))
    both = bridge.translate_multi(SOURCES, "de", ["fr", "spa_Latn", "en"], max_new_tokens=6)
    assert both == single and len(calls) == 1  # one batch, one LLM generation for three languages
    with pytest.raises(InputError, match="PMP needs a bridge that reads the source in its prompt: .*this is a xbridge"):
        bridge.translate_multi(SOURCES, "de", ["fr"], aux_lang="ita_Latn")
    assert len(set(both["fra_Latn"])) > 1 and len(set(both["eng_Latn"])) > 1  # the sources make a difference


@pytest.mark.parametrize("decoder", ["qwen3", "llama"])
def test_batched_generation_equals_one_by_one(decoder):
    bridge = make(1, decoder=decoder)
    for beams in (1, 2):
        for lang in ("eng_Latn", "fra_Latn"):
            batched = bridge.translate(SOURCES, "deu_Latn", lang, max_new_tokens=6, num_beams=beams, batch_size=3)
            single = [bridge.translate([s], "deu_Latn", lang, max_new_tokens=6, num_beams=beams)[0] for s in SOURCES]
            assert batched == single, (beams, lang)


def test_encoder_padding_never_changes_the_mapped_source():
    bridge = make(1)
    alone = bridge.encoder.tokenize(["Hallo"], ["deu_Latn"])
    padded = bridge.encoder.tokenize(["Hallo", SOURCES[2]], ["deu_Latn"] * 2)
    n = int(alone["attention_mask"].sum())
    a = bridge.map_source(alone["input_ids"], alone["attention_mask"])[0, :n]
    b = bridge.map_source(padded["input_ids"], padded["attention_mask"])[0, :n]
    assert torch.allclose(a, b, atol=1e-6)


# ---- runs and checkpoints --------------------------------------------------------------------------
TRAIN = [TranslationPair(f"Satz {i}: " + "ab" * (i % 5), f"Sentence {i % 7}", "deu_Latn") for i in range(24)]


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_killed_run_resumes_to_bit_identical_weights(tmp_path, monkeypatch, stage):
    run = dict(max_steps=4, save_every=2)
    straight = make(stage, lively=False)
    Trainer(straight, TRAIN, train_config(tmp_path, "straight", **run)).train()
    killed = make(stage, lively=False)
    calls = {"n": 0}
    original = type(killed).loss

    def dying_loss(self, batch):
        calls["n"] += 1
        if calls["n"] == 2 * 2 + 2:  # inside step 3: the step-2 checkpoint is the last
            raise KeyboardInterrupt("killed")
        return original(self, batch)

    monkeypatch.setattr(type(killed), "loss", dying_loss)
    with pytest.raises(KeyboardInterrupt):
        Trainer(killed, TRAIN, train_config(tmp_path, "killed", **run)).train()
    monkeypatch.undo()
    resumed = make(stage, lively=False)
    Trainer(resumed, TRAIN, train_config(tmp_path, "killed", **run)).train()
    for (n, a), (_, b) in zip(straight.trainable_named_parameters(), resumed.trainable_named_parameters()):
        assert torch.equal(a, b), n


def other_nmt() -> FrozenNMT:
    """An NMT model of another architecture than tiny-random:m2m100 (3 decoder layers)."""
    from transformers import M2M100ForConditionalGeneration

    model, tokenizer = load_nmt("tiny-random:m2m100").seq2seq, load_nmt("tiny-random:m2m100").tokenizer
    config = model.config.__class__(**{**model.config.to_dict(), "decoder_layers": 3})
    torch.manual_seed(0)
    return FrozenNMT(M2M100ForConditionalGeneration(config).eval(), tokenizer, BackboneSpec.parse("org/other-nllb"))


def test_checkpoint_holds_what_xbridge_trained_and_knows_its_backbones(tmp_path):
    bridge = make(1)
    expected = {lang: bridge.translate(SOURCES, "deu_Latn", lang, max_new_tokens=6) for lang in ("eng_Latn", "fra_Latn")}
    save_bridge(bridge, tmp_path / "x")
    from safetensors.torch import load_file

    saved = load_file(tmp_path / "x" / "bridge.safetensors")
    assert {group_of(n) for n in saved} == set(GROUPS) and None not in {group_of(n) for n in saved}
    loaded = load_bridge(tmp_path / "x")
    assert isinstance(loaded.encoder, FrozenNMT)
    assert {lang: loaded.translate(SOURCES, "deu_Latn", lang, max_new_tokens=6) for lang in expected} == expected
    with pytest.raises(BackboneMismatchError, match="encoder tiny-random:m2m100 .* the encoder given is org/other-nllb"):
        load_bridge(tmp_path / "x", encoder=other_nmt())
    with pytest.raises(BackboneMismatchError, match="decoder tiny-random:qwen3 .* the decoder given is tiny-random:llama"):
        load_bridge(tmp_path / "x", decoder="tiny-random:llama")
    assert load_bridge(tmp_path / "x").config.stage == 1
    with pytest.raises(CheckpointError):
        load_bridge(tmp_path / "missing")


@pytest.mark.parametrize("widths,enc_mid,dec_mid", [("paper", 32, 32), ("public", 4 * 24, 2 * 32)])
def test_mapping_widths_paper_and_public(widths, enc_mid, dec_mid):
    bridge = make(1, mapping_widths=widths)
    assert bridge.encoder_mapping.mapping[0].up.weight.shape == (enc_mid, 24)
    assert bridge.encoder_mapping.mapping[0].down.weight.shape == (32, enc_mid)
    assert [tuple(b.up.weight.shape) for b in bridge.decoder_mapping] == [(dec_mid, 32), (dec_mid, dec_mid)]
    assert bridge.decoder_mapping[-1].down.weight.shape == (24, dec_mid)


def test_config_errors_say_what_is_accepted():
    with pytest.raises(BabelBridgeError, match="stage must be 1 .*, 2 .* or 3 .*got 4"):
        make(4)
    with pytest.raises(BabelBridgeError, match="stage 3 trains the decoder side; with decoder_side: false"):
        build_bridge("xbridge", load_encoder("tiny-random:bert"), load_decoder("tiny-random:qwen3"),
                     {"stage": 3, "decoder_side": False})
    with pytest.raises(BabelBridgeError, match="ot_form must be one of relaxed, sinkhorn"):
        make(1, ot_form="exact")
    with pytest.raises(BabelBridgeError, match="llm_hidden_layer .* must be negative"):
        make(1, llm_hidden_layer=3)


# ---- the NMT baseline, the CLI, inspect at the paper's sizes ---------------------------------------
def test_nmt_baseline_checkpoint_translates_like_the_nmt_model(tmp_path, capsys):
    from babelbridge.cli.main import main

    assert main(["baseline", "nmt", "--encoder", "tiny-random:m2m100", "--out", str(tmp_path / "nmt")]) == 0
    assert "method nmt" in capsys.readouterr().out
    bridge = load_bridge(tmp_path / "nmt")
    assert bridge.method == "nmt" and bridge.decoder is None and set(bridge.backbone_identities()) == {"encoder"}
    source = bridge.encoder.tokenize(SOURCES, ["deu_Latn"] * 3)
    rows = bridge.encoder.translate_ids(source["input_ids"], source["attention_mask"], "fra_Latn", max_new_tokens=5)
    assert bridge.translate(SOURCES, "de", "fr", max_new_tokens=5) == bridge.encoder.decode_text(rows)
    with pytest.raises(CheckpointError, match="uses no LLM; do not pass a decoder"):
        load_bridge(tmp_path / "nmt", decoder="tiny-random:qwen3")
    assert main(["baseline", "nmt", "--encoder", "tiny-random:m2m100", "--out", str(tmp_path / "nmt")]) == 2
    assert "already exists and is not an empty directory" in capsys.readouterr().err


def test_translate_command_writes_one_column_per_target_language(tmp_path, capsys):
    from babelbridge.cli.main import main

    bridge = make(1)
    save_bridge(bridge, tmp_path / "x")
    expected = bridge.translate_multi(SOURCES[:2], "deu_Latn", ["fra_Latn", "eng_Latn"], max_new_tokens=6)
    source = tmp_path / "in.tsv"
    source.write_text("".join(f"{s}\tid{i}\n" for i, s in enumerate(SOURCES[:2])))
    common = ["translate", "--bridge", str(tmp_path / "x"), "--src-lang", "de", "--tgt-lang", "fr,en,fra_Latn",
              "--max-new-tokens", "6", "-q"]
    assert main(common + ["--input", str(source), "--output", str(tmp_path / "out.tsv")]) == 0
    rows = [line.split("\t") for line in (tmp_path / "out.tsv").read_text().splitlines()]
    from babelbridge.textio import one_line

    cell = lambda lang, i: one_line(expected[lang][i], tsv=True)  # noqa: E731 (tabs in a cell become spaces)
    assert rows == [[s, f"id{i}", cell("fra_Latn", i), cell("eng_Latn", i)] for i, s in enumerate(SOURCES[:2])]
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join('{"src": "%s"}\n' % s for s in SOURCES[:2]))
    assert main(common + ["--input", str(jsonl), "--output", str(tmp_path / "out.jsonl")]) == 0
    import json

    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [line["translations"] for line in lines] == [
        {"fra_Latn": expected["fra_Latn"][i], "eng_Latn": expected["eng_Latn"][i]} for i in range(2)]
    capsys.readouterr()
    assert main(common[:-1] + ["--tgt-lang", "fr,xx_Yyyy"] + SOURCES[:1]) == 2
    assert "--tgt-lang" in capsys.readouterr().err


def test_inspect_counts_xbridge_at_the_papers_sizes(tmp_path, capsys):
    from babelbridge.cli.main import main

    config = tmp_path / "paper.yaml"
    config.write_text("method: xbridge\nencoder: facebook/nllb-200-1.3B\ndecoder: Qwen/Qwen2.5-7B-Instruct\n"
                      "bridge: {stage: 1}\ndata: {train: [{format: tsv, path: x.tsv, src_lang: deu_Latn}]}\n")
    assert main(["inspect", str(config)]) == 0
    out = capsys.readouterr().out
    # mappings 3.6M + 12.8M (+ boundary) and 25.7M + 16.5M; cross-attention 24 layers x 4 x (1024^2 + 1024)
    assert "trainable  159,512,576" in out and "1,269,876,736 frozen" in out
    assert "encoder.seq2seq.model.decoder.layers.*.encoder_attn.q_proj        25,190,400" in out


def test_bf16_backbones_translate_with_fp32_mappings():
    encoder, llm = load_backbones("xbridge", {}, "tiny-random:m2m100", "tiny-random:qwen3", dtype="bfloat16")
    bridge = build_bridge("xbridge", encoder, llm, {})
    assert bridge.encoder_mapping.end_boundary.dtype == torch.float32
    out = bridge.translate_multi(SOURCES, "deu_Latn", ["eng_Latn", "fra_Latn"], max_new_tokens=4)
    assert [len(v) for v in out.values()] == [3, 3]
    assert bridge.loss(bridge.collate(PAIRS)).dtype == torch.float32


def test_paper_configs_chain_the_three_stages():
    from pathlib import Path

    from babelbridge.runconfig import load_run_config
    from babelbridge.train.pipeline import plan_training

    root = Path(__file__).resolve().parents[1] / "configs"
    plans = [plan_training(load_run_config(root / f"xbridge-paper-stage{i}.yaml")) for i in (1, 2, 3)]
    assert [p.run.bridge["stage"] for p in plans] == [1, 2, 3]
    assert [p.train.init_from for p in plans] == [None, "runs/xbridge-paper-stage1/bridge",
                                                  "runs/xbridge-paper-stage2/bridge"]
    assert plans[0].train_specs[0].pivot_lang == "eng_Latn"  # stage 1 reads x-en-y triples
    assert {(p.run.encoder, p.run.decoder, p.train.global_batch_size) for p in plans} == {
        ("facebook/nllb-200-1.3B", "Qwen/Qwen2.5-7B-Instruct", 128)}
