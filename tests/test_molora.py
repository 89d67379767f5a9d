"""MoLoRA (bridges/molora), the CrossLoRA paper's mixture-of-LoRA baselines: the learned top-k
router (eq. 2-3, the Switch load-balancing loss) and the static router (one expert per direction);
mixed-direction batches, generation, the trainer, checkpoints, inspect, the matched-rank LoRA
baseline and the errors."""

import json
import math

import pytest
import torch
import yaml

from babelbridge.backbones import load_decoder
from babelbridge.bridges import MoLoRABridge, TranslationPair, build_bridge
from babelbridge.bridges.crosslora import CrossLoRAConfig
from babelbridge.bridges.molora import load_balancing_loss
from babelbridge.errors import BabelBridgeError, InputError
from babelbridge.train import Trainer, TrainConfig
from expert_lora_checks import (LANGS, MNT, PAIRS, ROOT, SRCS, TEXTS, TGTS, assert_a_mixed_batch_equals_its_rows,
                                assert_batched_generation_equals_one_by_one, assert_checkpoint_round_trip,
                                assert_gradient_checkpointing_replays_the_routing, experts_with_gradient, randomize,
                                reversed_pairs, row_losses, run_cli, train_smoke_config)

# Router static over LANGS: every ordered pair, sources in the order of LANGS. PAIRS route to
# experts 2 (deu-eng), 1 (eng-rus), 3 (deu-rus), 0 (eng-deu).
DIRECTIONS = ["eng_Latn-deu_Latn", "eng_Latn-rus_Cyrl", "deu_Latn-eng_Latn", "deu_Latn-rus_Cyrl",
              "rus_Cyrl-eng_Latn", "rus_Cyrl-deu_Latn"]
ROUTERS = ["topk", "static"]


def molora(router="topk", dtype="float32", **config):
    torch.manual_seed(0)
    mode = {"num_experts": 3} if router == "topk" else ({} if "directions" in config else {"languages": LANGS})
    return build_bridge("molora", None, load_decoder("tiny-random:qwen3", dtype=dtype),
                        {"r": 4, "router": router, **mode, **config})


# ---- defaults and parameters -----------------------------------------------------------------------------


def test_defaults_are_crosslora_s_and_the_papers_baselines():
    topk = build_bridge("molora", None, load_decoder("tiny-random:qwen3"))
    cfg, crosslora = topk.config, CrossLoRAConfig()
    assert (cfg.r, cfg.alpha, cfg.dropout, cfg.target_modules) == \
        (crosslora.r, crosslora.alpha, crosslora.dropout, crosslora.target_modules) == \
        (16, 64, 0.1, ["gate_proj", "up_proj", "down_proj"])
    # Top-k: as many experts as CrossLoRA's six languages, top-1, Switch's balance weight.
    assert (cfg.router, cfg.num_experts, cfg.top_k, cfg.load_balance_weight, cfg.languages, cfg.directions) == \
        ("topk", 6, 1, 0.01, None, None)
    expected = {}
    for layer in range(2):
        for proj, (d_in, d_out) in {"gate_proj": (32, 64), "up_proj": (32, 64), "down_proj": (64, 32)}.items():
            prefix = f"decoder.model.model.layers.{layer}.mlp.{proj}."
            expected |= {prefix + "molora_A": (6, 16, d_in), prefix + "molora_B": (6, d_out, 16),
                         prefix + "molora_router": (6, d_in)}
    assert {n: tuple(p.shape) for n, p in topk.trainable_named_parameters()} == expected
    assert sorted(expected) == sorted(n for n, p in topk.named_parameters() if p.requires_grad)
    assert topk.parameter_counts()["trainable"] == 2 * (6 * 16 * 3 * (32 + 64) + 6 * (32 + 32 + 64))
    # Static: one expert per ordered pair of the paper's six languages: its 30 experts.
    static = build_bridge("molora", None, load_decoder("tiny-random:qwen3"), {"router": "static"})
    assert (static.config.languages, static.config.num_experts, static.config.top_k) == \
        (["eng_Latn", "deu_Latn", "zho_Hans", "rus_Cyrl", "ces_Latn", "isl_Latn"], None, None)
    assert (static.router.num_a, static.router.num_b) == (30, 30)
    assert static.router.directions[:3] == ["eng_Latn-deu_Latn", "eng_Latn-zho_Hans", "eng_Latn-rus_Cyrl"]
    assert static.parameter_counts()["trainable"] == 2 * 30 * 16 * 3 * (32 + 64)
    # B = 0: before training either bridge is the prompted LLM.
    prompted = build_bridge("prompted", None, load_decoder("tiny-random:qwen3"))
    for bridge in (topk, static):
        assert bridge.generate_token_ids(TEXTS, "de", "en", max_new_tokens=MNT) == \
            prompted.generate_token_ids(TEXTS, "de", "en", max_new_tokens=MNT)


