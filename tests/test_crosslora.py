"""CrossLoRA (bridges/crosslora): per-language LoRA experts crossed by a static router, A from the
source language and B from the target (paper eq. 4-5); mixed-direction batches, generation with
beams, the trainer, checkpoints, resume, the expert-merging ablations and the errors.

R-Drop, the trainer option the paper trains CrossLoRA with, is tested in tests/test_rdrop.py.
"""

import pytest
import torch

from babelbridge.backbones import load_decoder
from babelbridge.bridges import CrossLoRABridge, TranslationPair, build_bridge
from babelbridge.errors import BabelBridgeError, InputError
from babelbridge.train import Trainer, TrainConfig
from expert_lora_checks import (LANGS, MNT, PAIRS, ROOT, SRCS, TEXTS, TGTS, assert_a_mixed_batch_equals_its_rows,
                                assert_batched_generation_equals_one_by_one, assert_checkpoint_round_trip,
                                assert_gradient_checkpointing_replays_the_routing, experts_with_gradient, randomize,
                                reversed_pairs, row_losses, run_cli, train_smoke_config)

# LANGS: experts 0 (eng_Latn), 1 (deu_Latn), 2 (rus_Cyrl)
PAPER = ["eng_Latn", "deu_Latn", "zho_Hans", "rus_Cyrl", "ces_Latn", "isl_Latn"]


def crosslora(decoder="qwen3", dtype="float32", **config):
    torch.manual_seed(0)
    return build_bridge("crosslora", None, load_decoder(f"tiny-random:{decoder}", dtype=dtype),
                        {"r": 4, "languages": LANGS, **config})


# ---- the experts ---------------------------------------------------------------------------------------


def test_defaults_are_the_papers_and_only_the_experts_train():
    bridge = build_bridge("crosslora", None, load_decoder("tiny-random:qwen3"))
    cfg = bridge.config
    assert (cfg.r, cfg.alpha, cfg.dropout, cfg.experts, cfg.shared_source, cfg.shared_target) == \
        (16, 64, 0.1, "language", False, False)
    assert cfg.target_modules == ["gate_proj", "up_proj", "down_proj"]
    assert cfg.languages == PAPER
    expected = {}
    for layer in range(2):
        for proj, (d_in, d_out) in {"gate_proj": (32, 64), "up_proj": (32, 64), "down_proj": (64, 32)}.items():
            prefix = f"decoder.model.model.layers.{layer}.mlp.{proj}."
            expected[prefix + "crosslora_A"] = (6, 16, d_in)
            expected[prefix + "crosslora_B"] = (6, d_out, 16)
    assert {n: tuple(p.shape) for n, p in bridge.trainable_named_parameters()} == expected
    assert sorted(expected) == sorted(n for n, p in bridge.named_parameters() if p.requires_grad)
    counts = bridge.parameter_counts()
    assert counts["trainable"] == 2 * 6 * 16 * 3 * (32 + 64)
    assert counts["decoder"] == load_decoder("tiny-random:qwen3").identity()["parameters"]
    assert {layer.scaling for layer in bridge.expert_layers} == {4.0}  # alpha / r
    # peft's LoRA init per expert: A Kaiming-uniform (bound 1 / sqrt(in)), each expert its own; B zero.
    for name, p in bridge.trainable_named_parameters():
        if name.endswith("crosslora_A"):
            assert p.abs().max() <= p.shape[2] ** -0.5 and not torch.equal(p[0], p[1])
        else:
            assert torch.equal(p, torch.zeros_like(p))
    # B = 0: before training the bridge is the prompted LLM, in any direction.
    prompted = build_bridge("prompted", None, load_decoder("tiny-random:qwen3"))
    assert bridge.generate_token_ids(TEXTS, "de", "en", max_new_tokens=MNT) == \
        prompted.generate_token_ids(TEXTS, "de", "en", max_new_tokens=MNT)


def test_experts_stay_float32_on_a_bfloat16_llm():
    bridge = crosslora(dtype="bfloat16")
    assert {p.dtype for _, p in bridge.trainable_named_parameters()} == {torch.float32}
    own = {n for n, _ in bridge.trainable_named_parameters()}
    assert {p.dtype for n, p in bridge.named_parameters() if n not in own} == {torch.bfloat16}
    randomize(bridge).loss(bridge.collate(PAIRS)).backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for _, p in bridge.trainable_named_parameters())


