"""HCA structure and training: frozen backbones stay bit-identical, the paper's switches
remove exactly their modules, and the source adapter sits before the encoder's final norm."""

import pytest
import torch

from babelbridge.bridges import TranslationPair
from babelbridge.languages import UnknownLanguageError
from conftest import SOURCES

PAIRS = [
    TranslationPair("Guten Morgen.", "Good morning.", "deu_Latn"),
    TranslationPair("Der Hund schläft unter dem Tisch.", "The dog sleeps under the table.", "deu_Latn"),
    TranslationPair("Bonjour à tous.", "Hello everyone.", "fra_Latn"),
]


def snapshot(module):
    return {n: p.detach().clone() for n, p in module.named_parameters()}


@pytest.mark.parametrize("encoder,decoder", [("m2m100", "qwen3"), ("bert", "llama"), ("mt5", "qwen2"),
                                             ("xlm-roberta", "qwen3")])
def test_training_steps_change_bridge_and_leave_backbones_bit_identical(make_bridge, encoder, decoder):
    bridge = make_bridge(encoder, decoder, adapter_up_init="zero")
    frozen_before = {**{f"enc.{k}": v for k, v in snapshot(bridge.encoder).items()},
                     **{f"dec.{k}": v for k, v in snapshot(bridge.decoder).items()}}
    trainable_before = {n: p.detach().clone() for n, p in bridge.trainable_named_parameters()}
    optimizer = torch.optim.Adam([p for _, p in bridge.trainable_named_parameters()], lr=1e-2)
    bridge.train()
    batch = bridge.collate(PAIRS)
    losses = []
    for _ in range(3):  # zero-initialised up-projections: the down-projections move from step 2
        loss = bridge.loss(batch)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    frozen_after = {**{f"enc.{k}": v for k, v in snapshot(bridge.encoder).items()},
                    **{f"dec.{k}": v for k, v in snapshot(bridge.decoder).items()}}
    assert frozen_before.keys() == frozen_after.keys()
    assert all(torch.equal(frozen_before[k], frozen_after[k]) for k in frozen_before)
    unchanged = [n for n, p in bridge.trainable_named_parameters() if torch.equal(p, trainable_before[n])]
    assert unchanged == []
    assert losses[-1] < losses[0]
    assert not bridge.encoder.training and not bridge.decoder.training  # dropout stays off
    assert all(not p.requires_grad for p in bridge.encoder.parameters())
    assert all(not p.requires_grad for p in bridge.decoder.parameters())


def test_loss_counts_target_tokens_only(make_bridge):
    bridge = make_bridge()
    batch = bridge.collate(PAIRS[:1])
    prompt = bridge.prompt_ids("eng_Latn")
    labels = batch["labels"][0].tolist()
    assert labels[: len(prompt)] == [-100] * len(prompt)
    target = bridge.decoder.target_ids("Good morning.")
    assert labels[len(prompt): len(prompt) + len(target)] == target
    assert target[-1] == bridge.decoder.eos_token_id


def test_gates_start_at_one_and_blocks_cover_every_layer(make_bridge):
    bridge = make_bridge()
    assert sorted(bridge.blocks) == [str(i) for i in range(bridge.decoder.num_layers)]
    assert [b.gate.item() for b in bridge.blocks.values()] == [1.0] * bridge.decoder.num_layers


def names_and_count(bridge):
    named = bridge.trainable_named_parameters()
    return {n for n, _ in named}, sum(p.numel() for _, p in named)


def test_ablation_switches_remove_exactly_their_modules(make_bridge):
    full_names, full = names_and_count(make_bridge())
    d_enc, d_llm, r, layers = 24, 32, 16, 2
    src_names, no_src = names_and_count(make_bridge(source_adapter=False))
    assert full_names - src_names == {f"source_adapter.bottleneck.{m}.{p}" for m in ("down", "up")
                                      for p in ("weight", "bias")}
    assert full - no_src == 2 * d_enc * r + r + d_enc
    res_names, no_res = names_and_count(make_bridge(query_residual_adapter=False))
    assert full_names - res_names == {f"blocks.{i}.query_residual.{m}.{p}" for i in range(layers)
                                      for m in ("down", "up") for p in ("weight", "bias")}
    assert full - no_res == layers * (2 * d_llm * r + r + d_llm)
    assert src_names | res_names == full_names


