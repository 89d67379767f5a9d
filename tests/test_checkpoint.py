"""Checkpoints hold the trainable part only and refuse foreign backbones."""

import json

import pytest
import torch
from safetensors.torch import load_file

from babelbridge.backbones import load_decoder, load_encoder
from babelbridge.bridges import load_bridge, save_bridge
from babelbridge.errors import BackboneMismatchError, CheckpointError
from conftest import SOURCES


def test_save_load_round_trip_gives_identical_outputs(make_bridge, tmp_path):
    bridge = make_bridge("m2m100", "qwen3", num_heads=2, query_norm="rms")
    with torch.no_grad():  # move every parameter away from its init so the load really matters
        for _, p in bridge.trainable_named_parameters():
            p.add_(torch.randn_like(p) * 0.1)
    expected = bridge.generate_token_ids(SOURCES, "deu_Latn", "eng_Latn", max_new_tokens=10, num_beams=2)
    save_bridge(bridge, tmp_path / "ckpt")
    loaded = load_bridge(tmp_path / "ckpt")  # rebuilds the backbones from the recorded specs
    assert loaded.config == bridge.config
    for (n1, p1), (n2, p2) in zip(bridge.trainable_named_parameters(), loaded.trainable_named_parameters()):
        assert n1 == n2 and torch.equal(p1, p2)
    assert loaded.generate_token_ids(SOURCES, "deu_Latn", "eng_Latn", max_new_tokens=10, num_beams=2) == expected


def test_checkpoint_holds_no_backbone_weight(make_bridge, tmp_path):
    bridge = make_bridge()
    save_bridge(bridge, tmp_path / "ckpt")
    tensors = load_file(tmp_path / "ckpt" / "bridge.safetensors")
    assert set(tensors) == {n for n, _ in bridge.trainable_named_parameters()}
    assert not any(k.startswith(("encoder.", "decoder.")) for k in tensors)
    meta = json.loads((tmp_path / "ckpt" / "bridge.json").read_text())
    assert meta["method"] == "hca"
    assert meta["config"]["bottleneck_dim"] == 16
    assert meta["backbones"]["encoder"]["spec"] == "tiny-random:bert"
    assert meta["backbones"]["decoder"]["spec"] == "tiny-random:qwen3"
    assert meta["backbones"]["decoder"]["fingerprint"] == bridge.decoder.identity()["fingerprint"]
    assert meta["parameters"]["trainable"] == sum(t.numel() for t in tensors.values())


def test_loading_onto_other_backbones_is_a_clear_error(make_bridge, tmp_path):
    save_bridge(make_bridge("bert", "qwen3"), tmp_path / "ckpt")
    with pytest.raises(BackboneMismatchError,
                       match=r"trained on decoder tiny-random:qwen3 .* the decoder given is tiny-random:llama"):
        load_bridge(tmp_path / "ckpt", decoder=load_decoder("tiny-random:llama"))
    with pytest.raises(BackboneMismatchError, match=r"trained on encoder tiny-random:bert"):
        load_bridge(tmp_path / "ckpt", encoder=load_encoder("tiny-random:xlm-roberta"))


def test_overwriting_a_checkpoint_replaces_it_whole(make_bridge, tmp_path):
    first, second = make_bridge(), make_bridge()
    with torch.no_grad():
        second.blocks["0"].gate.fill_(3.0)
    save_bridge(first, tmp_path / "ckpt")
    save_bridge(second, tmp_path / "ckpt")
    assert load_file(tmp_path / "ckpt" / "bridge.safetensors")["blocks.0.gate"].item() == 3.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]  # no temporary leftovers


def test_missing_or_foreign_checkpoint_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="not a directory"):
        load_bridge(tmp_path / "nope")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "bridge.json").write_text("{}")
    with pytest.raises(CheckpointError, match="missing bridge.safetensors"):
        load_bridge(tmp_path / "half")
