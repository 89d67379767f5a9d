"""LLINK on tiny random backbones: the stage-A loss against hand computations, the queue, slots
at exactly the reserved positions, the usage term's sign, batched == one-by-one, resumable runs."""

import json
import math

import pytest
import torch

from babelbridge.backbones import load_decoder, load_encoder
from babelbridge.bridges import (TranslationPair, build_bridge, init_from_checkpoint, load_bridge, save_bridge)
from babelbridge.bridges.llink.layers import TeacherQueue, alignment_loss, temperature_at, usage_penalty
from babelbridge.errors import BabelBridgeError, BackboneMismatchError, InputError
from babelbridge.ranking import retrieval_scores
from babelbridge.train import TrainConfig, Trainer

PAIRS = [
    TranslationPair("Guten Morgen.", "Good morning.", "deu_Latn"),
    TranslationPair("Der Hund schläft unter dem Tisch.", "The dog sleeps under the table.", "deu_Latn"),
    TranslationPair("Bonjour à tous.", "Hello everyone.", "fra_Latn"),
    TranslationPair("Wie spät ist es?", "What time is it?", "deu_Latn"),
]
SOURCES = ["Guten Morgen, wie geht es dir heute?", "Hallo", "Der Hund schläft unter dem Tisch, weil es regnet."]


def make(stage="align", encoder="bert", decoder="qwen3", **config):
    torch.manual_seed(0)
    return build_bridge("llink", load_encoder(f"tiny-random:{encoder}"), load_decoder(f"tiny-random:{decoder}"),
                        {"stage": stage, "queue_size": 16, "hard_negatives": 4, **config})


def injected(tmp_path=None, **config):
    """A stage-B bridge whose LoRA B matrices are non-zero, so LoRA changes the LLM."""
    bridge = make("inject", **config)
    with torch.no_grad():
        for name, p in bridge.trainable_named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.5)
    return bridge.eval()  # LoRA's dropout off until a test trains


# ---- stage A: the loss, by hand ------------------------------------------------------------------
def hand_nce(p, h, tau, extra=None):
    """Symmetric InfoNCE written out term by term; extra[i]: more teacher vectors for row i."""
    unit = lambda v: v / v.norm()  # noqa: E731
    p, h = [unit(v) for v in p], [unit(v) for v in h]
    s2t = t2s = 0.0
    for i in range(len(p)):
        scores = [float(p[i] @ hj) / tau for hj in h] + [float(p[i] @ unit(q)) / tau for q in (extra or {}).get(i, [])]
        s2t += -scores[i] + math.log(sum(math.exp(s) for s in scores))
        back = [float(h[i] @ pj) / tau for pj in p]
        t2s += -back[i] + math.log(sum(math.exp(s) for s in back))
    return 0.5 * (s2t + t2s) / len(p)


def fixed_vectors():
    g = torch.Generator().manual_seed(3)
    return torch.randn(3, 5, generator=g, dtype=torch.float64), torch.randn(3, 5, generator=g, dtype=torch.float64)


def test_symmetric_infonce_equals_the_hand_computation():
    p, h = fixed_vectors()
    loss, parts = alignment_loss(p, h, torch.tensor([1, 2, 3]), temperature=0.5)
    assert loss.item() == pytest.approx(hand_nce(p, h, 0.5), rel=1e-6)
    assert parts["nce"] == pytest.approx(loss.item())


def test_regularisers_add_the_weighted_mse_of_unit_vectors_and_log_norms():
    p, h = fixed_vectors()
    keys = torch.tensor([1, 2, 3])
    loss = alignment_loss(p, h, keys, temperature=0.5, mse_weight=0.05, log_norm_weight=0.02)[0]
    pu, hu = p / p.norm(dim=1, keepdim=True), h / h.norm(dim=1, keepdim=True)
    mse = ((pu - hu) ** 2).mean().item()
    log_norm = ((p.norm(dim=1).log() - h.norm(dim=1).log()) ** 2).mean().item()
    assert loss.item() == pytest.approx(hand_nce(p, h, 0.5) + 0.05 * mse + 0.02 * log_norm, rel=1e-6)


