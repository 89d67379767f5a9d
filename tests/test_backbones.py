"""Backbones: spec parsing, loading from a local directory through the real hub code path,
encoder tokenisation (language tokens, padding, over-long sources), decoder prompts, the
meta device at the papers' sizes, and fingerprints. No network: nothing loads a hub id."""

import pytest
import torch

from babelbridge.backbones import (
    BackboneSpec,
    count_parameters,
    fingerprint,
    load_decoder,
    load_encoder,
)
from babelbridge.backbones.known_shapes import KNOWN_SHAPES, known_config
from babelbridge.backbones.tiny import IM_END, IM_START, tiny_decoder, tiny_encoder
from babelbridge.errors import InputError


def assert_frozen(backbone):
    assert all(not p.requires_grad for p in backbone.parameters())
    assert all(not m.training for m in backbone.model.modules())


# ---- 1. BackboneSpec.parse ---------------------------------------------------------------


def test_parse_hub_id():
    spec = BackboneSpec.parse("Qwen/Qwen3-4B")
    assert spec == BackboneSpec("hub", "Qwen/Qwen3-4B", None)


def test_parse_strips_whitespace():
    assert BackboneSpec.parse("  Qwen/Qwen3-4B \n") == BackboneSpec("hub", "Qwen/Qwen3-4B")


def test_parse_gguf_file_path():
    spec = BackboneSpec.parse("/x/y/model.Q4.gguf")
    assert (spec.kind, spec.name, spec.gguf_file) == ("gguf", "/x/y", "model.Q4.gguf")


def test_parse_relative_gguf_path_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = BackboneSpec.parse("model.gguf")
    assert (spec.kind, spec.name, spec.gguf_file) == ("gguf", str(tmp_path), "model.gguf")


def test_parse_explicit_gguf_file():
    spec = BackboneSpec.parse("/models/dir", gguf_file="m.Q8_0.gguf")
    assert spec == BackboneSpec("gguf", "/models/dir", "m.Q8_0.gguf")


def test_parse_tiny_random_and_random():
    assert BackboneSpec.parse("tiny-random:qwen3") == BackboneSpec("tiny-random", "qwen3")
    assert BackboneSpec.parse("random:Qwen/Qwen3-4B") == BackboneSpec("random", "Qwen/Qwen3-4B")


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_parse_empty_spec_says_what_is_accepted(bad):
    with pytest.raises(ValueError) as info:
        BackboneSpec.parse(bad)
    message = str(info.value)
    assert message.startswith(f"empty backbone spec {bad!r}")
    assert "hub id" in message and "path" in message and "tiny-random:<arch>" in message


@pytest.mark.parametrize(
    "text", ["Qwen/Qwen3-4B", "/x/y/model.Q4.gguf", "tiny-random:qwen3", "random:Qwen/Qwen3-4B", "/local/dir"]
)
def test_str_round_trips(text):
    spec = BackboneSpec.parse(text)
    assert str(spec) == text
    assert BackboneSpec.parse(str(spec)) == spec


def test_str_round_trips_hub_gguf_spec():
    spec = BackboneSpec.parse("TheBloke/TinyLlama-GGUF", gguf_file="tinyllama.Q4_K_M.gguf")
    assert spec == BackboneSpec("gguf", "TheBloke/TinyLlama-GGUF", "tinyllama.Q4_K_M.gguf")
    assert BackboneSpec.parse(str(spec)) == spec


def test_gguf_spec_is_refused_as_encoder():
    with pytest.raises(ValueError, match=r"^gguf backbones cannot be used as encoders: /x/y/m\.gguf$"):
        load_encoder("/x/y/m.gguf")


# ---- 2. loading a local directory through the hub code path --------------------------------


@pytest.fixture(scope="module")
def saved_llama(tmp_path_factory):
    model, tokenizer = tiny_decoder("llama")
    path = tmp_path_factory.mktemp("llama")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return model.eval(), tokenizer, path


@pytest.fixture(scope="module")
def saved_bert(tmp_path_factory):
    model, tokenizer = tiny_encoder("bert")
    path = tmp_path_factory.mktemp("bert")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return model.eval(), tokenizer, path