@pytest.mark.parametrize("router", ROUTERS)
def test_experts_and_router_stay_float32_on_a_bfloat16_llm(router):
    bridge = randomize(molora(router, dtype="bfloat16"))
    assert {p.dtype for _, p in bridge.trainable_named_parameters()} == {torch.float32}
    own = {n for n, _ in bridge.trainable_named_parameters()}
    assert {p.dtype for n, p in bridge.named_parameters() if n not in own} == {torch.bfloat16}
    bridge.train()(bridge.collate(PAIRS)).backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for _, p in bridge.trainable_named_parameters())


# ---- top-k: the learned router --------------------------------------------------------------------------


@pytest.mark.parametrize("top_k", [1, 2])
def test_a_topk_layer_computes_W0x_plus_the_gated_experts_by_hand(top_k):
    bridge = randomize(molora(top_k=top_k)).eval()
    layer = bridge.expert_layers[2]  # layer 0's down_proj: 64 -> 32
    A, B, W0 = layer.molora_A.detach(), layer.molora_B.detach(), layer.base_layer.weight
    router = layer.molora_router.detach()
    assert layer.scaling == 64 / 4 and layer.base_layer.bias is None
    x = torch.randn(3, 5, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        out = layer(x)  # no direction needed: the router reads each token
    chosen_anywhere = set()
    for row in range(3):
        for t in range(5):
            token = x[row, t]
            probs = torch.softmax(token @ router.T, -1)  # eq. 2
            kept = probs.topk(top_k).indices.tolist()
            chosen_anywhere |= set(kept)
            # top-1: the gate is the expert's probability (Switch); top-2: the two renormalised.
            total = sum(probs[i] for i in kept) if top_k > 1 else 1.0
            expected = token @ W0.T + layer.scaling * sum(probs[i] / total * (B[i] @ (A[i] @ token)) for i in kept)
            # eq. 3 over the kept experts (outputs ~30: another order of the sums differs by ~1e-5)
            torch.testing.assert_close(out[row, t], expected, rtol=1e-5, atol=1e-4)
    assert chosen_anywhere == {0, 1, 2}  # the tokens spread over every expert


def test_only_the_chosen_experts_and_the_router_get_gradients():
    bridge = randomize(molora()).eval()
    layer = bridge.expert_layers[2]
    x = torch.randn(1, 1, 64, generator=torch.Generator().manual_seed(3))  # one token: one expert
    chosen = [int((x[0, 0] @ layer.molora_router.detach().T).argmax())]
    layer(x).square().sum().backward()
    assert experts_with_gradient(layer.molora_A) == chosen
    assert experts_with_gradient(layer.molora_B) == chosen
    # The top-1 gate is a softmax probability: every expert's router row moves it.
    assert experts_with_gradient(layer.molora_router) == [0, 1, 2]
    assert layer.base_layer.weight.grad is None and not layer.base_layer.weight.requires_grad


def test_the_load_balancing_loss_is_switch_s_computed_by_hand():
    logits = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 1.0, 0.5], [0.1, 0.2, 3.0]],
                           [[1.0, 2.0, 0.0], [0.3, 0.2, 0.1], [9.0, 9.0, 9.0]]])  # row 1's last: padding
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    tokens = [logits[0, 0], logits[0, 1], logits[0, 2], logits[1, 0], logits[1, 1]]
    probs = [torch.softmax(t, -1).tolist() for t in tokens]
    for k in (1, 2):
        picks = [sorted(range(3), key=lambda i: -p[i])[:k] for p in probs]
        f = [sum(i in kept for kept in picks) / (len(tokens) * k) for i in range(3)]  # share of the choices
        P = [sum(p[i] for p in probs) / len(tokens) for i in range(3)]  # mean router probability
        by_hand = 3 * sum(fi * pi for fi, pi in zip(f, P))
        probs_t = logits.softmax(-1)
        got = load_balancing_loss(probs_t, probs_t.topk(k, -1).indices, mask)
        assert math.isclose(got.item(), by_hand, rel_tol=1e-6), k
    # Perfectly balanced routing: 1; everything on one expert with certainty: n.
    assert load_balancing_loss(torch.eye(3), torch.arange(3)[:, None], torch.ones(3)).item() == pytest.approx(1.0)
    certain = torch.tensor([[1.0, 0.0, 0.0]] * 4)
    assert load_balancing_loss(certain, torch.zeros(4, 1, dtype=torch.long), torch.ones(4)).item() == \
        pytest.approx(3.0)


