"""LMT's Parallel Multilingual Prompting (PMP) in the bridges that read the source in their prompt
(prompted, lora, crosslora): the PMP prompt, training on pivots, PMP-O / PMP-S inference, the CLI, errors.

Which auxiliary language a direction gets is tested in tests/test_pmp_auxiliary.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from babelbridge.backbones import load_decoder, load_encoder
from babelbridge.bridges import METHODS, TranslationPair, build_bridge, save_bridge, save_prompted_baseline
from babelbridge.bridges.prompted.config import PMP_TEMPLATE
from babelbridge.cli import main as cli_main
from babelbridge.cli import checks
from babelbridge.errors import BabelBridgeError, InputError
from babelbridge.languages.auxiliary import pmp_auxiliary
from babelbridge.textio import one_line
from babelbridge.train import TrainConfig, Trainer

TEXTS = ["Hallo", "Guten Morgen, wie geht es dir heute?", "Der Hund schläft unter dem Tisch, weil es regnet."]
AUX = ["Hallo", "Goedemorgen, hoe gaat het vandaag met je?", "De hond slaapt onder de tafel, omdat het regent."]
MNT = 6  # max_new_tokens: the tiny random decoder rarely stops by itself
ROOT = Path(__file__).resolve().parents[1]
PMP_PROMPT_DE_EN = ("Translate the following text from German into English:\nGerman: Guten Morgen.\n"
                    "Dutch: Goedemorgen.\nEnglish:")


def prompted(decoder="qwen3", **config):
    return build_bridge("prompted", None, load_decoder(f"tiny-random:{decoder}"), {"pmp": True, **config})


def lora(**config):
    torch.manual_seed(0)
    return build_bridge("lora", None, load_decoder("tiny-random:qwen3"), {"r": 4, "pmp": True, **config})


def no_generation(bridge, monkeypatch):
    """Any generation from here on fails the test: errors must come before any work."""
    def fail(*args, **kwargs):
        raise AssertionError("generation ran before the inputs were checked")

    monkeypatch.setattr(bridge, "generate_token_ids", fail)


# ---- the prompt ------------------------------------------------------------------------------------


def test_the_auxiliary_sentence_stands_where_pmp_template_puts_it():
    bridge = prompted()
    ids = bridge.prompt_ids("Guten Morgen.", "de", "en", aux_text="Goedemorgen.", aux_lang="nl")
    assert PMP_TEMPLATE.format(text="Guten Morgen.", src_name="German", tgt_name="English", aux_name="Dutch",
                               aux_text="Goedemorgen.", src_code="", tgt_code="", aux_code="") == PMP_PROMPT_DE_EN
    assert ids == bridge.decoder.prompt_ids(PMP_PROMPT_DE_EN)
    # Without an auxiliary sentence (None or blank): LMT's plain prompt.
    plain = bridge.decoder.prompt_ids("Translate the following text from German into English:\n"
                                      "German: Guten Morgen.\nEnglish:")
    assert bridge.prompt_ids("Guten Morgen.", "de", "en") == plain
    assert bridge.prompt_ids("Guten Morgen.", "de", "en", aux_text="  ", aux_lang="nl") == plain
    # A template of one's own: the auxiliary first, by code.
    custom = prompted(pmp_template="{aux_code}: {aux_text}\n{src_code}: {text}\n{tgt_code}:")
    assert custom.prompt_ids("Guten Morgen.", "de", "en", aux_text="Goedemorgen.", aux_lang="nld_Latn") == \
        custom.decoder.prompt_ids("nld_Latn: Goedemorgen.\ndeu_Latn: Guten Morgen.\neng_Latn:")


@pytest.mark.parametrize("option, template, message", [
    ("pmp_template", "From {src_name}: {text}\n{tgt_name}:",
     r"pmp_template .* has no \{aux_text\} placeholder \(where PMP's auxiliary sentence goes\); accepted "
     r"placeholders: .*\{aux_text\}, \{aux_name\}, \{aux_code\}"),
    ("pmp_template", "{aux_name}: {aux_text}\n{tgt_name}:", r"pmp_template .* has no \{text\} placeholder"),
    ("pmp_template", "{text} {aux_text} {aux}", r"pmp_template .* has unknown placeholder\(s\) \{aux\}"),
    ("pmp_template", "{text} {aux_text", r"pmp_template .* is not a valid format string"),
    ("template", "{text}\n{aux_name}: {aux_text}", r"template .* unknown placeholder\(s\) \{aux_name\}, \{aux_text\} "
                                                  r"\(the auxiliary sentence of PMP goes in pmp_template\)"),
])
def test_bad_placeholders_in_the_pmp_template_are_named(option, template, message):
    with pytest.raises(BabelBridgeError, match=message):
        prompted(**{option: template})


def test_pmp_must_be_a_boolean():
    with pytest.raises(BabelBridgeError, match="pmp must be true or false, got 'yes'"):
        prompted(pmp="yes")


# ---- training: collate -----------------------------------------------------------------------------


PAIRS = [
    TranslationPair("Guten Morgen.", "Good morning.", "deu_Latn", "eng_Latn", "Goedemorgen.", "nld_Latn"),
    TranslationPair("Danke schön.", "Thank you.", "deu_Latn", "eng_Latn"),  # no pivot: the plain template
    TranslationPair("Good night.", "Bonne nuit.", "eng_Latn", "fra_Latn", "Buenas noches.", "spa_Latn"),
]


def prompts_of(batch):
    """Each row's prompt: the ids before its first label."""
    rows = []
    for ids, labels in zip(batch["input_ids"].tolist(), batch["labels"].tolist()):
        rows.append(ids[: next(i for i, label in enumerate(labels) if label != -100)])
    return rows


