"""What the tests of the LoRA-expert bridges (test_crosslora, test_molora: bridges/lora_experts)
share: the texts and pairs, small helpers, and the checks every router must pass (a mixed batch is
its rows alone, batched generation is one-by-one, gradient checkpointing replays the routing, a
checkpoint and a smoke run give back what they were given)."""

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from babelbridge.bridges import TranslationPair, load_bridge, save_bridge
from babelbridge.cli import main as cli_main
from babelbridge.runconfig import load_run_config
from babelbridge.train import Trainer
from babelbridge.train.pipeline import build_for_training, load_pairs, plan_training

ROOT = Path(__file__).resolve().parents[1]
LANGS = ["eng_Latn", "deu_Latn", "rus_Cyrl"]
# Prompts of different lengths (left padding does work) in three directions.
TEXTS = ["Hallo", "Good morning, how are you today?", "Der Hund schläft unter dem Tisch, weil es regnet."]
SRCS, TGTS = ["deu_Latn", "eng_Latn", "deu_Latn"], ["eng_Latn", "rus_Cyrl", "rus_Cyrl"]
PAIRS = [
    TranslationPair("Guten Morgen.", "Good morning.", "deu_Latn", "eng_Latn"),
    TranslationPair("Good morning, everyone.", "Доброе утро всем.", "eng_Latn", "rus_Cyrl"),
    TranslationPair("Der Hund schläft unter dem Tisch.", "Собака спит под столом.", "deu_Latn", "rus_Cyrl"),
    TranslationPair("The cat sleeps.", "Die Katze schläft.", "eng_Latn", "deu_Latn"),
]
MNT = 8  # max_new_tokens: the tiny random decoder rarely stops by itself


def randomize(bridge, scale=0.5):
    """Every expert (and router) off its start (B = 0 would hide A and the router): each now matters."""
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for _, p in bridge.trainable_named_parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * scale)
    return bridge


def experts_with_gradient(param) -> list[int]:
    return [i for i, g in enumerate(param.grad.flatten(1).abs().sum(1).tolist()) if g > 0]


def row_losses(bridge, pairs) -> torch.Tensor:
    """Each row's mean answer loss, from one batch of all the pairs."""
    logits, labels = bridge.answer_logits(bridge.collate(pairs))
    nll = F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=-100, reduction="none")
    return nll.sum(1) / (labels != -100).sum(1)


def run_cli(capsys, *argv):
    code = cli_main.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def reversed_pairs(pairs):
    return [TranslationPair(p.src, p.tgt, p.tgt_lang, p.src_lang) for p in pairs]


def assert_a_mixed_batch_equals_its_rows(bridge, pairs=PAIRS) -> torch.Tensor:
    """The batch's per-row losses (returned) are those of its rows run one by one."""
    with torch.no_grad():
        batched = row_losses(bridge, pairs)
        alone = torch.stack([bridge.loss(bridge.collate([pair])) for pair in pairs])
    torch.testing.assert_close(batched, alone, rtol=1e-5, atol=1e-5)
    return batched


def assert_batched_generation_equals_one_by_one(bridge, num_beams: int) -> list[list[int]]:
    """TEXTS in their mixed directions, in one batch and one by one: the same ids (returned)."""
    batched = bridge.generate_token_ids(TEXTS, SRCS, TGTS, max_new_tokens=MNT, num_beams=num_beams)
    alone = [bridge.generate_token_ids([t], s, g, max_new_tokens=MNT, num_beams=num_beams)[0]
             for t, s, g in zip(TEXTS, SRCS, TGTS)]
    assert batched == alone
    return alone


def assert_gradient_checkpointing_replays_the_routing(bridge, compute_loss) -> None:
    """compute_loss(bridge) -> loss; its loss and gradients are the same with checkpointing (backward
    reruns the layers after the call returned)."""
    def loss_and_grads():
        bridge.zero_grad(set_to_none=True)
        torch.manual_seed(1)
        loss = compute_loss(bridge)
        loss.backward()
        return loss.detach(), {n: p.grad.clone() for n, p in bridge.trainable_named_parameters()}

    stored_loss, stored = loss_and_grads()
    bridge.decoder.enable_gradient_checkpointing()
    recomputed_loss, recomputed = loss_and_grads()
    torch.testing.assert_close(recomputed_loss, stored_loss)
    for name, grad in stored.items():
        torch.testing.assert_close(recomputed[name], grad, msg=name)


def assert_checkpoint_round_trip(bridge, directory: Path, method: str):
    """Saved and loaded: only the bridge's own tensors stored, the same config and generation
    (beams, mixed directions). Returns the loaded bridge and bridge.json."""
    expected = bridge.generate_token_ids(TEXTS, SRCS, TGTS, max_new_tokens=MNT, num_beams=2)
    save_bridge(bridge, directory)
    assert set(load_file(directory / "bridge.safetensors")) == {n for n, _ in bridge.trainable_named_parameters()}
    meta = json.loads((directory / "bridge.json").read_text())
    assert meta["method"] == method and list(meta["backbones"]) == ["decoder"]
    loaded = load_bridge(directory)  # eval mode: dropout is off
    assert type(loaded) is type(bridge) and loaded.config == bridge.config
    assert loaded.generate_token_ids(TEXTS, SRCS, TGTS, max_new_tokens=MNT, num_beams=2) == expected
    return loaded, meta


def train_smoke_config(tmp_path: Path, config: str):
    """configs/<config> trained for one epoch (10 steps, R-Drop on) on German <-> English: the LLM
    bit-identical after it, the loss down, the saved bridge generating as the trained one.
    Returns the bridge and its trainable tensors before training."""
    run = load_run_config(ROOT / "configs" / config, [f"train.output_dir={tmp_path / 'run'}", "train.epochs=1"])
    plan = plan_training(run)
    bridge = build_for_training(plan)
    own = {n for n, _ in bridge.trainable_named_parameters()}
    frozen = {n: p.detach().clone() for n, p in bridge.named_parameters() if n not in own}
    before = {n: p.detach().clone() for n, p in bridge.trainable_named_parameters()}
    train_pairs, valid_pairs = load_pairs(plan, bridge)
    assert {(p.src_lang, p.tgt_lang) for p in train_pairs} == {("deu_Latn", "eng_Latn"), ("eng_Latn", "deu_Latn")}
    result = Trainer(bridge, train_pairs, plan.train, valid_pairs=valid_pairs).train()
    assert result.steps == 10 and plan.train.rdrop_alpha == 0.1
    after = dict(bridge.named_parameters())
    assert len(frozen) > 0 and all(torch.equal(frozen[n], after[n]) for n in frozen)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    assert len(losses) == 10 and losses[-1] < losses[0]
    loaded = load_bridge(tmp_path / "run" / "bridge")
    bridge.eval()
    assert loaded.generate_token_ids(TEXTS[:2], ["de", "en"], ["en", "de"], max_new_tokens=MNT) == \
        bridge.generate_token_ids(TEXTS[:2], ["de", "en"], ["en", "de"], max_new_tokens=MNT)
    return bridge, before