@pytest.fixture(scope="module")
def saved_nllb(tmp_path_factory):
    """A full M2M100Model (encoder and decoder) saved with the tiny NLLB-style tokenizer."""
    from transformers import M2M100Model

    encoder, tokenizer = tiny_encoder("m2m100")
    torch.manual_seed(7)  # weights differ from tiny-random:m2m100's
    full = M2M100Model(encoder.config).eval()
    path = tmp_path_factory.mktemp("nllb")
    full.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return full, tokenizer, path


def test_decoder_from_local_dir_equals_in_process_model(saved_llama):
    model, tokenizer, path = saved_llama
    decoder = load_decoder(str(path))
    assert decoder.spec == BackboneSpec("hub", str(path))
    ids = torch.tensor([decoder.prompt_ids("Translate this sentence to English.") + [70, 71, 72]])
    with torch.no_grad():
        got = decoder.model(input_ids=ids).logits
        want = model(input_ids=ids).logits
    assert torch.equal(got, want)
    assert decoder.identity()["fingerprint"] == load_decoder("tiny-random:llama").identity()["fingerprint"]
    assert decoder.identity()["fingerprint"] == fingerprint(model.config, tokenizer)
    assert decoder.identity()["parameters"] == count_parameters(model)
    assert (decoder.num_layers, decoder.hidden_size) == (2, 32)
    assert decoder.stop_token_ids == [tokenizer.convert_tokens_to_ids(IM_END)]
    assert_frozen(decoder)


def test_decoder_from_local_dir_keeps_chat_template_prompt(saved_llama):
    _, _, path = saved_llama
    instruction = "Translate this sentence to German."
    assert load_decoder(str(path)).prompt_ids(instruction) == load_decoder("tiny-random:llama").prompt_ids(instruction)


def test_encoder_from_local_dir_equals_in_process_model(saved_bert):
    model, tokenizer, path = saved_bert
    encoder = load_encoder(str(path))
    assert encoder.model_type == "bert" and encoder.hidden_size == 24
    batch = encoder.tokenize(["Guten Morgen", "Hallo"], ["deu_Latn", "deu_Latn"])
    assert torch.equal(batch["input_ids"], load_encoder("tiny-random:bert").tokenize(
        ["Guten Morgen", "Hallo"], ["deu_Latn", "deu_Latn"])["input_ids"])
    with torch.no_grad():
        got = encoder(batch["input_ids"], batch["attention_mask"])
        want = model(**batch).last_hidden_state
    assert got.shape == (2, len("Guten Morgen") + 2, 24)
    assert torch.equal(got, want)
    assert encoder.identity()["fingerprint"] == load_encoder("tiny-random:bert").identity()["fingerprint"]
    assert encoder.identity()["fingerprint"] == fingerprint(model.config, tokenizer)
    assert_frozen(encoder)


def test_nllb_local_dir_loads_the_encoder_half(saved_nllb):
    full, tokenizer, path = saved_nllb
    encoder = load_encoder(str(path))
    assert type(encoder.model).__name__ == "M2M100Encoder"
    assert encoder.identity()["parameters"] == count_parameters(full.get_encoder())
    assert encoder.identity()["parameters"] < count_parameters(full)
    batch = encoder.tokenize(["Der Hund schläft.", "Hallo"], ["deu_Latn", "deu_Latn"])
    with torch.no_grad():
        got = encoder(batch["input_ids"], batch["attention_mask"])
        want = full.get_encoder()(**batch).last_hidden_state
        other = load_encoder("tiny-random:m2m100")(batch["input_ids"], batch["attention_mask"])
    assert torch.equal(got, want)
    assert not torch.allclose(got, other)  # the saved weights were loaded, not the tiny seed's
    assert encoder.identity()["fingerprint"] == load_encoder("tiny-random:m2m100").identity()["fingerprint"]
    assert_frozen(encoder)


def test_bfloat16_from_local_dir(saved_llama, saved_nllb):
    decoder = load_decoder(str(saved_llama[2]), dtype="bfloat16")
    encoder = load_encoder(str(saved_nllb[2]), dtype="bfloat16")
    assert {p.dtype for p in decoder.parameters()} == {torch.bfloat16}
    assert {p.dtype for p in encoder.parameters()} == {torch.bfloat16}
    assert_frozen(decoder)
    assert_frozen(encoder)