def test_queue_adds_each_querys_hardest_negatives_and_never_its_own_sentence():
    p, h = fixed_vectors()
    keys = torch.tensor([1, 2, 3])
    g = torch.Generator().manual_seed(4)
    queue = torch.nn.functional.normalize(torch.randn(6, 5, generator=g, dtype=torch.float64), dim=-1)
    queue_keys = torch.tensor([10, 11, 12, 13, 14, 15])
    loss = alignment_loss(p, h, keys, temperature=0.5, queue_vectors=queue, queue_keys=queue_keys, hard_negatives=2)[0]
    extra = {}
    for i in range(3):
        sims = [float(torch.nn.functional.normalize(p[i], dim=0) @ q) for q in queue]
        extra[i] = [queue[j] for j in sorted(range(6), key=lambda j: -sims[j])[:2]]
    assert loss.item() == pytest.approx(hand_nce(p, h, 0.5, extra), rel=1e-6)
    assert loss.item() > alignment_loss(p, h, keys, temperature=0.5)[0].item()  # negatives make it harder
    # The same sentence in the queue (an earlier step's teacher of row 0) is skipped, however similar.
    with_own = torch.cat([queue, torch.nn.functional.normalize(p[:1], dim=-1)])  # the closest possible
    one = dict(temperature=0.5, hard_negatives=2)
    own = alignment_loss(p[:1], h[:1], keys[:1], queue_vectors=with_own,
                         queue_keys=torch.cat([queue_keys, keys[:1]]), **one)[0]
    assert own.item() == alignment_loss(p[:1], h[:1], keys[:1], queue_vectors=queue, queue_keys=queue_keys, **one)[0].item()
    other = alignment_loss(p[:1], h[:1], keys[:1], queue_vectors=with_own,
                           queue_keys=torch.cat([queue_keys, torch.tensor([99])]), **one)[0]
    assert other.item() > own.item()  # under another key it is the hardest negative


def test_two_rows_of_one_sentence_are_not_each_others_negatives():
    p, h = fixed_vectors()
    loss = alignment_loss(p, h, torch.tensor([7, 7, 3]), temperature=0.5)[0]
    unit = lambda v: v / v.norm()  # noqa: E731
    total = 0.0
    for i, others in ((0, [0, 2]), (1, [1, 2]), (2, [0, 1, 2])):  # row 0 and 1 share a sentence
        s2t = [float(unit(p[i]) @ unit(h[j])) / 0.5 for j in others]
        t2s = [float(unit(h[i]) @ unit(p[j])) / 0.5 for j in others]
        own = others.index(i)
        total += 0.5 * (-s2t[own] + math.log(sum(map(math.exp, s2t))) - t2s[own] + math.log(sum(map(math.exp, t2s))))
    assert loss.item() == pytest.approx(total / 3, rel=1e-6)


def test_temperature_anneals_linearly_from_start_to_end():
    assert [round(temperature_at(s, 5, 0.17, 0.08), 6) for s in range(5)] == [0.17, 0.1475, 0.125, 0.1025, 0.08]


def test_queue_is_a_ring_that_keeps_the_newest():
    queue = TeacherQueue(4, 2)
    vectors = torch.tensor([[1.0, 0], [0, 1], [3, 4], [1, 1], [0, 2], [5, 0]])
    queue.push(vectors[:3], torch.tensor([0, 1, 2]))
    queue.push(vectors[3:], torch.tensor([3, 4, 5]))  # wraps: 4 and 5 overwrite 0 and 1
    stored, keys = queue.contents()
    assert keys.tolist() == [4, 5, 2, 3] and (queue.pointer, queue.filled) == (2, 4)
    assert torch.allclose(stored[2], torch.tensor([0.6, 0.8]))  # unit vectors
    copy = TeacherQueue(4, 2)
    copy.load(queue.state())
    assert torch.equal(copy.vectors, queue.vectors) and torch.equal(copy.keys, queue.keys)
    assert (copy.pointer, copy.filled) == (queue.pointer, queue.filled)