def test_training_adds_the_weighted_balance_loss_of_every_layer_and_validation_does_not():
    bridge = randomize(molora(dropout=0.0, load_balance_weight=0.25))
    batch = bridge.collate(PAIRS)
    inputs = {}

    def keep_input(layer, args, out):
        inputs[layer] = args[0]

    hooks = [layer.register_forward_hook(keep_input) for layer in bridge.expert_layers]
    bridge.train()
    with torch.no_grad():
        total = bridge(batch)
    for hook in hooks:
        hook.remove()
    balance = []
    for layer in bridge.expert_layers:  # each layer's router logits, its loss on the unpadded tokens
        probs = (inputs[layer].float() @ layer.molora_router.T).softmax(-1)
        balance.append(load_balancing_loss(probs, probs.topk(1, -1).indices, batch["attention_mask"]))
    assert len(balance) == 6 and (batch["attention_mask"] == 0).any()
    with torch.no_grad():
        translation = bridge.loss(batch)
        torch.testing.assert_close(total, translation + 0.25 * torch.stack(balance).mean())
        bridge.eval()  # the trainer's validation loss: the translation loss alone
        assert torch.equal(bridge(batch), bridge.loss(batch))
        bridge.train()
        # R-Drop's doubled batch records the balance over both passes: the same value again.
        rdrop = bridge(batch, rdrop_alpha=0.1)
        torch.testing.assert_close(rdrop, bridge.rdrop_loss(batch, 0.1) + 0.25 * torch.stack(balance).mean())
    # Weight 0: the plain loss, and the router still learns through its gates.
    unweighted = randomize(molora(dropout=0.0, load_balance_weight=0)).train()
    loss = unweighted(batch)
    assert torch.equal(loss, unweighted.loss(batch))
    loss.backward()
    assert all(p.grad.abs().sum() > 0 for n, p in unweighted.trainable_named_parameters()
               if n.endswith("molora_router"))


# ---- static: one expert per direction ------------------------------------------------------------------


@pytest.mark.parametrize("pairs, experts", [
    (PAIRS[2:3], [3]),  # deu -> rus: exactly its expert, A and B
    (PAIRS, [0, 1, 2, 3]),  # four directions in one batch
])
def test_a_direction_trains_exactly_its_expert_s_A_and_B(pairs, experts):
    bridge = randomize(molora("static")).eval()
    assert bridge.router.directions == DIRECTIONS
    bridge.loss(bridge.collate(pairs)).backward()
    for name, param in bridge.trainable_named_parameters():
        assert experts_with_gradient(param) == experts, name


def test_a_static_layer_computes_W0x_plus_its_direction_s_expert():
    bridge = randomize(molora("static")).eval()
    layer = bridge.expert_layers[2]
    A, B, W0 = layer.molora_A.detach(), layer.molora_B.detach(), layer.base_layer.weight
    x = torch.randn(3, 5, 64, generator=torch.Generator().manual_seed(2))
    routing = bridge.router.route(SRCS, TGTS)
    assert routing.expert_a.tolist() == routing.expert_b.tolist() == [2, 1, 3]
    with torch.no_grad(), bridge.router.routed(routing):
        out = layer(x)
    for i, d in enumerate([2, 1, 3]):  # eq. 3 with s one-hot on the row's direction
        torch.testing.assert_close(out[i], x[i] @ W0.T + layer.scaling * (x[i] @ A[d].T @ B[d].T))
    with pytest.raises(RuntimeError, match="a MoLoRA layer ran with no direction set"):
        layer(x)


# ---- both routers: batches, generation, translate -----------------------------------------------------