@pytest.mark.parametrize("pairs, sources, targets", [
    (PAIRS[2:3], [1], [2]),  # deu -> rus: A_deu and B_rus, nothing else
    (PAIRS[:2], [0, 1], [0, 2]),  # deu -> eng, eng -> rus in one batch: A_deu, A_eng; B_eng, B_rus
])
def test_a_direction_trains_exactly_its_source_A_and_target_B(pairs, sources, targets):
    bridge = randomize(crosslora()).eval()
    bridge.loss(bridge.collate(pairs)).backward()
    for name, param in bridge.trainable_named_parameters():
        assert experts_with_gradient(param) == (sources if name.endswith("crosslora_A") else targets), name


def test_a_layer_computes_W0x_plus_scaled_B_tgt_A_src_x():
    bridge = randomize(crosslora()).eval()
    layer = bridge.expert_layers[2]  # layer 0's down_proj: 64 -> 32
    A, B, W0 = layer.crosslora_A.detach(), layer.crosslora_B.detach(), layer.base_layer.weight
    assert layer.scaling == 64 / 4 and layer.base_layer.bias is None
    x = torch.randn(3, 5, 64, generator=torch.Generator().manual_seed(2))
    mixed = bridge.router.route(SRCS, TGTS)
    assert (mixed.expert_a.tolist(), mixed.expert_b.tolist()) == ([1, 0, 1], [0, 2, 2])
    assert (mixed.uniform_a, mixed.uniform_b) == (None, None)
    with torch.no_grad(), bridge.router.routed(mixed):
        out = layer(x)
    for i, (a, b) in enumerate([(1, 0), (0, 2), (1, 2)]):  # eq. 4: W0 x + scaling B_tgt A_src x, row by row
        torch.testing.assert_close(out[i], x[i] @ W0.T + layer.scaling * (x[i] @ A[a].T @ B[b].T))
    # One direction for the whole batch: one matmul pair, exactly what plain LoRA computes.
    uniform = bridge.router.route(["deu_Latn"] * 3, ["rus_Cyrl"] * 3)
    assert (uniform.uniform_a, uniform.uniform_b) == (1, 2)
    with torch.no_grad(), bridge.router.routed(uniform):
        fast = layer(x)
    assert torch.equal(fast, layer.base_layer(x) + ((x @ A[1].T) @ B[2].T) * layer.scaling)
    # ... and the per-row path (a gather per row) agrees with it.
    uniform.uniform_a = uniform.uniform_b = None
    with torch.no_grad(), bridge.router.routed(uniform):
        torch.testing.assert_close(layer(x), fast)


def test_a_layer_runs_only_inside_a_routed_call():
    bridge = crosslora()
    ids = torch.tensor([[5, 6, 7]])
    with pytest.raises(RuntimeError, match="a CrossLoRA layer ran with no direction set"):
        bridge.decoder.model(input_ids=ids)
    with bridge.router.routed(bridge.router.route(SRCS, TGTS)):  # 3 rows routed, 1 row run
        with pytest.raises(RuntimeError, match=r"for a routing of 3 rows \(expand it with repeat_rows"):
            bridge.decoder.model(input_ids=ids)
    assert bridge.router.current is None  # the routing lasted for the block only


def test_experts_off_runs_the_llm_exactly_as_it_was():
    bridge = randomize(crosslora()).eval()
    plain = load_decoder("tiny-random:qwen3")  # the same seed's weights, no experts
    ids = torch.tensor([[5, 6, 7], [8, 9, 10]])
    with torch.no_grad():
        with bridge.router.experts_off():  # no routing needed: the experts do not run
            off = bridge.decoder.model(input_ids=ids).logits
        with bridge.router.routed(bridge.router.route(SRCS[:2], TGTS[:2])):
            on = bridge.decoder.model(input_ids=ids).logits
        expected = plain.model(input_ids=ids).logits
    torch.testing.assert_close(off, expected, rtol=0, atol=0)
    assert (on - expected).abs().max() > 1e-3  # the experts matter when on
    assert not bridge.router.off  # for the block only
    with pytest.raises(RuntimeError, match="a CrossLoRA layer ran with no direction set"):
        bridge.decoder.model(input_ids=ids)


def test_a_mixed_batch_equals_its_rows_one_by_one():
    bridge = randomize(crosslora()).eval()
    batched = assert_a_mixed_batch_equals_its_rows(bridge)
    with torch.no_grad():  # the experts matter: the same rows routed to other experts score otherwise
        swapped = row_losses(bridge, reversed_pairs(PAIRS))
    assert (batched - swapped).abs().min() > 1e-3