def test_collate_with_pmp_puts_each_pairs_pivot_in_its_prompt():
    bridge = prompted()
    expected = [bridge.prompt_ids(PAIRS[0].src, "de", "en", aux_text="Goedemorgen.", aux_lang="nld_Latn"),
                bridge.prompt_ids(PAIRS[1].src, "de", "en"),
                bridge.prompt_ids(PAIRS[2].src, "en", "fr", aux_text="Buenas noches.", aux_lang="spa_Latn")]
    assert prompts_of(bridge.collate(PAIRS)) == expected
    assert "Spanish: Buenas noches.\nFrench:" in bridge.decoder.tokenizer.decode(expected[2])
    # pmp off: pivots are ignored, every prompt is the plain one.
    off = prompted(pmp=False)
    assert prompts_of(off.collate(PAIRS)) == [off.prompt_ids(p.src, p.src_lang, p.tgt_lang) for p in PAIRS]


def test_a_pivot_without_its_language_or_in_a_side_of_the_pair_is_refused():
    bridge = prompted()
    with pytest.raises(InputError, match="has a pivot sentence but no pivot_lang"):
        bridge.collate([TranslationPair("Guten Morgen.", "Good morning.", "deu_Latn", "eng_Latn", "Goedemorgen.")])
    with pytest.raises(InputError, match=r"has a pivot in eng_Latn, a side of the pair: .* hand the model its answer"):
        bridge.collate([TranslationPair("Guten Morgen.", "Good morning.", "deu_Latn", "eng_Latn", "Good morning.",
                                        "en")])


def test_a_pmp_lora_training_step_on_pairs_with_pivots_runs(tmp_path):
    bridge = lora()
    seen = []
    collate = bridge.collate

    def spy(pairs):
        batch = collate(pairs)
        seen.extend(bridge.decoder.tokenizer.batch_decode(batch["input_ids"]))
        return batch

    bridge.collate = spy
    before = {n: p.detach().clone() for n, p in bridge.trainable_named_parameters()}
    pairs = PAIRS * 2
    cfg = TrainConfig(output_dir=str(tmp_path / "run"), lr=1e-2, global_batch_size=6, micro_batch_size=3,
                      max_steps=1, save_every=1, eval_source_gap=False)
    result = Trainer(bridge, pairs, cfg).train()
    assert result.steps == 1 and result.last_loss is not None and result.last_loss == result.last_loss  # not NaN
    assert any(not torch.equal(p, before[n]) for n, p in bridge.trainable_named_parameters())
    assert sum("Dutch: Goedemorgen.\nEnglish:" in row for row in seen) == 2  # each pivoted pair with its pivot
    assert sum("German: Danke schön.\nEnglish:" in row for row in seen) == 2  # the pair without one: plain