@pytest.mark.parametrize("router", ROUTERS)
def test_a_mixed_batch_equals_its_rows_one_by_one(router):
    bridge = randomize(molora(router)).eval()
    batched = assert_a_mixed_batch_equals_its_rows(bridge)
    if router == "static":  # the experts matter: the reversed directions score otherwise
        with torch.no_grad():
            swapped = row_losses(bridge, reversed_pairs(PAIRS))
        assert (batched - swapped).abs().min() > 1e-3


@pytest.mark.parametrize("router", ROUTERS)
@pytest.mark.parametrize("num_beams", [1, 2])
def test_batched_generation_of_mixed_directions_equals_one_by_one(router, num_beams):
    bridge = randomize(molora(router)).eval()
    alone = assert_batched_generation_equals_one_by_one(bridge, num_beams)
    # The experts matter: the LLM alone writes something else.
    prompted = build_bridge("prompted", None, load_decoder("tiny-random:qwen3"))
    assert prompted.generate_token_ids(TEXTS, SRCS, TGTS, max_new_tokens=MNT, num_beams=num_beams) != alone


@pytest.mark.parametrize("router", ROUTERS)
def test_translate_in_batches_equals_one_by_one(router):
    bridge = randomize(molora(router)).eval()
    batched = bridge.translate(TEXTS, "de", "ru", batch_size=2, max_new_tokens=MNT)
    assert batched == [bridge.translate([text], "de", "ru", max_new_tokens=MNT)[0] for text in TEXTS]
    assert MoLoRABridge.supports_pmp


@pytest.mark.parametrize("router", ROUTERS)
def test_gradient_checkpointing_replays_the_routing_and_the_balance_loss(router):
    bridge = randomize(molora(router, dropout=0.1), scale=0.2).train()
    batch = bridge.collate(PAIRS)
    # bridge(batch): the trainer's loss, with the balance loss for router topk
    assert_gradient_checkpointing_replays_the_routing(bridge, lambda bridge: bridge(batch))


# ---- errors ---------------------------------------------------------------------------------------------


def test_a_direction_outside_the_static_experts_is_named_with_the_accepted_ones(monkeypatch):
    bridge = molora("static", directions=["de-en", "eng_Latn-deu_Latn"])
    accepted = "this bridge's directions are deu_Latn-eng_Latn, eng_Latn-deu_Latn"
    with pytest.raises(InputError, match=f"^direction deu_Latn-rus_Cyrl has no MoLoRA expert; {accepted}$"):
        bridge.translate(["Hallo"], "de", "ru")
    with pytest.raises(InputError, match=f"^direction eng_Latn-eng_Latn has no MoLoRA expert; {accepted}$"):
        bridge.collate([TranslationPair("Hi", "Hello", "eng_Latn", "eng_Latn")])
    with pytest.raises(InputError, match=r"^target language: unknown language code 'xx_Latn'"):
        bridge.generate_token_ids(["Hallo"], "de", "xx_Latn")

    def fail(*args, **kwargs):
        raise AssertionError("generation ran before the directions were checked")

    monkeypatch.setattr(bridge, "generate_token_ids", fail)
    with pytest.raises(InputError, match=f"^direction deu_Latn-fra_Latn has no MoLoRA expert; {accepted}$"):
        bridge.translate_multi(["Hallo"], "de", ["en", "fr"])  # the second target, before the first runs


def test_the_trainer_refuses_pairs_outside_the_directions_before_any_step(tmp_path):
    bridge = molora("static", directions=["deu_Latn-eng_Latn", "eng_Latn-rus_Cyrl", "deu_Latn-rus_Cyrl",
                                          "eng_Latn-deu_Latn"])
    pairs = PAIRS + [TranslationPair("Bonjour", "Hello", "fra_Latn", "eng_Latn"),
                     TranslationPair("Salut", "Hi", "fra_Latn", "eng_Latn"),
                     TranslationPair("Good morning.", "Guten Morgen.", "eng_Latn", "deu_Latn"),
                     TranslationPair("Доброе утро.", "Good morning.", "rus_Cyrl", "eng_Latn")]
    message = (r"^pairs in directions with no MoLoRA expert: fra_Latn-eng_Latn \(2 pairs\), rus_Cyrl-eng_Latn "
               r"\(1 pair\); this bridge's directions are deu_Latn-eng_Latn, eng_Latn-rus_Cyrl, deu_Latn-rus_Cyrl, "
               r"eng_Latn-deu_Latn \(bridge.directions, or every ordered pair of bridge.languages\)$")
    with pytest.raises(BabelBridgeError, match=message):
        Trainer(bridge, pairs, TrainConfig(output_dir=str(tmp_path / "run"), global_batch_size=4, micro_batch_size=2))
    assert not (tmp_path / "run").exists()
    # The learned router takes any direction.
    Trainer(molora(), pairs, TrainConfig(output_dir=str(tmp_path / "run"), global_batch_size=4, micro_batch_size=2))