def test_cross_layers_subset_and_bad_indices(make_bridge):
    bridge = make_bridge(cross_layers=[1])
    assert list(bridge.blocks) == ["1"]
    with pytest.raises(ValueError, match=r"cross_layers \[5\] must be distinct indices in 0..1"):
        make_bridge(cross_layers=[5])


def test_unknown_config_option_is_named(make_bridge):
    with pytest.raises(Exception, match="unknown HCAConfig option.*bottleneck.*accepted"):
        make_bridge(bottleneck=8)


@pytest.mark.parametrize("encoder", ["m2m100", "bert", "mt5"])
def test_source_adapter_output_enters_before_the_final_norm(make_bridge, encoder):
    bridge = make_bridge(encoder)
    src = bridge.encoder.tokenize(SOURCES, ["deu_Latn"] * 3)
    with torch.no_grad():
        normal = bridge.encoder(src["input_ids"], src["attention_mask"])
        bridge.source_adapter.bottleneck.up.bias.fill_(1e4)  # a huge adapter output...
        shifted = bridge.encoder(src["input_ids"], src["attention_mask"])
    assert not torch.allclose(normal, shifted, atol=1e-3)
    # ...is tamed by the final norm it feeds: a norm's output has a bounded per-token scale.
    rms = shifted.pow(2).mean(-1).sqrt()
    assert rms.max() < 10 * normal.pow(2).mean(-1).sqrt().max()


def test_zero_initialised_source_adapter_leaves_encoder_states_unchanged(make_bridge):
    bridge = make_bridge("m2m100", adapter_up_init="zero")
    plain = make_bridge("m2m100", source_adapter=False)
    src = bridge.encoder.tokenize(SOURCES, ["deu_Latn"] * 3)
    with torch.no_grad():
        assert torch.equal(bridge.encoder(src["input_ids"], src["attention_mask"]),
                           plain.encoder(src["input_ids"], src["attention_mask"]))


def test_unknown_language_names_close_matches(make_bridge):
    bridge = make_bridge()
    with pytest.raises(UnknownLanguageError, match="deu_Latn"):
        bridge.translate(SOURCES, "deu_Latm")


def test_empty_input_lines_are_named_before_any_work(make_bridge):
    from babelbridge.errors import InputError

    bridge = make_bridge()
    with pytest.raises(InputError, match=r"2 empty or non-text input\(s\) at index 1, 3"):
        bridge.translate(["Hallo", "", "Welt", "   "], "de")


def test_qk_norm_and_zero_o_proj_options():
    """qk_norm adds one RMSNorm per head side; o_proj_init=zero makes the block inject nothing
    but the query-residual adapter at step 0 (so the LLM's output is unchanged at init)."""
    import torch
    from babelbridge.backbones import load_decoder, load_encoder
    from babelbridge.bridges import TranslationPair, build_bridge

    torch.manual_seed(0)
    options = {"bottleneck_dim": 8, "num_heads": 4, "qk_norm": "rms", "qo_projections": True, "o_proj_init": "zero"}
    bridge = build_bridge("hca", load_encoder("tiny-random:m2m100"), load_decoder("tiny-random:qwen3"), options)
    names = {n for n, _ in bridge.trainable_named_parameters() if n.startswith("blocks.0.")}
    assert {"blocks.0.q_head_norm.weight", "blocks.0.k_head_norm.weight"} <= names
    assert tuple(bridge.blocks["0"].q_head_norm.weight.shape) == (32 // 4,)
    batch = bridge.collate([TranslationPair("Hallo Welt", "Hello world", "deu_Latn")])
    with torch.no_grad():
        fused = bridge.loss(batch)
        plain = bridge.decoder.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                     labels=batch["labels"]).loss
    assert torch.equal(fused, plain)  # zero O and zero-init adapter up-projections: a no-op at init