# ---- inference: PMP-O, PMP-S ------------------------------------------------------------------------


@pytest.mark.parametrize("decoder, num_beams", [("qwen3", 1), ("llama", 1), ("qwen3", 3)])
def test_batched_equals_one_by_one_with_auxiliary_sentences(decoder, num_beams):
    bridge = prompted(decoder)
    options = dict(aux_texts=AUX, aux_lang="nld_Latn", max_new_tokens=8, num_beams=num_beams)
    batched = bridge.generate_token_ids(TEXTS, "deu_Latn", "eng_Latn", **options)
    alone = [bridge.generate_token_ids([t], "deu_Latn", "eng_Latn", aux_texts=[a], aux_lang="nld_Latn",
                                       max_new_tokens=8, num_beams=num_beams)[0] for t, a in zip(TEXTS, AUX)]
    assert batched == alone
    assert batched != bridge.generate_token_ids(TEXTS, "deu_Latn", "eng_Latn", max_new_tokens=8,
                                                num_beams=num_beams)  # the auxiliary changes the answer


def test_pmp_o_uses_the_given_auxiliary_sentences_in_input_order(monkeypatch):
    bridge = prompted()
    expected = [bridge.postprocess(bridge.decoder.tokenizer.decode(row, skip_special_tokens=True))
                for row in (bridge.generate_token_ids([t], "deu_Latn", "eng_Latn", aux_texts=[a], aux_lang="nld_Latn",
                                                      max_new_tokens=MNT)[0] for t, a in zip(TEXTS, AUX))]
    prompts = []
    prompt_ids = bridge.prompt_ids
    monkeypatch.setattr(bridge, "prompt_ids", lambda *a, **k: prompts.append(k) or prompt_ids(*a, **k))
    out = bridge.translate(TEXTS[::-1], "de", "en", aux_texts=AUX[::-1], aux_lang="nl", batch_size=2,
                           max_new_tokens=MNT)
    assert out == expected[::-1]
    assert sorted(p["aux_text"] for p in prompts) == sorted(AUX) and {p["aux_lang"] for p in prompts} == {"nld_Latn"}
    # aux_texts without aux_lang: pmp_auxiliary's language for the direction
    auto = pmp_auxiliary("deu_Latn", "eng_Latn").lang
    prompts.clear()
    bridge.translate(TEXTS, "de", "en", aux_texts=AUX, max_new_tokens=2)
    assert {p["aux_lang"] for p in prompts} == {auto}


def test_pmp_s_translates_into_the_auxiliary_language_once_and_prompts_with_its_outputs(monkeypatch):
    bridge = prompted(postprocess="strip")
    calls, outputs = [], []
    translate = bridge.translate

    def spy(texts, src_lang, tgt_lang="eng_Latn", **options):
        calls.append((tgt_lang, {k: v for k, v in options.items() if k.startswith("aux")}, options["num_beams"]))
        out = translate(texts, src_lang, tgt_lang, **options)
        outputs.append(out)
        return out

    monkeypatch.setattr(bridge, "translate", spy)
    generated = []
    generate = bridge.generate_token_ids

    def spy_generate(texts, *args, **options):
        generated.append((list(texts), options.get("aux_texts")))
        return generate(texts, *args, **options)

    monkeypatch.setattr(bridge, "generate_token_ids", spy_generate)
    final = bridge.translate(TEXTS, "de", "en", aux_lang="nl", max_new_tokens=MNT, num_beams=2)
    # Exactly one extra translate call, into the auxiliary language, plain (no aux), same settings.
    assert calls == [("en", {"aux_lang": "nl"}, 2), ("nld_Latn", {}, 2)]
    written = outputs[0]  # the inner call returns first
    assert outputs[1] == final and len(written) == len(TEXTS)
    assert any(w.strip() for w in written)
    # The second pass's prompts hold those outputs (empty ones: the plain prompt).
    aux_of = {}
    for texts, aux in generated:
        if aux is not None:
            aux_of.update(zip(texts, aux))
    assert aux_of == {t: (w if w.strip() else None) for t, w in zip(TEXTS, written)}