# ---- stage A in the bridge and the trainer --------------------------------------------------------
def test_alignment_step_trains_the_projector_only_and_queues_teachers_at_the_step_end():
    bridge = make("align")
    frozen = {n: p.detach().clone() for n, p in bridge.named_parameters() if n.startswith(("encoder.", "decoder."))}
    assert [n for n, _ in bridge.trainable_named_parameters()] == [
        "projector.up.weight", "projector.up.bias", "projector.down.weight", "projector.down.bias",
        "projector.norm.weight", "projector.norm.bias"]
    before = {n: p.detach().clone() for n, p in bridge.trainable_named_parameters()}
    optimizer = torch.optim.Adam([p for _, p in bridge.trainable_named_parameters()], lr=1e-2)
    bridge.train()
    batch = bridge.collate(PAIRS)
    bridge.begin_step(0, 10)
    bridge.loss(batch).backward()
    assert bridge.queue.filled == 0  # the step's own teachers are not its negatives
    optimizer.step()
    bridge.end_step(lambda t: t)
    assert bridge.queue.filled == len(PAIRS)
    assert all(torch.equal(p, frozen[n]) for n, p in bridge.named_parameters() if n in frozen)
    assert all(not torch.equal(p, before[n]) for n, p in bridge.trainable_named_parameters())
    # the teacher reads the English sentence: the marker right after it, inside the instruction
    before_ids, _ = bridge.prompt_parts("eng_Latn")
    row = batch["input_ids"][1, : batch["markers"][1] + 1].tolist()
    assert row == before_ids + bridge.decoder.tokenizer("The dog sleeps under the table.",
                                                        add_special_tokens=False)["input_ids"] + [bridge.placeholder_id]


def test_teacher_is_the_frozen_llm_state_at_the_marker_with_the_mean_embedding_there():
    bridge = make("align")
    text = "The dog sleeps under the table."
    ids = torch.tensor([bridge.marker_prompt(text, "eng_Latn")])
    embeds = bridge.decoder.embed(ids).clone()
    weight = bridge.decoder.model.get_input_embeddings().weight
    embeds[0, -1] = weight.mean(0)
    expected = bridge.decoder.model(inputs_embeds=embeds, output_hidden_states=True).hidden_states[-1][0, -1]
    assert torch.allclose(bridge.teacher_vectors([text])[0], expected, atol=1e-6)


def test_placeholder_token_must_be_one_token():
    assert make("align", placeholder="<|im_start|>").placeholder_id == \
        load_decoder("tiny-random:qwen3").tokenizer.convert_tokens_to_ids("<|im_start|>")
    with pytest.raises(BabelBridgeError, match="'ab' is 2 tokens .* must be exactly one"):
        make("align", placeholder="ab")


def train_config(tmp_path, name, **overrides):
    values = dict(output_dir=str(tmp_path / name), lr=5e-3, global_batch_size=4, micro_batch_size=2,
                  max_steps=6, save_every=2, keep_last=2, schedule="linear", warmup_steps=1, optimizer="adamw")
    return TrainConfig(**{**values, **overrides})


TRAIN = [TranslationPair(f"Satz {i}: " + "ab" * (i % 5), f"Sentence {i % 7}", "deu_Latn") for i in range(24)]


def test_killed_alignment_run_resumes_to_bit_identical_weights_and_queue(tmp_path, monkeypatch):
    straight = make("align")
    Trainer(straight, TRAIN, train_config(tmp_path, "straight")).train()
    killed = make("align")
    calls = {"n": 0}
    original = type(killed).loss

    def dying_loss(self, batch):
        calls["n"] += 1
        if calls["n"] == 4 * 2 + 1:  # the first micro-batch of step 5: the step-4 checkpoint is the last
            raise KeyboardInterrupt("killed")
        return original(self, batch)

    monkeypatch.setattr(type(killed), "loss", dying_loss)
    with pytest.raises(KeyboardInterrupt):
        Trainer(killed, TRAIN, train_config(tmp_path, "killed")).train()
    monkeypatch.undo()
    resumed = make("align")
    Trainer(resumed, TRAIN, train_config(tmp_path, "killed")).train()
    for (n, a), (_, b) in zip(straight.trainable_named_parameters(), resumed.trainable_named_parameters()):
        assert torch.equal(a, b), n
    assert straight.queue.filled == resumed.queue.filled == 16  # 6 steps x 4 pairs, 16 kept
    assert torch.equal(straight.queue.vectors, resumed.queue.vectors)
    assert torch.equal(straight.queue.keys, resumed.queue.keys)
    assert straight.queue.pointer == resumed.queue.pointer