def test_a_mismatched_source_keeps_the_row_s_direction_under_the_static_router():
    """The trainer's source gap gives each validation pair another pair's source; the static router
    has no expert for (donor's language -> target), so the row keeps its direction."""
    pair, donor = PAIRS[0], PAIRS[3]  # deu -> eng; eng -> deu
    assert molora("static").mismatched_source(pair, donor) == \
        TranslationPair(donor.src, pair.tgt, "deu_Latn", "eng_Latn")
    assert molora().mismatched_source(pair, donor) == TranslationPair(donor.src, pair.tgt, "eng_Latn", "eng_Latn")


@pytest.mark.parametrize("options, message", [
    ({"router": "top1"}, r"^router must be one of topk, static, got 'top1'$"),
    ({"languages": ["en", "de"]}, r"^languages is for router static; router topk takes num_experts, top_k, "
                                  r"load_balance_weight$"),
    ({"router": "static", "top_k": 2, "num_experts": 4},
     r"^num_experts, top_k are for router topk; router static takes languages, directions$"),
    ({"num_experts": 0}, r"^num_experts must be a positive integer, got 0$"),
    ({"num_experts": 2, "top_k": 3}, r"^top_k \(3\) must not exceed num_experts \(2\)$"),
    ({"load_balance_weight": -0.1}, r"^load_balance_weight must be a number >= 0, got -0.1$"),
    ({"router": "static", "languages": ["en", "de"], "directions": ["de-en"]},
     r"^give languages \(every ordered pair of them is a direction\) or directions, not both$"),
    ({"router": "static", "languages": ["en"]}, r"^languages must name at least two languages"),
    ({"router": "static", "languages": ["en", "deu_Ltn"]}, r"^languages: unknown language code 'deu_Ltn'"),
    ({"router": "static", "directions": ["deu_Latn_eng_Latn"]},
     r"^directions: a direction is 'src-tgt' \(e.g. deu_Latn-eng_Latn\), got 'deu_Latn_eng_Latn'$"),
    ({"router": "static", "directions": ["de-de"]}, r"^directions: 'de-de' translates deu_Latn into itself$"),
    ({"router": "static", "directions": ["de-en", "deu_Latn-eng_Latn"]},
     r"^directions lists deu_Latn-eng_Latn more than once$"),
    ({"router": "static", "directions": "de-en"}, r"^directions must be a non-empty list of 'src-tgt' directions"),
    ({"target_modules": ["gateproj"]}, r"^MoLoRA target_modules \['gateproj'\] match no module of tiny-random:qwen3"),
])
def test_bad_options_are_named(options, message):
    with pytest.raises(BabelBridgeError, match=message):
        build_bridge("molora", None, load_decoder("tiny-random:qwen3"), {"r": 2, **options})


def test_a_molora_bridge_owns_its_decoder():
    decoder = load_decoder("tiny-random:qwen3")
    build_bridge("crosslora", None, decoder, {"r": 2})
    with pytest.raises(BabelBridgeError, match="already carries LoRA layers .*; a MoLoRA bridge owns its decoder"):
        build_bridge("molora", None, decoder, {"r": 2})


# ---- checkpoints, the trainer, inspect, the matched LoRA -------------------------------------------------


@pytest.mark.parametrize("router", ROUTERS)
def test_checkpoint_round_trip_gives_identical_outputs(tmp_path, router):
    bridge = randomize(molora(router, dropout=0.3)).eval()
    with torch.no_grad():
        losses = row_losses(bridge, PAIRS)
    loaded, meta = assert_checkpoint_round_trip(bridge, tmp_path / "ckpt", "molora")
    assert meta["config"]["router"] == router
    assert any(n.endswith("molora_router") for n, _ in loaded.trainable_named_parameters()) == (router == "topk")
    with torch.no_grad():
        assert torch.equal(row_losses(loaded, PAIRS), losses)