def test_pmp_s_with_several_targets_writes_each_auxiliary_language_once(monkeypatch):
    bridge = prompted()
    calls = []
    translate = bridge.translate
    monkeypatch.setattr(bridge, "translate", lambda texts, src, tgt="eng_Latn", **o: calls.append(tgt) or
                        translate(texts, src, tgt, **o))
    out = bridge.translate_multi(TEXTS, "de", ["en", "fra_Latn"], aux_lang="nl", max_new_tokens=MNT)
    assert calls == ["nld_Latn"]  # one pass into Dutch serves both targets
    monkeypatch.undo()
    assert out == {t: bridge.translate(TEXTS, "de", t, aux_lang="nl", max_new_tokens=MNT)
                   for t in ("eng_Latn", "fra_Latn")}


def test_without_aux_options_a_pmp_bridge_prompts_plainly():
    bridge = prompted()
    assert bridge.translate(TEXTS, "de", max_new_tokens=MNT) == prompted(pmp=False).translate(TEXTS, "de",
                                                                                              max_new_tokens=MNT)


# ---- inference errors: before any work -----------------------------------------------------------------


def test_aux_inputs_are_checked_before_any_generation(monkeypatch):
    bridge = prompted()
    no_generation(bridge, monkeypatch)
    with pytest.raises(InputError, match=r"aux_texts has 2 text\(s\) for 3 source\(s\)"):
        bridge.translate(TEXTS, "de", "en", aux_texts=AUX[:2], aux_lang="nl")
    with pytest.raises(InputError, match=r"2 empty or non-text auxiliary text\(s\) at index 0, 2"):
        bridge.translate(TEXTS, "de", "en", aux_texts=["", AUX[1], "  "], aux_lang="nl")
    with pytest.raises(InputError, match=r"aux_lang eng_Latn is a side of the direction deu_Latn -> eng_Latn"):
        bridge.translate(TEXTS, "de", "en", aux_lang="en")
    with pytest.raises(ValueError, match="unknown language"):
        bridge.translate(TEXTS, "de", "en", aux_lang="xx_Nope")
    with pytest.raises(InputError, match=r"1 empty or non-text input\(s\) at index 1"):  # PMP-S: before the first pass
        bridge.translate(["Hallo", " "], "de", "en", aux_lang="nl")
    with pytest.raises(InputError, match="no auxiliary language for eng_Latn -> kor_Hang"):
        bridge.translate(TEXTS, "en", "ko", aux_lang="auto")


def test_a_bridge_that_does_not_read_the_source_in_its_prompt_refuses_pmp():
    torch.manual_seed(0)
    hca = build_bridge("hca", load_encoder("tiny-random:m2m100"), load_decoder("tiny-random:qwen3"),
                       {"bottleneck_dim": 16})
    message = r"PMP needs a bridge that reads the source in its prompt: prompted, lora, crosslora; this is a hca bridge"
    with pytest.raises(InputError, match=message):
        hca.translate(TEXTS, "de", aux_lang="nl")
    with pytest.raises(InputError, match=message):
        hca.translate_multi(TEXTS, "de", ["en"], aux_texts=AUX, aux_lang="nl")
    assert {m for m, cls in METHODS.items() if cls.supports_pmp} == set(checks.PMP_METHODS)