def test_bfloat16_tiny_random():
    assert {p.dtype for p in load_decoder("tiny-random:qwen3", dtype="bfloat16").parameters()} == {torch.bfloat16}
    assert {p.dtype for p in load_encoder("tiny-random:bert", dtype="bfloat16").parameters()} == {torch.bfloat16}


def test_unknown_dtype_lists_accepted():
    with pytest.raises(ValueError, match=r"^unknown dtype 'fp16'; accepted: auto, float32, bfloat16, float16$"):
        load_decoder("tiny-random:qwen3", dtype="fp16")


def test_unknown_tiny_arch_lists_accepted():
    with pytest.raises(ValueError, match=r"unknown tiny-random decoder 'gpt2'; accepted: qwen3, qwen2, llama$"):
        load_decoder("tiny-random:gpt2")
    with pytest.raises(ValueError, match=r"unknown tiny-random encoder 'nllb'; accepted: m2m100, bert, xlm-roberta, mt5$"):
        load_encoder("tiny-random:nllb")


# ---- 3. NLLB-style language tokens, padding --------------------------------------------


@pytest.fixture(scope="module")
def nllb():
    return load_encoder("tiny-random:m2m100")


@pytest.fixture(scope="module")
def bert():
    return load_encoder("tiny-random:bert")


def body(encoder, text):
    return encoder.tokenizer(text, add_special_tokens=False)["input_ids"]


def test_nllb_prefixes_language_token_and_ends_with_eos(nllb):
    tok = nllb.tokenizer
    ids = nllb.tokenize(["Hallo"], ["deu_Latn"])["input_ids"][0].tolist()
    assert ids[0] == tok.convert_tokens_to_ids("deu_Latn")
    assert ids[0] != tok.unk_token_id
    assert ids[-1] == tok.eos_token_id == 2
    assert ids == [tok.convert_tokens_to_ids("deu_Latn")] + body(nllb, "Hallo") + [2]
    assert tok.decode(ids[1:-1]) == "Hallo"


@pytest.mark.parametrize("alias", ["de", "deu", "German", "DEU_LATN"])
def test_nllb_language_aliases_give_same_ids(nllb, alias):
    want = nllb.tokenize(["Hallo"], ["deu_Latn"])
    got = nllb.tokenize(["Hallo"], [alias])
    assert torch.equal(got["input_ids"], want["input_ids"])
    assert torch.equal(got["attention_mask"], want["attention_mask"])


def test_nllb_unknown_language_names_closest_code(nllb):
    with pytest.raises(ValueError, match=r"unknown language code 'deu_Latm'; closest valid codes: deu_Latn"):
        nllb.tokenize(["Hallo"], ["deu_Latm"])


def test_bert_has_bos_eos_and_no_language_token(bert):
    tok = bert.tokenizer
    assert bert.language_token_id("deu_Latn") is None
    ids = bert.tokenize(["Hallo"], ["deu_Latn"])["input_ids"][0].tolist()
    assert ids == [tok.convert_tokens_to_ids("<s>")] + body(bert, "Hallo") + [tok.convert_tokens_to_ids("</s>")]
    assert (ids[0], ids[-1]) == (0, 2)
    # The source language changes nothing for an encoder without language tokens.
    assert ids == bert.tokenize(["Hallo"], ["fra_Latn"])["input_ids"][0].tolist()


def test_mixed_language_batch_right_padded(nllb):
    tok = nllb.tokenizer
    texts = ["Hallo", "Bonjour tout le monde", "Grüße"]
    langs = ["deu_Latn", "fra_Latn", "de"]
    batch = nllb.tokenize(texts, langs)
    rows = [[tok.convert_tokens_to_ids(code)] + body(nllb, t) + [2]
            for t, code in zip(texts, ["deu_Latn", "fra_Latn", "deu_Latn"])]
    width = max(map(len, rows))
    assert nllb.pad_token_id == 1
    want_ids = torch.tensor([r + [1] * (width - len(r)) for r in rows])
    want_mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    assert torch.equal(batch["input_ids"], want_ids)
    assert torch.equal(batch["attention_mask"], want_mask)
    assert batch["input_ids"][0, 0] != batch["input_ids"][1, 0]
    assert tok.decode(rows[2][1:-1]) == "Grüße"  # non-ASCII round-trips through the byte tokenizer