def test_alignment_validation_logs_retrieval(tmp_path):
    Trainer(make("align"), TRAIN, train_config(tmp_path, "run", max_steps=2, eval_every=2),
            valid_pairs=TRAIN[:6]).train()
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    validation = [r for r in records if "val_loss" in r]
    assert len(validation) == 1 and {"val_r@1", "val_mrr", "source_gap"} <= set(validation[0])


# ---- stage B -----------------------------------------------------------------------------------
def test_stage_b_starts_from_stage_a_projector_and_checks_the_backbones(tmp_path):
    align = make("align")
    with torch.no_grad():
        align.projector.up.weight.add_(1.0)
    save_bridge(align, tmp_path / "a")
    inject = make("inject")
    init_from_checkpoint(inject, tmp_path / "a")
    assert torch.equal(inject.projector.up.weight, align.projector.up.weight)
    assert not any(p.requires_grad for p in inject.projector.parameters())  # held fixed by default
    other = make("inject", decoder="llama")
    with pytest.raises(BackboneMismatchError, match="tiny-random:qwen3.*tiny-random:llama"):
        init_from_checkpoint(other, tmp_path / "a")


def capture_inputs_embeds(bridge):
    seen = []

    def hook(module, args, kwargs):
        seen.append(kwargs["inputs_embeds"].detach().clone())

    return seen, bridge.decoder.model.get_decoder().register_forward_pre_hook(hook, with_kwargs=True)


def test_slots_enter_at_exactly_the_reserved_positions_and_backbones_stay_bit_identical():
    bridge = injected()
    backbone = {n: p.detach().clone() for n, p in bridge.named_parameters()
                if n.startswith(("encoder.", "decoder.")) and "lora_" not in n}
    own = {n: p.detach().clone() for n, p in bridge.trainable_named_parameters() if p.requires_grad}
    bridge.train()
    batch = bridge.collate(PAIRS)
    seen, handle = capture_inputs_embeds(bridge)
    bridge.begin_step(1, 10)  # not a usage step: one forward
    loss = bridge.loss(batch)
    handle.remove()
    embeds = seen[0]
    start = len(bridge.prompt_parts("eng_Latn")[0])
    k = bridge.config.num_slots
    slots = bridge.slots(bridge.project(batch["source_ids"], batch["source_mask"])).detach()
    assert batch["reserved"].sum(dim=1).tolist() == [k] * len(PAIRS)
    assert torch.equal(embeds[:, start : start + k], slots)
    plain = bridge.decoder.embed(batch["input_ids"])
    outside = ~batch["reserved"]
    assert torch.equal(embeds[outside], plain[outside])
    optimizer = torch.optim.Adam([p for _, p in bridge.trainable_named_parameters() if p.requires_grad], lr=1e-2)
    loss.backward()
    optimizer.step()
    after = dict(bridge.named_parameters())
    assert all(torch.equal(after[n], v) for n, v in backbone.items())  # the embedding matrix among them
    moved = [n for n, v in own.items() if not torch.equal(after[n], v)]
    assert "slots.scale" in moved and any("lora_A" in n for n in moved)


def test_usage_penalty_is_zero_when_the_slots_help_and_lowers_l_sft_when_they_hurt():
    helps = usage_penalty(torch.tensor(1.0, requires_grad=True), torch.tensor(2.0), 0.05)
    assert helps.item() == 0.0
    l_sft, l_zero = torch.tensor(2.0, requires_grad=True), torch.tensor(1.5, requires_grad=True)
    hurts = usage_penalty(l_sft, l_zero, 0.05)
    assert hurts.item() == pytest.approx(0.025)
    hurts.backward()
    # descent lowers L_SFT (+w) and raises L_zero (-w); the public code's max(0, L_zero - L_SFT)
    # would be 0 here and push the other way when the slots help.
    assert (l_sft.grad.item(), l_zero.grad.item()) == (pytest.approx(0.05), pytest.approx(-0.05))