# ---- the CLI ---------------------------------------------------------------------------------------------


@pytest.fixture
def cli(capsys):
    def run(*argv):
        code = cli_main.main(["translate", *map(str, argv)])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(scope="module")
def pmp_checkpoint(tmp_path_factory):
    return save_prompted_baseline("tiny-random:qwen3", tmp_path_factory.mktemp("pmp") / "zs", pmp=True)


def fake_checkpoint(path, method, config):
    """bridge.json + an empty weights file: all the CLI reads before loading a model."""
    path.mkdir()
    (path / "bridge.json").write_text(json.dumps({"format_version": 1, "method": method, "config": config}))
    (path / "bridge.safetensors").write_bytes(b"")
    return path


def test_cli_pmp_oracle_reads_the_tsv_column_and_pmp_s_runs(cli, pmp_checkpoint, tmp_path):
    source = tmp_path / "in.tsv"
    source.write_text("".join(f"{t}\tignored\t{a}\n" for t, a in zip(TEXTS, AUX)))
    out_file = tmp_path / "out.tsv"
    code, _, err = cli("--bridge", pmp_checkpoint, "--src-lang", "de", "--pmp", "oracle", "--aux-column", 3,
                       "--aux-lang", "nl", "--input", source, "--output", out_file, "--max-new-tokens", MNT)
    assert code == 0, err
    bridge = prompted()
    expected = bridge.translate(TEXTS, "de", "en", aux_texts=AUX, aux_lang="nl", max_new_tokens=MNT)
    rows = [line.split("\t") for line in out_file.read_text().splitlines()]
    assert [r[:3] for r in rows] == [[t, "ignored", a] for t, a in zip(TEXTS, AUX)]
    assert [r[3] for r in rows] == [one_line(t, tsv=True) for t in expected]

    # PMP-S from TEXT arguments, the auxiliary language chosen and said on stderr.
    auto = pmp_auxiliary("deu_Latn", "eng_Latn")
    code, out, err = cli("--bridge", pmp_checkpoint, "--src-lang", "de", "--pmp", "self", "--max-new-tokens", MNT,
                         *TEXTS)
    assert code == 0, err
    assert f"PMP: auxiliary language for deu_Latn -> eng_Latn: {auto.lang} ({auto.why}" in err
    expected = bridge.translate(TEXTS, "de", "en", aux_lang=auto.lang, max_new_tokens=MNT)
    assert out.splitlines() == [one_line(t) for t in expected]
    code, _, err = cli("--bridge", pmp_checkpoint, "--src-lang", "de", "--pmp", "self", "-q", "--max-new-tokens", 1,
                       "Hallo")
    assert code == 0 and err == ""


def test_cli_pmp_oracle_needs_an_auxiliary_on_every_line(cli, pmp_checkpoint, tmp_path):
    common = ("--bridge", pmp_checkpoint, "--src-lang", "de", "--pmp", "oracle", "--aux-lang", "nl")
    code, _, err = cli(*common, "Hallo")
    assert code == 2 and err.count("\n") == 1
    assert ("--pmp oracle takes each source's auxiliary sentence from the input: a tsv file's column 2 "
            "(or --aux-column N) or a jsonl line's \"aux\"; TEXT arguments cannot carry one") in err
    plain = tmp_path / "in.txt"
    plain.write_text("Hallo\n")
    code, _, err = cli(*common, "--input", plain, "--output", tmp_path / "o.txt")
    assert code == 2 and "a plain --input file cannot carry one" in err

    tsv = tmp_path / "in.tsv"
    tsv.write_text("Hallo\tHallo\nGuten Morgen.\nDanke\t \n")
    code, _, err = cli(*common, "--input", tsv, "--output", tmp_path / "o.tsv")
    assert code == 2 and err.count("\n") == 1
    assert f"--pmp oracle: {tsv} line 2, 3 has no auxiliary sentence (column 2)" in err
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"src": "Hallo", "aux": "Hallo"}\n{"src": "Danke"}\n{"src": "Ja", "aux": 3}\n')
    code, _, err = cli(*common, "--input", jsonl, "--output", tmp_path / "o.jsonl")
    assert code == 2 and f'{jsonl} line 2, 3 has no auxiliary sentence (a non-empty "aux" string)' in err
    code, _, err = cli(*common, "--input", jsonl, "--output", tmp_path / "o.jsonl", "--aux-column", 2)
    assert code == 2 and "--aux-column applies to tsv input" in err
    assert not any(tmp_path.glob("o.*"))


