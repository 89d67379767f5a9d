"""Gradient checkpointing (train.gradient_checkpointing): the same gradients, layers recomputed
in backward, bridge hooks run once, nothing changes where no gradient is recorded."""

import pytest
import torch

from babelbridge.backbones import load_decoder, load_encoder
from babelbridge.bridges import TranslationPair, build_bridge
from babelbridge.train import TrainConfig, Trainer

PAIRS = [TranslationPair(f"Satz {i}: " + "ab" * (i % 7), f"Sentence number {i}", "deu_Latn") for i in range(8)]


def tiny(method: str):
    torch.manual_seed(0)
    if method == "lora":  # dropout on: the recomputation must replay the same masks
        return build_bridge("lora", None, load_decoder("tiny-random:qwen3"), {"r": 4, "dropout": 0.1})
    return build_bridge("hca", load_encoder("tiny-random:m2m100"), load_decoder("tiny-random:qwen3"),
                        {"bottleneck_dim": 8})


def loss_and_grads(bridge, batch):
    bridge.zero_grad(set_to_none=True)
    torch.manual_seed(1)
    loss = bridge.loss(batch)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in bridge.trainable_named_parameters() if p.grad is not None}


def count_calls(module) -> dict:
    # A pre-hook: torch stops a recomputation as soon as it has what backward needs, so a
    # module's forward hook may never fire in it.
    calls = {"n": 0}
    module.register_forward_pre_hook(lambda *_: calls.__setitem__("n", calls["n"] + 1))
    return calls


@pytest.mark.parametrize("method", ["hca", "lora"])
def test_same_loss_and_gradients_with_layers_recomputed_in_backward(method):
    bridge = tiny(method)
    bridge.train()
    batch = bridge.collate(PAIRS)
    # One step first, so that every trainable weight has left its zero start (LoRA's B, HCA's
    # output projections) and the gradients compared below are not trivially zero.
    optimizer = torch.optim.SGD([p for _, p in bridge.trainable_named_parameters()], lr=0.5)
    loss_and_grads(bridge, batch)
    optimizer.step()
    stored_loss, stored = loss_and_grads(bridge, batch)

    bridge.decoder.enable_gradient_checkpointing()
    bridge.decoder.enable_gradient_checkpointing()  # twice is once
    inside, layer = count_calls(bridge.decoder.layers[1].mlp), count_calls(bridge.decoder.layers[1])
    recomputed_loss, recomputed = loss_and_grads(bridge, batch)

    torch.testing.assert_close(recomputed_loss, stored_loss)
    assert recomputed.keys() == stored.keys() and len(stored) > 0
    for name, grad in stored.items():
        torch.testing.assert_close(recomputed[name], grad, msg=name)
    assert any(g.abs().max() > 0 for g in stored.values())
    # The layer ran twice (forward, then again in backward); hooks on it, where bridges
    # attach, ran once: they stay outside the recomputation.
    assert (inside["n"], layer["n"]) == (2, 1)

    with torch.no_grad():  # validation: nothing stored, nothing recomputed
        bridge.loss(batch)
    assert (inside["n"], layer["n"]) == (3, 2)


def test_generation_is_unchanged_by_checkpointing():
    bridge = tiny("hca")
    bridge.eval()
    for _, p in bridge.trainable_named_parameters():
        torch.nn.init.normal_(p, std=0.05)  # off the zero start: the source changes the output
    texts = ["Satz eins", "ein viel längerer Satz zwei"]
    before = bridge.generate_token_ids(texts, "deu_Latn", "eng_Latn", max_new_tokens=6)
    bridge.decoder.enable_gradient_checkpointing()
    assert bridge.generate_token_ids(texts, "deu_Latn", "eng_Latn", max_new_tokens=6) == before


def test_trainer_option_trains_to_the_same_weights(tmp_path):
    def run(name, **extra):
        bridge = tiny("hca")
        cfg = TrainConfig(output_dir=str(tmp_path / name), lr=5e-3, global_batch_size=8, micro_batch_size=4,
                          max_steps=3, save_every=3, **extra)
        Trainer(bridge, PAIRS, cfg).train()
        return bridge, {n: p.detach().clone() for n, p in bridge.trainable_named_parameters()}

    _, plain = run("plain")
    bridge, checkpointed = run("checkpointed", gradient_checkpointing=True)
    assert all("forward" in vars(layer) for layer in bridge.decoder.layers)  # the option took effect
    assert checkpointed.keys() == plain.keys()
    for name, value in plain.items():
        torch.testing.assert_close(checkpointed[name], value, msg=name)
    assert any(not torch.equal(value, torch.zeros_like(value)) for value in plain.values())