# ---- 4. over-long sources ---------------------------------------------------------------


def test_over_long_source_raises_with_index_and_limit(nllb):
    with pytest.raises(InputError, match=r"^source 1 is 602 tokens long; the limit is 512 \(shorten it or pass truncate=True\)$"):
        nllb.tokenize(["kurz", "x" * 600], ["deu_Latn", "deu_Latn"])


def test_explicit_max_length_is_the_limit(nllb):
    with pytest.raises(InputError, match=r"^source 0 is 22 tokens long; the limit is 8 "):
        nllb.tokenize(["x" * 20], ["deu_Latn"], max_length=8)
    nllb.tokenize(["x" * 6], ["deu_Latn"], max_length=8)  # exactly at the limit: fine


def test_max_length_cannot_exceed_the_model_limit(nllb):
    with pytest.raises(InputError, match=r"the limit is 512 "):
        nllb.tokenize(["x" * 600], ["deu_Latn"], max_length=10_000)


def test_truncate_keeps_language_token_and_eos(nllb):
    lang = nllb.tokenizer.convert_tokens_to_ids("deu_Latn")
    batch = nllb.tokenize(["kurz", "x" * 20], ["deu_Latn", "deu_Latn"], max_length=8, truncate=True)
    row = batch["input_ids"][1].tolist()
    assert len(row) == 8 and batch["input_ids"].shape == (2, 8)
    assert row == [lang] + body(nllb, "x" * 6) + [2]
    assert batch["input_ids"][0].tolist() == [lang] + body(nllb, "kurz") + [2, 1, 1]
    full = nllb.tokenize(["x" * 600], ["deu_Latn"], truncate=True)["input_ids"]
    assert full.shape == (1, 512) and full[0, 0] == lang and full[0, -1] == 2


def test_truncate_bert_keeps_closing_token(bert):
    row = bert.tokenize(["abcdefghij"], ["deu_Latn"], max_length=5, truncate=True)["input_ids"][0].tolist()
    assert row == [0] + body(bert, "abc") + [2]


def test_xlm_roberta_source_at_the_limit_runs():
    encoder = load_encoder("tiny-random:xlm-roberta")
    batch = encoder.tokenize(["x" * 600], ["deu_Latn"], truncate=True)
    with torch.no_grad():
        out = encoder(batch["input_ids"], batch["attention_mask"])
    assert out.shape[1] == batch["input_ids"].shape[1]


# ---- 5. decoder prompts -----------------------------------------------------------------


@pytest.fixture
def qwen3():
    return load_decoder("tiny-random:qwen3")


def test_prompt_ids_use_the_chat_template(qwen3):
    tok = qwen3.tokenizer
    ids = qwen3.prompt_ids("Translate this sentence to English.")
    assert tok.decode(ids) == (
        "<|im_start|>user\nTranslate this sentence to English.<|im_end|>\n<|im_start|>assistant\n"
    )
    start, end = tok.convert_tokens_to_ids(IM_START), tok.convert_tokens_to_ids(IM_END)
    assert ids[0] == start and ids.count(start) == 2 and ids.count(end) == 1  # special tokens, not bytes


def test_target_ids_end_with_end_of_turn(qwen3):
    tok = qwen3.tokenizer
    end = tok.convert_tokens_to_ids(IM_END)
    assert qwen3.eos_token_id == end
    ids = qwen3.target_ids("Good morning")
    assert ids == tok("Good morning", add_special_tokens=False)["input_ids"] + [end]
    assert tok.decode(ids) == "Good morning<|im_end|>"
    assert qwen3.stop_token_ids == [end]


def test_prompt_without_chat_template_is_plain_instruction_line(qwen3):
    qwen3.tokenizer.chat_template = None
    ids = qwen3.prompt_ids("Translate this sentence to English.")
    assert qwen3.tokenizer.decode(ids) == "Translate this sentence to English.\n"
    assert qwen3.tokenizer.convert_tokens_to_ids(IM_START) not in ids