def test_cli_refuses_pmp_on_the_wrong_bridge_and_options_without_pmp(cli, pmp_checkpoint, tmp_path):
    hca = fake_checkpoint(tmp_path / "hca", "hca", {})
    code, _, err = cli("--bridge", hca, "--src-lang", "de", "--pmp", "self", "Hallo")
    assert code == 2 and ("--pmp: PMP needs a bridge that reads the source in its prompt: prompted, lora, crosslora; "
                          f"--bridge {hca} is a hca bridge") in err
    plain = fake_checkpoint(tmp_path / "lora", "lora", {"pmp": False})
    code, _, err = cli("--bridge", plain, "--src-lang", "de", "--pmp", "self", "Hallo")
    assert code == 2 and "was made without PMP (its config has pmp: false)" in err and "--force-pmp" in err
    old = fake_checkpoint(tmp_path / "old", "prompted", {})  # saved before PMP existed: no "pmp" key
    code, _, err = cli("--bridge", old, "--src-lang", "de", "--pmp", "self", "Hallo")
    assert code == 2 and "--force-pmp" in err
    code, _, err = cli("--bridge", pmp_checkpoint, "--src-lang", "de", "--aux-lang", "nl", "Hallo")
    assert code == 2 and "--aux-lang needs --pmp oracle or --pmp self" in err
    code, _, err = cli("--bridge", pmp_checkpoint, "--src-lang", "de", "--pmp", "self", "--aux-lang", "en", "Hallo")
    assert code == 2 and "--aux-lang eng_Latn is a side of the direction deu_Latn -> eng_Latn" in err
    code, _, err = cli("--bridge", pmp_checkpoint, "--src-lang", "de", "--pmp", "self", "--aux-column", 2, "Hallo")
    assert code == 2 and "--aux-column applies to --pmp oracle" in err


def test_cli_force_pmp_prompts_a_bridge_made_without_pmp(cli, tmp_path):
    bridge = build_bridge("lora", None, load_decoder("tiny-random:qwen3"), {"r": 4})
    path = save_bridge(bridge, tmp_path / "lora")
    code, _, err = cli("--bridge", path, "--src-lang", "de", "--pmp", "self", "Hallo")
    assert code == 2 and "--force-pmp" in err
    code, out, err = cli("--bridge", path, "--src-lang", "de", "--pmp", "self", "--aux-lang", "nl", "--force-pmp",
                         "-q", "--max-new-tokens", 3, "Hallo")
    assert code == 0, err
    assert out.splitlines() == [one_line(bridge.translate(["Hallo"], "de", aux_lang="nl",
                                                                        max_new_tokens=3)[0])]


def test_cli_pmp_checks_need_no_torch(tmp_path):
    """The bridge's method and pmp flag come from bridge.json, the auxiliary language from the
    torch-free registry: a --pmp mistake fails without importing torch."""
    path = fake_checkpoint(tmp_path / "lora", "lora", {"pmp": True})
    code = f"""
import sys
from babelbridge.cli import main as m
rc = m.main(["translate", "--bridge", {str(path)!r}, "--src-lang", "en", "--tgt-lang", "ko", "--pmp", "self", "Hi"])
assert "torch" not in sys.modules and "transformers" not in sys.modules, "heavy import before validation"
sys.exit(rc)
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == ("babelbridge translate: error: --pmp: no auxiliary language for eng_Latn -> kor_Hang "
                           "(no related high-resource language); give --aux-lang CODE\n")