@pytest.mark.parametrize("config, router", [("molora-top1-smoke-tiny.yaml", "topk"),
                                            ("molora-static-smoke-tiny.yaml", "static")])
def test_smoke_config_trains_and_leaves_the_llm_bit_identical(tmp_path, config, router):
    bridge, before = train_smoke_config(tmp_path, config)  # the LLM bit-identical, the loss down
    assert bridge.config.router == router
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "source_gap" in r] == [10]  # mismatched sources routed too
    moved = {n for n, p in bridge.trainable_named_parameters() if not torch.equal(p, before[n])}
    if router == "static":  # both directions in every batch: every expert moved
        assert moved == set(before)
    else:  # every router and every layer's experts moved (which experts: the routers decide)
        assert {n for n in before if n.endswith(("molora_router", "molora_A"))} <= moved


@pytest.mark.parametrize("method, config", [
    ("crosslora", {"r": 4, "languages": LANGS}),
    ("crosslora", {"r": 4, "languages": LANGS, "shared_source": True}),
    ("molora", {"r": 4, "num_experts": 3}),
    ("molora", {"r": 4, "router": "static", "languages": LANGS}),
])
def test_the_matched_lora_rank_gives_the_same_count_within_half_a_rank(method, config):
    bridge = build_bridge(method, None, load_decoder("tiny-random:qwen3"), config)
    options = bridge.matched_lora_options()
    per_rank = bridge.lora_count_per_rank()
    assert per_rank == 2 * 3 * (32 + 64)  # gate, up, down in two layers: in + out each
    lora = build_bridge("lora", None, load_decoder("tiny-random:qwen3"), options)
    target = bridge.parameter_counts()["trainable"]
    got = lora.parameter_counts()["trainable"]
    assert got == options["r"] * per_rank and abs(got - target) <= per_rank / 2
    assert options["alpha"] / options["r"] == bridge.config.alpha / bridge.config.r  # LoRA's scale kept
    assert options["target_modules"] == bridge.config.target_modules
    if method == "crosslora" and len(config) == 2:  # n A and n B experts of rank r: exactly rank n x r
        assert options["r"] == 3 * 4 and got == target


def inspect_lines(capsys, path):
    code, out, err = run_cli(capsys, "inspect", path)
    assert code == 0, err
    return out.splitlines()


def test_inspect_counts_the_paper_baselines_offline(capsys, tmp_path):
    per_rank = 32 * 3 * (4096 + 14336)  # one rank of LoRA on gate, up, down of Llama-3-8B's 32 layers
    crosslora = inspect_lines(capsys, ROOT / "configs" / "crosslora-paper.yaml")
    assert crosslora[3] == "trainable  169,869,312  (2.1% of 8,200,130,560)"
    targets = "on gate_proj, up_proj, down_proj"
    assert crosslora[-2] == f"matched    method lora, r 96, alpha 384 {targets}: 169,869,312 trainable"
    assert 96 * per_rank == 169_869_312
    lora = inspect_lines(capsys, ROOT / "configs" / "lora-matched-crosslora-paper.yaml")
    assert lora[0] == "method     lora" and lora[3] == "trainable  169,869,312  (2.1% of 8,200,130,560)"
    topk = inspect_lines(capsys, ROOT / "configs" / "molora-paper.yaml")
    # CrossLoRA's count, and a router (6 x in) per adapted projection.
    assert topk[3].startswith(f"trainable  {169_869_312 + 32 * 6 * (4096 + 4096 + 14336):,}  ")
    assert topk[-2].startswith("matched    method lora, r 98, alpha 392 ")
    # Static: 30 directions, five times CrossLoRA's six-language count.
    values = yaml.safe_load((ROOT / "configs" / "molora-paper.yaml").read_text())
    values["bridge"]["router"] = "static"
    (tmp_path / "static.yaml").write_text(yaml.safe_dump(values))
    static = inspect_lines(capsys, tmp_path / "static.yaml")
    assert static[3].startswith(f"trainable  {5 * 169_869_312:,}  ")
    assert static[-2] == f"matched    method lora, r 480, alpha 1920 {targets}: 849,346,560 trainable"