@pytest.mark.parametrize("num_beams", [1, 2])
def test_batched_generation_of_mixed_directions_equals_one_by_one(num_beams):
    bridge = randomize(crosslora()).eval()
    alone = assert_batched_generation_equals_one_by_one(bridge, num_beams)
    # One direction for all rows (the grouped fast path) gives the same as those rows alone.
    assert bridge.generate_token_ids(TEXTS, "deu_Latn", "rus_Cyrl", max_new_tokens=MNT, num_beams=num_beams)[2] \
        == alone[2]
    # The router matters: the same source into another target language comes out otherwise.
    assert bridge.generate_token_ids(TEXTS[2:], "deu_Latn", "eng_Latn", max_new_tokens=MNT,
                                     num_beams=num_beams)[0] != alone[2]


def test_translate_routes_by_its_languages_and_takes_pmp():
    bridge = randomize(crosslora()).eval()
    assert CrossLoRABridge.supports_pmp
    expected = [bridge.postprocess(bridge.decoder.tokenizer.decode(ids, skip_special_tokens=True))
                for ids in bridge.generate_token_ids(TEXTS, "deu_Latn", "rus_Cyrl", max_new_tokens=MNT)]
    assert bridge.translate(TEXTS, "de", "ru", batch_size=2, max_new_tokens=MNT) == expected
    # LMT's PMP: the auxiliary sentence (any language: it is not routed) goes into the prompt.
    aux = ["Hallo", "Goedemorgen, hoe gaat het vandaag?", "De hond slaapt onder de tafel."]
    with_aux = bridge.generate_token_ids(TEXTS, "deu_Latn", "rus_Cyrl", max_new_tokens=MNT, aux_texts=aux,
                                         aux_lang="nld_Latn")
    assert with_aux != bridge.generate_token_ids(TEXTS, "deu_Latn", "rus_Cyrl", max_new_tokens=MNT)
    assert len(bridge.translate(TEXTS, "de", "ru", aux_texts=aux, aux_lang="nl", max_new_tokens=MNT)) == 3


def test_gradient_checkpointing_replays_the_routing_in_backward():
    bridge = randomize(crosslora(dropout=0.1), scale=0.2)
    bridge.train()
    batch = bridge.collate(PAIRS)
    assert_gradient_checkpointing_replays_the_routing(bridge, lambda bridge: bridge.loss(batch))


# ---- the ablations: which experts exist -------------------------------------------------------------


@pytest.mark.parametrize("options, num_a, num_b, isl_to_ces", [
    ({}, 6, 6, (5, 4)),
    ({"experts": "branch"}, 3, 3, (0, 2)),  # the paper's Table 4: En/De/Is, Zh, Cs/Ru
    ({"experts": "family"}, 2, 2, (0, 0)),  # Indo-European, Sino-Tibetan
    ({"experts": {"en": "west", "de": "west", "is": "north", "zh": "east", "ru": "east", "cs": "west"}}, 3, 3, (2, 0)),
    ({"shared_source": True}, 1, 6, (0, 4)),  # Table 3: one A for every source language
    ({"shared_target": True}, 6, 1, (5, 0)),  # one B for every target language
])
def test_grouped_and_shared_experts_change_exactly_which_experts_exist_and_train(options, num_a, num_b, isl_to_ces):
    torch.manual_seed(0)
    bridge = build_bridge("crosslora", None, load_decoder("tiny-random:qwen3"), {"r": 4, **options})
    shapes = {n: tuple(p.shape) for n, p in bridge.trainable_named_parameters()}
    assert len(shapes) == 12 and all(  # the same parameters as the full model, fewer experts in them
        shape[0] == (num_a if name.endswith("crosslora_A") else num_b) for name, shape in shapes.items())
    # 2 layers x r 4 x (A: in 32 + 32 + 64 per expert; B: out 64 + 64 + 32 per expert)
    assert bridge.parameter_counts()["trainable"] == 2 * 4 * (num_a * 128 + num_b * 160)
    routing = bridge.router.route(["isl_Latn"], ["ces_Latn"])
    assert (int(routing.expert_a[0]), int(routing.expert_b[0])) == isl_to_ces
    randomize(bridge).eval()
    pair = TranslationPair("Góðan daginn.", "Dobré ráno.", "isl_Latn", "ces_Latn")
    bridge.loss(bridge.collate([pair])).backward()
    for name, param in bridge.trainable_named_parameters():
        assert experts_with_gradient(param) == [isl_to_ces[0 if name.endswith("crosslora_A") else 1]], name