def test_usage_term_runs_every_nth_step_with_l_zero_as_a_constant(monkeypatch):
    bridge = injected(usage_every=3, usage_weight=0.5, lora_dropout=0.0)
    bridge.train()
    batch = bridge.collate(PAIRS[:2])
    calls = []
    original = type(bridge).loss_without_slots
    monkeypatch.setattr(type(bridge), "loss_without_slots",
                        lambda self, b: calls.append(self._step) or original(self, b))
    for step in range(7):
        bridge.begin_step(step, 7)
        bridge.loss(batch)
    assert calls == [0, 3, 6]
    # with L_zero below L_SFT the term is active: the loss is (1 + w) L_SFT - w L_zero, and as
    # L_zero carries no gradient, every gradient is (1 + w) times L_SFT's.
    monkeypatch.setattr(type(bridge), "loss_without_slots", lambda self, b: torch.tensor(0.0))
    params = [p for _, p in bridge.trainable_named_parameters() if p.requires_grad]
    bridge.begin_step(1, 7)
    plain = torch.autograd.grad(bridge.loss(batch), params)
    bridge.begin_step(3, 7)
    total = bridge.loss(batch)
    assert total.item() == pytest.approx(1.5 * bridge.injection_loss(batch, usage=False).item(), rel=1e-6)
    enforced = torch.autograd.grad(total, params)
    assert all(torch.allclose(e, 1.5 * g, atol=1e-6) for e, g in zip(enforced, plain))
    monkeypatch.undo()
    assert not bridge.loss_without_slots(batch).requires_grad  # usage_zero_grad=False: a constant
    assert injected(usage_zero_grad=True).train().loss_without_slots(batch).requires_grad  # the public code's


def test_l_zero_is_the_loss_with_the_placeholder_where_the_slots_were():
    bridge = injected()
    batch = bridge.collate(PAIRS[:2])
    seen, handle = capture_inputs_embeds(bridge)
    bridge.loss_without_slots(batch)
    handle.remove()
    reserved = batch["reserved"]
    weight = bridge.decoder.model.get_input_embeddings().weight
    assert torch.allclose(seen[0][reserved], weight.mean(0).expand(int(reserved.sum()), -1))


def test_teachers_ignore_lora_in_stage_b():
    a, b = make("align"), injected()
    texts = ["Good morning.", "The dog sleeps."]
    assert torch.equal(a.teacher_vectors(texts), b.teacher_vectors(texts))


# ---- generation, padding, checkpoints -----------------------------------------------------------
@pytest.mark.parametrize("encoder,decoder", [("bert", "qwen3"), ("m2m100", "llama")])
def test_batched_generation_equals_one_by_one(encoder, decoder):
    bridge = injected(encoder=encoder, decoder=decoder)
    for beams in (1, 2):
        batched = bridge.generate_token_ids(SOURCES, "deu_Latn", "eng_Latn", max_new_tokens=8, num_beams=beams)
        single = [bridge.generate_token_ids([s], "deu_Latn", "eng_Latn", max_new_tokens=8, num_beams=beams)[0]
                  for s in SOURCES]
        assert batched == single
    assert len({tuple(r) for r in batched}) > 1  # the sources make a difference


def test_encoder_padding_never_changes_the_sentence_vector():
    bridge = injected()
    alone = bridge.source_vectors(["Hallo"], "deu_Latn")
    padded = bridge.source_vectors(["Hallo", SOURCES[2]], "deu_Latn")[:1]  # padded to the long one's length
    assert torch.allclose(alone, padded, atol=1e-6)


def test_stage_b_checkpoint_round_trip_translates_the_same(tmp_path):
    bridge = injected()
    bridge.eval()
    expected = bridge.translate(SOURCES, "deu_Latn", max_new_tokens=6)
    save_bridge(bridge, tmp_path / "b")
    loaded = load_bridge(tmp_path / "b")
    assert loaded.translate(SOURCES, "deu_Latn", max_new_tokens=6) == expected
    assert loaded.translate(SOURCES, "de", max_new_tokens=6) != [""] * 3


def test_stage_a_bridge_refuses_to_translate():
    with pytest.raises(InputError, match="stage-A .* train stage B from it"):
        make("align").translate(["Hallo"], "deu_Latn")


def test_config_errors_say_what_is_accepted():
    with pytest.raises(BabelBridgeError, match="instruction must hold \\{source\\} exactly once"):
        make("align", instruction="Translate to {tgt_name}.")
    with pytest.raises(BabelBridgeError, match="stage must be one of align, inject"):
        make("train")


