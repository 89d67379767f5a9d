"""The trainer: loss goes down, a killed run resumes to exactly the same weights, stages chain."""

import json

import pytest
import torch

from babelbridge.backbones import load_decoder, load_encoder
from babelbridge.bridges import TranslationPair, build_bridge
from babelbridge.errors import BabelBridgeError
from babelbridge.train import TrainConfig, Trainer

PAIRS = [TranslationPair(f"Satz {i}: " + "ab" * (i % 9), f"Sentence {i}", "deu_Latn") for i in range(48)]


def tiny_bridge():
    torch.manual_seed(0)
    return build_bridge("hca", load_encoder("tiny-random:m2m100"), load_decoder("tiny-random:qwen3"),
                        {"bottleneck_dim": 16})


def config(tmp_path, name, **overrides):
    values = dict(output_dir=str(tmp_path / name), lr=5e-3, global_batch_size=8, micro_batch_size=4,
                  max_steps=8, save_every=2, keep_last=2, schedule="linear", warmup_steps=2)
    return TrainConfig(**{**values, **overrides})


def weights(bridge):
    return {n: p.detach().clone() for n, p in bridge.trainable_named_parameters()}


def test_training_lowers_the_loss_and_writes_metrics(tmp_path):
    result = Trainer(tiny_bridge(), PAIRS, config(tmp_path, "run", max_steps=12, eval_every=4),
                     valid_pairs=PAIRS[:8]).train()
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    assert len(losses) == 12 and losses[-1] < losses[0]
    assert [r["step"] for r in records if "val_loss" in r] == [4, 8, 12]
    assert result.steps == 12
    assert (tmp_path / "run" / "bridge" / "bridge.safetensors").is_file()
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["step-0000010", "step-0000012"]


def test_killed_run_resumes_to_exactly_the_uninterrupted_weights(tmp_path, monkeypatch):
    straight = tiny_bridge()
    Trainer(straight, PAIRS, config(tmp_path, "straight")).train()

    # Kill in the middle of step 6 (after the step-4 checkpoint, two steps of work lost).
    killed = tiny_bridge()
    calls = {"n": 0}
    original = type(killed).loss

    def dying_loss(self, batch):
        calls["n"] += 1
        if calls["n"] == 5 * 2 + 1:  # 2 micro-batches per step: the first micro-batch of step 6
            raise KeyboardInterrupt("killed")
        return original(self, batch)

    monkeypatch.setattr(type(killed), "loss", dying_loss)
    with pytest.raises(KeyboardInterrupt):
        Trainer(killed, PAIRS, config(tmp_path, "resumed")).train()
    monkeypatch.setattr(type(killed), "loss", original)
    assert [p.name for p in (tmp_path / "resumed" / "checkpoints").iterdir() if p.name.startswith("step")] != []

    resumed = tiny_bridge()  # a fresh process would start from scratch weights like this
    result = Trainer(resumed, PAIRS, config(tmp_path, "resumed")).train()
    assert result.steps == 8
    a, b = weights(straight), weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], weights(tiny_bridge())[k]) for k in a)  # it did train


def test_early_stopping_on_a_plateau(tmp_path):
    # lr 0: the validation loss never improves, so patience 2 stops after the third evaluation.
    result = Trainer(tiny_bridge(), PAIRS, config(tmp_path, "flat", lr=0.0, max_steps=40, eval_every=2,
                                                  early_stopping_patience=2), valid_pairs=PAIRS[:8]).train()
    assert result.stopped_early and result.steps == 6
    assert (tmp_path / "flat" / "best" / "bridge.safetensors").is_file()


def test_second_stage_starts_from_the_first(tmp_path):
    first = tiny_bridge()
    Trainer(first, PAIRS, config(tmp_path, "stage1", max_steps=2)).train()
    second = tiny_bridge()
    trainer = Trainer(second, PAIRS, config(tmp_path, "stage2", max_steps=1, lr=0.0,
                                            init_from=str(tmp_path / "stage1" / "bridge")))
    trainer.train()
    a, b = weights(first), weights(second)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_batch_sizes_that_do_not_divide_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"global_batch_size \(10\) must be a multiple of train.micro_batch_size \(4\)"):
        config(tmp_path, "x", global_batch_size=10)
    with pytest.raises(BabelBridgeError, match="48 training pairs do not fill one global batch of 64"):
        Trainer(tiny_bridge(), PAIRS, config(tmp_path, "x", global_batch_size=64))


def test_validation_reports_how_much_the_source_is_read(tmp_path):
    """source_gap = loss with each pair given another pair's source - loss with its own."""
    valid = PAIRS[:6]
    bridge = tiny_bridge()
    Trainer(bridge, PAIRS, config(tmp_path, "gap", max_steps=4, eval_every=4), valid_pairs=valid).train()
    records = [json.loads(line) for line in (tmp_path / "gap" / "metrics.jsonl").read_text().splitlines()]
    (record,) = [r for r in records if "val_loss" in r]
    # The derangement is pair i <- source of pair i + 3 (half the set away), computed by hand here.
    swapped = [TranslationPair(valid[(i + 3) % 6].src, p.tgt, p.src_lang) for i, p in enumerate(valid)]
    bridge.eval()
    with torch.no_grad():
        def mean_loss(pairs):
            losses, counts = [], []
            for chunk in (pairs[:4], pairs[4:]):
                batch = bridge.collate(chunk)
                counts.append(int((batch["labels"][:, 1:] != -100).sum()))
                losses.append(bridge.loss(batch).item() * counts[-1])
            return sum(losses) / sum(counts)

        assert record["val_loss"] == pytest.approx(mean_loss(valid), rel=1e-5)
        assert record["val_loss_mismatched_src"] == pytest.approx(mean_loss(swapped), rel=1e-5)
    assert record["source_gap"] == pytest.approx(record["val_loss_mismatched_src"] - record["val_loss"])
    assert record["val_loss_mismatched_src"] != pytest.approx(record["val_loss"], abs=1e-6)


def test_lr_by_module_gives_matching_parameters_their_own_rate(tmp_path):
    trainer = Trainer(tiny_bridge(), PAIRS, config(tmp_path, "lrs", lr=1e-4, lr_by_module={"blocks.*.proj.*": 1e-2}))
    groups = trainer.param_groups()
    assert [g["lr"] for g in groups] == [1e-4, 1e-2] or [g["lr"] for g in groups] == [1e-2, 1e-4]
    fast = next(g for g in groups if g["lr"] == 1e-2)["params"]
    names = {id(p): n for n, p in trainer.bridge.trainable_named_parameters()}
    assert sorted(names[id(p)] for p in fast) == ["blocks.0.proj.weight", "blocks.1.proj.weight"]
    bad = Trainer(tiny_bridge(), PAIRS, config(tmp_path, "bad", lr_by_module={"nothing.*": 1.0}))
    with pytest.raises(BabelBridgeError, match=r"train.lr_by_module: nothing.\* match\(es\) no trainable parameter"):
        bad.param_groups()