def test_branch_grouping_is_the_papers_table_4():
    cfg = build_bridge("crosslora", None, load_decoder("tiny-random:qwen3"), {"r": 2, "experts": "branch"}).config
    assert cfg.expert_groups() == {"eng_Latn": "Germanic", "deu_Latn": "Germanic", "zho_Hans": "Sinitic",
                                   "rus_Cyrl": "Slavic", "ces_Latn": "Slavic", "isl_Latn": "Germanic"}
    # A language isolate keeps its own expert under the family grouping (no kin in its pseudo-family).
    family = build_bridge("crosslora", None, load_decoder("tiny-random:qwen3"),
                          {"r": 2, "experts": "family", "languages": ["eng_Latn", "eus_Latn", "hat_Latn", "fra_Latn"]})
    assert family.config.expert_groups() == {"eng_Latn": "Indo-European", "eus_Latn": "eus_Latn",
                                             "hat_Latn": "hat_Latn", "fra_Latn": "Indo-European"}
    assert (family.router.num_a, family.router.num_b) == (3, 3)


# ---- errors ----------------------------------------------------------------------------------------


def test_a_direction_outside_the_expert_languages_is_named_with_the_accepted_ones(monkeypatch):
    bridge = crosslora()
    accepted = "this bridge's languages are eng_Latn, deu_Latn, rus_Cyrl"
    with pytest.raises(InputError, match=f"^source language fra_Latn has no CrossLoRA expert; {accepted}$"):
        bridge.translate(["Bonjour"], "fr", "en")
    with pytest.raises(InputError, match=f"^target language zho_Hans has no CrossLoRA expert; {accepted}$"):
        bridge.collate([TranslationPair("Hallo", "你好", "deu_Latn", "zho_Hans")])
    with pytest.raises(InputError, match=r"^source language: unknown language code 'xx_Latn'"):
        bridge.generate_token_ids(["Hallo"], "xx_Latn", "en")

    def fail(*args, **kwargs):
        raise AssertionError("generation ran before the languages were checked")

    monkeypatch.setattr(bridge, "generate_token_ids", fail)
    with pytest.raises(InputError, match=f"^target language fra_Latn has no CrossLoRA expert; {accepted}$"):
        bridge.translate_multi(["Hallo"], "de", ["en", "ru", "fr"])  # the third target, before the first runs


def test_the_trainer_refuses_pairs_outside_the_experts_before_any_step(tmp_path):
    pairs = PAIRS + [TranslationPair("Bonjour", "Hallo", "fra_Latn", "deu_Latn"),
                     TranslationPair("Salut", "Hi", "fra_Latn", "eng_Latn"),
                     TranslationPair("Hallo", "你好", "deu_Latn", "zho_Hans")]
    message = (r"^pairs in languages with no CrossLoRA expert: fra_Latn \(2 pairs\), zho_Hans \(1 pair\); this "
               r"bridge's languages are eng_Latn, deu_Latn, rus_Cyrl \(bridge.languages\)$")
    with pytest.raises(BabelBridgeError, match=message):
        Trainer(crosslora(), pairs, TrainConfig(output_dir=str(tmp_path / "run"), global_batch_size=4,
                                                micro_batch_size=2))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("options, message", [
    ({"languages": ["eng_Latn", "deu_Ltn"]},
     r"^languages: unknown language code 'deu_Ltn'; closest valid codes: deu_Latn"),
    ({"languages": ["de", "en", "deu_Latn"]}, r"^languages lists deu_Latn more than once$"),
    ({"languages": "eng_Latn"}, r"^languages must be a non-empty list of FLORES-200 codes"),
    ({"experts": "script"}, r"^experts must be one of language, branch, family or a mapping \{language: group\}, "
                            r"got 'script'$"),
    ({"languages": ["en", "de", "ru"], "experts": {"en": "a", "de": "a", "fr": "b"}},
     r"^experts maps each of languages to a group name; it lacks rus_Cyrl; fra_Latn is not in languages$"),
    ({"shared_source": "yes"}, r"^shared_source must be true or false, got 'yes'$"),
    ({"target_modules": ["q_proj", "gateproj"]}, r"^CrossLoRA target_modules \['gateproj'\] match no module of "
                                                 r"tiny-random:qwen3; its Linear modules are: down_proj, gate_proj, "
                                                 r"k_proj, lm_head, o_proj, q_proj, up_proj, v_proj$"),
    ({"target_modules": ["input_layernorm"]}, r"^CrossLoRA target_modules must name Linear layers; "
                                              r"model.layers.0.input_layernorm is a Qwen3RMSNorm"),
])
def test_bad_options_are_named(options, message):
    with pytest.raises(BabelBridgeError, match=message):
        build_bridge("crosslora", None, load_decoder("tiny-random:qwen3"), {"r": 2, **options})