# ---- 6. random: specs and the meta device ---------------------------------------------------


def test_random_qwen3_4b_on_meta_device():
    decoder = load_decoder("random:Qwen/Qwen3-4B", device="meta")
    assert (decoder.num_layers, decoder.hidden_size) == (36, 2560)
    assert decoder.model.config.model_type == "qwen3"
    assert count_parameters(decoder.model) == 4_022_468_096
    assert {p.device.type for p in decoder.parameters()} == {"meta"}


def test_known_hub_encoder_on_meta_device_needs_no_network():
    encoder = load_encoder("facebook/nllb-200-1.3B", device="meta")
    assert encoder.spec == BackboneSpec("hub", "facebook/nllb-200-1.3B")
    assert (encoder.model_type, encoder.hidden_size) == ("m2m_100", 1024)
    assert type(encoder.model).__name__ == "M2M100Encoder"
    assert count_parameters(encoder.model) == 766_091_264
    assert {p.device.type for p in encoder.parameters()} == {"meta"}


def test_known_config_of_unknown_name_lists_known_names():
    with pytest.raises(ValueError) as info:
        known_config("acme/gpt-9")
    message = str(info.value)
    assert message.startswith("no shipped architecture for 'acme/gpt-9'; known: ")
    assert message.endswith(", ".join(sorted(KNOWN_SHAPES)))
    with pytest.raises(ValueError, match="no shipped architecture for 'acme/gpt-9'"):
        load_decoder("random:acme/gpt-9", device="meta")


# ---- 7. fingerprints --------------------------------------------------------------------


def test_fingerprint_changes_with_architecture():
    model, tokenizer = tiny_decoder("qwen3")
    base = fingerprint(model.config, tokenizer)
    values = {k: v for k, v in model.config.to_dict().items() if k != "layer_types"}
    deeper = model.config.__class__.from_dict({**values, "num_hidden_layers": 3})
    assert deeper.num_hidden_layers == 3
    assert fingerprint(deeper, tokenizer) != base
    same = model.config.__class__.from_dict(model.config.to_dict())
    assert fingerprint(same, tokenizer) == base


def test_fingerprint_changes_with_vocab_and_chat_template():
    model, tokenizer = tiny_decoder("qwen3")
    base = fingerprint(model.config, tokenizer)
    tokenizer.chat_template = None
    assert fingerprint(model.config, tokenizer) != base
    model, tokenizer = tiny_decoder("qwen3")
    tokenizer.add_tokens(["<extra_token>"])
    assert fingerprint(model.config, tokenizer) != base


def test_fingerprint_differs_between_architectures():
    prints = {load_decoder(f"tiny-random:{a}").identity()["fingerprint"] for a in ("qwen3", "qwen2", "llama")}
    assert len(prints) == 3


def test_fingerprint_ignores_dtype_and_load_path(saved_llama):
    want = load_decoder("tiny-random:llama").identity()["fingerprint"]
    assert load_decoder("tiny-random:llama", dtype="bfloat16").identity()["fingerprint"] == want
    assert load_decoder(str(saved_llama[2]), dtype="bfloat16").identity()["fingerprint"] == want
    assert load_encoder("tiny-random:bert", dtype="bfloat16").identity()["fingerprint"] == \
        load_encoder("tiny-random:bert").identity()["fingerprint"]


def test_tiny_random_is_deterministic_across_loads():
    a, b = load_decoder("tiny-random:qwen3"), load_decoder("tiny-random:qwen3")
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_system_prompt_replaces_the_templates_default_turn():
    from babelbridge.backbones import load_decoder

    decoder = load_decoder("tiny-random:qwen3")
    text = lambda ids: decoder.tokenizer.decode(ids)  # noqa: E731
    assert text(decoder.prompt_ids("Translate.")) == "<|im_start|>user\nTranslate.<|im_end|>\n<|im_start|>assistant\n"
    assert text(decoder.prompt_ids("Translate.", "")) == (
        "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nTranslate.<|im_end|>\n<|im_start|>assistant\n")