def test_prompt_around_splits_the_chat_prompt_at_the_slot():
    decoder = load_decoder("tiny-random:qwen3")
    before, after = decoder.prompt_around("Translate this: {source} now", "{source}")
    text = decoder.tokenizer("Hallo Welt", add_special_tokens=False)["input_ids"]
    assert before + text + after == decoder.prompt_ids("Translate this: Hallo Welt now")


# ---- retrieval scores ----------------------------------------------------------------------------
def test_retrieval_scores_by_hand():
    queries = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    candidates = torch.tensor([[1.0, 0.1], [1.0, 0.0], [1.0, 1.0]])
    # q0: own 0.995, c1 1.0 is closer -> rank 2; q1: c0 0.0995 beats own 0.0 and c2 0.707 -> rank 3;
    # q2: own is the exact match -> rank 1
    scores = retrieval_scores(queries, candidates)
    assert scores["r@1"] == pytest.approx(1 / 3) and scores["r@5"] == 1.0
    assert scores["mrr"] == pytest.approx((1 / 2 + 1 / 3 + 1) / 3)
    assert scores["mean_rank"] == pytest.approx(2.0)
    tie = retrieval_scores(torch.tensor([[1.0, 0.0]] * 2), torch.tensor([[1.0, 0.0]] * 2))
    assert tie["r@1"] == 1.0  # an identical candidate (the same sentence twice) never pushes the answer down


# ---- babelbridge retrieval ------------------------------------------------------------------
def test_retrieval_command_scores_caches_and_names_what_it_accepts(tmp_path, capsys):
    from babelbridge.cli.main import main

    save_bridge(make("align"), tmp_path / "a")
    test = tmp_path / "test.tsv"
    test.write_text("".join(f"Satz {i} ist hier\tSentence {i} is here\n" for i in range(12)))
    args = ["retrieval", "--bridge", f"a={tmp_path / 'a'}", "--testset", f"tsv:{test}", "--langs", "de",
            "--out", str(tmp_path / "out")]
    assert main(args) == 0
    table = capsys.readouterr().out
    assert "| the LLM reading the source itself (before) | deu_Latn | 12 |" in table
    assert "| untrained projector (chance) | deu_Latn | 12 |" in table
    rows = json.loads((tmp_path / "out" / "retrieval.json").read_text())["rows"]
    assert [r["row"] for r in rows] == ["before", "chance", "a"]
    assert rows[0]["inflation"] == pytest.approx(rows[0]["llm_tokens_source"] / rows[0]["llm_tokens_english"])
    assert main(args) == 0  # again: every score from the cache, no model loaded
    assert "loading" not in capsys.readouterr().err
    hca = build_bridge("hca", load_encoder("tiny-random:bert"), load_decoder("tiny-random:qwen3"), {"bottleneck_dim": 4})
    save_bridge(hca, tmp_path / "h")
    assert main(["retrieval", "--bridge", str(tmp_path / "h"), "--testset", f"tsv:{test}", "--langs", "de",
                 "--no-reference-rows"]) == 2
    assert "h (hca) has no sentence vectors to retrieve with; retrieval takes LLINK bridges" in capsys.readouterr().err
    assert main(args[:-2] + ["--limit", "1"]) == 2
    assert "--limit must be at least 2" in capsys.readouterr().err


def test_demo_shows_the_llm_alone_with_the_bridges_lora_switched_off(tmp_path, monkeypatch, capsys):
    from babelbridge.cli.main import main
    from babelbridge.data import bible

    bridge = injected()
    save_bridge(bridge, tmp_path / "b")
    monkeypatch.setattr(bible, "verses", lambda lang, refs: [f"Vers {lang} {i}" for i, _ in enumerate(refs)])
    assert main(["demo", "--bridge", str(tmp_path / "b"), "--langs", "de", "--max-new-tokens", "5"]) == 0
    out = capsys.readouterr().out
    plain = build_bridge("prompted", None, load_decoder("tiny-random:qwen3"), {})
    alone = plain.translate(["Vers deu_Latn 0"], "deu_Latn", max_new_tokens=5)[0]
    assert f"   LLM alone   {alone}\n" in out
    with_lora = build_bridge("prompted", None, bridge.decoder, {}).translate(["Vers deu_Latn 0"], "deu_Latn",
                                                                             max_new_tokens=5)[0]
    assert with_lora != alone  # so the line above tells the two apart