def test_a_crosslora_bridge_owns_its_decoder():
    decoder = load_decoder("tiny-random:qwen3")
    build_bridge("crosslora", None, decoder, {"r": 2})
    with pytest.raises(BabelBridgeError, match="already carries LoRA layers"):
        build_bridge("crosslora", None, decoder, {"r": 2})
    with_lora = load_decoder("tiny-random:qwen3")
    build_bridge("lora", None, with_lora, {"r": 2})
    with pytest.raises(BabelBridgeError, match="already carries LoRA layers"):
        build_bridge("crosslora", None, with_lora, {"r": 2})
    fresh = load_decoder("tiny-random:qwen3")
    with pytest.raises(BabelBridgeError, match="must name Linear layers"):
        build_bridge("crosslora", None, fresh, {"target_modules": ["gate_proj", "mlp"]})
    build_bridge("crosslora", None, fresh, {"r": 2})  # the refused targets left the decoder untouched


# ---- checkpoints, the trainer, resume, inspect -------------------------------------------------------


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    bridge = randomize(crosslora(dropout=0.3, experts={"en": "g", "de": "g", "ru": "r"}, shared_target=True)).eval()
    loaded, meta = assert_checkpoint_round_trip(bridge, tmp_path / "ckpt", "crosslora")
    assert meta["config"]["experts"] == {"eng_Latn": "g", "deu_Latn": "g", "rus_Cyrl": "r"}
    assert (loaded.router.num_a, loaded.router.num_b) == (2, 1)


def test_smoke_config_trains_the_experts_and_leaves_the_llm_bit_identical(tmp_path):
    bridge, experts = train_smoke_config(tmp_path, "crosslora-smoke-tiny.yaml")
    assert [n for n, p in bridge.trainable_named_parameters() if torch.equal(p, experts[n])] == []  # all moved


RESUME_PAIRS = [TranslationPair(f"Satz {i}: " + "ab" * (i % 5), f"Sentence {i}", *[
    ("deu_Latn", "eng_Latn"), ("eng_Latn", "rus_Cyrl"), ("rus_Cyrl", "deu_Latn")][i % 3]) for i in range(24)]


def resume_config(tmp_path, name):
    return TrainConfig(output_dir=str(tmp_path / name), lr=5e-3, global_batch_size=8, micro_batch_size=4, max_steps=6,
                       save_every=2, keep_last=2, schedule="linear", warmup_steps=2, rdrop_alpha=0.1)


def test_killed_run_resumes_to_exactly_the_uninterrupted_weights(tmp_path, monkeypatch):
    """Dropout and R-Drop on: the resumed run must draw the same masks (the RNG state is saved)."""
    def weights(bridge):
        return {n: p.detach().clone() for n, p in bridge.trainable_named_parameters()}

    straight = crosslora(dropout=0.1)
    Trainer(straight, RESUME_PAIRS, resume_config(tmp_path, "straight")).train()

    killed = crosslora(dropout=0.1)
    calls = {"n": 0}
    original = CrossLoRABridge.answer_logits  # what R-Drop's forward calls, once per micro-batch

    def dying(self, batch):
        calls["n"] += 1
        if calls["n"] == 4 * 2 + 1:  # the first micro-batch of step 5: after the step-4 checkpoint
            raise KeyboardInterrupt("killed")
        return original(self, batch)

    monkeypatch.setattr(CrossLoRABridge, "answer_logits", dying)
    with pytest.raises(KeyboardInterrupt):
        Trainer(killed, RESUME_PAIRS, resume_config(tmp_path, "resumed")).train()
    monkeypatch.setattr(CrossLoRABridge, "answer_logits", original)
    assert sorted(p.name for p in (tmp_path / "resumed" / "checkpoints").iterdir()) == ["step-0000002",
                                                                                          "step-0000004"]
    resumed = crosslora(dropout=0.1)
    assert Trainer(resumed, RESUME_PAIRS, resume_config(tmp_path, "resumed")).train().steps == 6
    a, b = weights(straight), weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], weights(crosslora(dropout=0.1))[k]) for k in a)  # it did train


def test_inspect_counts_the_paper_config_offline(capsys):
    code, out, err = run_cli(capsys, "inspect", ROOT / "configs" / "crosslora-paper.yaml")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "method     crosslora"
    assert lines[2].startswith("decoder    meta-llama/Meta-Llama-3-8B-Instruct  (llama, hidden 4096, 32 layers)  "
                               "8,030,261,248 frozen")
    # 6 experts x 32 layers x r 16 x (gate and up: 4096 + 14336; down: 14336 + 4096): the paper's 2.08%.
    assert lines[3] == "trainable  169,869,312  (2.1% of 8,200,130,560)"
    assert 6 * 32 * 16 * 3 * (4096 + 14336) == 169_869_312
