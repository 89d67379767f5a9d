"""CrossLoRA's pseudo-corpus (data/pseudo.py, `babelbridge data pseudo`): X -> English -> Y with a
stage-1 bridge, the language-id and length-ratio filters and their counts, resumable after a
kill at any batch, the held-out sources of a multi-way corpus, and the command's errors.

The module is tested with a fake translator and a fake identifier (no model, no torch); the
command once end to end on a tiny random CrossLoRA bridge."""

import json
from types import SimpleNamespace

import pytest

from babelbridge.cli.main import main
from babelbridge.data import DataError, read_corpus
from babelbridge.bulk import partial_dir
from babelbridge.data.pseudo import build_pseudo, check_languages, plan_pseudo, read_held_out, report_path
from babelbridge.data.pseudo_filters import LanguageIdentifier, PseudoPair, filter_direction

EN, DE, FR, IS, TR = "eng_Latn", "deu_Latn", "fra_Latn", "isl_Latn", "tur_Latn"

SOURCES = {
    DE: ["Guten Morgen, liebe Freunde.", "Der Hund schläft unter dem Tisch.", "Leer.",
         "Es regnet heute den ganzen Tag lang."],
    FR: ["Bonjour à tous, mes amis.", "Le chien dort sous la table.", "Il pleut toute la journée."],
    IS: ["Góðan daginn, kæru vinir.", "Hundurinn sefur undir borðinu."],
}
# What the fake bridge does wrong: (input, target) -> output. Everything else: "<input> >xxx".
LOOP = "Es regnet " * 30 + ">deu"
SPECIAL = {
    ("Leer.", EN): "",  # an empty pivot: sent nowhere
    ("Der Hund schläft unter dem Tisch. >eng", FR): "",  # an empty output
    ("Guten Morgen, liebe Freunde. >eng", FR): "Guten Morgen! >deu",  # off-target (German)
    ("Il pleut toute la journée. >eng", DE): LOOP,  # a repetition loop: the length ratio
    ("Bonjour à tous, mes amis. >eng", IS): "Hello all, my friends. >eng",  # off-target, but Icelandic is unchecked
    ("Hundurinn sefur undir borðinu. >eng", FR): "!!! ???",  # no letters
}


def fake_translate(calls, fail_at=None):
    """A bridge that tags each output with the target's first three letters (" >fra")."""

    def translate(texts, src_lang, tgt_lang):
        if fail_at is not None and len(calls) + 1 == fail_at:
            raise Killed(f"killed at call {fail_at}")
        calls.append((src_lang, tgt_lang, list(texts)))
        return [SPECIAL.get((t, tgt_lang), f"{t} >{tgt_lang[:3]}") for t in texts]

    return translate


class Killed(Exception):
    pass


def fake_identify(texts):
    """The tag after the last ">", or None for a text without letters."""
    return [None if not any(c.isalpha() for c in t) else t.rsplit(">", 1)[-1] for t in texts]


# Icelandic is the language the fake identifier cannot recognise.
IDENTIFIER = LanguageIdentifier(fake_identify, lambda lang: None if lang == IS else {lang[:3]}, "fake-id 1.0")


def plan(batch_size=2, **options):
    return plan_pseudo(SOURCES, EN, batch_size=batch_size, **options)


def rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def row(src, tgt, src_lang, tgt_lang, pivot):
    return {"src": src, "tgt": tgt, "src_lang": src_lang, "tgt_lang": tgt_lang, "pivot": pivot, "pivot_lang": EN}


def pivoted(text, *langs):
    return text + "".join(f" >{lang[:3]}" for lang in langs)


# ---- the module, with a fake bridge and a fake identifier -----------------------------------------

def test_pivoting_goes_x_to_english_once_then_english_to_each_y(tmp_path):
    calls = []
    build_pseudo(plan(), fake_translate(calls), IDENTIFIER, tmp_path / "p.jsonl")
    de, fr, is_ = SOURCES[DE], SOURCES[FR], SOURCES[IS]
    de_en = [pivoted(t, EN) for t in de]
    fr_en = [pivoted(t, EN) for t in fr]
    is_en = [pivoted(t, EN) for t in is_]
    assert calls == [
        # (a) X -> English, once per X, longest first, batches of 2
        (DE, EN, [de[3], de[1]]), (DE, EN, [de[0], de[2]]),
        (FR, EN, [fr[1], fr[2]]), (FR, EN, [fr[0]]),
        (IS, EN, [is_[1], is_[0]]),
        # (b) English -> Y for each Y != X; German's empty pivot ("Leer.") is sent nowhere
        (EN, FR, [de_en[3], de_en[1]]), (EN, FR, [de_en[0]]),
        (EN, IS, [de_en[3], de_en[1]]), (EN, IS, [de_en[0]]),
        (EN, DE, [fr_en[1], fr_en[2]]), (EN, DE, [fr_en[0]]),
        (EN, IS, [fr_en[1], fr_en[2]]), (EN, IS, [fr_en[0]]),
        (EN, DE, [is_en[1], is_en[0]]),
        (EN, FR, [is_en[1], is_en[0]]),
    ]


def test_a_source_or_pivot_over_the_bridge_limit_is_not_translated_and_counted_over_long(tmp_path):
    calls = []
    de, fr = SOURCES[DE], SOURCES[FR]
    too_long = {de[3], pivoted(fr[1], EN)}  # a German source; a French sentence's English pivot
    out = tmp_path / "p.jsonl"
    report = build_pseudo(plan(), fake_translate(calls), IDENTIFIER, out, fits=lambda text: text not in too_long)
    sent = [t for _, _, texts in calls for t in texts]
    assert de[3] not in sent and pivoted(de[3], EN) not in sent  # never translated, in either step
    assert pivoted(fr[1], EN) not in sent and fr[1] in sent  # pivoted, not sent on
    counts = {(d["src_lang"], d["tgt_lang"]): (d["dropped"]["over_long"], d["kept"]) for d in report.to_json()["directions"]}
    assert counts == {(DE, FR): (1, 0), (DE, IS): (1, 2), (FR, DE): (1, 1), (FR, IS): (1, 2), (IS, DE): (0, 2),
                      (IS, FR): (0, 1)}
    assert report.to_json()["total"]["dropped"]["over_long"] == 4
    assert {r["src"] for r in rows(out)}.isdisjoint({de[3], fr[1]})


def test_each_filter_drops_exactly_its_pairs_and_counts_them(tmp_path):
    out = tmp_path / "p.jsonl"
    report = build_pseudo(plan(), fake_translate([]), IDENTIFIER, out)
    de, fr, is_ = SOURCES[DE], SOURCES[FR], SOURCES[IS]
    assert rows(out) == [
        row(de[3], pivoted(de[3], EN, FR), DE, FR, pivoted(de[3], EN)),  # de 0 off-target, 1 empty, 2 empty pivot
        *(row(de[i], pivoted(de[i], EN, IS), DE, IS, pivoted(de[i], EN)) for i in (0, 1, 3)),
        *(row(fr[i], pivoted(fr[i], EN, DE), FR, DE, pivoted(fr[i], EN)) for i in (0, 1)),  # fr 2: the loop
        row(fr[0], "Hello all, my friends. >eng", FR, IS, pivoted(fr[0], EN)),  # unchecked: kept
        *(row(fr[i], pivoted(fr[i], EN, IS), FR, IS, pivoted(fr[i], EN)) for i in (1, 2)),
        *(row(is_[i], pivoted(is_[i], EN, DE), IS, DE, pivoted(is_[i], EN)) for i in (0, 1)),
        row(is_[0], pivoted(is_[0], EN, FR), IS, FR, pivoted(is_[0], EN)),  # is 1: no letters
    ]
    saved = json.loads(report_path(out).read_text(encoding="utf-8"))
    assert saved == report.to_json()
    counts = {(d["src_lang"], d["tgt_lang"]): (d["candidates"], d["dropped"], d["identified_as"], d["kept"])
              for d in saved["directions"]}

    def dropped(empty_pivot=0, empty_output=0, language_id=0, length_ratio=0):
        return {"over_long": 0, "empty_pivot": empty_pivot, "empty_output": empty_output, "language_id": language_id,
                "length_ratio": length_ratio}

    assert counts == {
        (DE, FR): (4, dropped(empty_pivot=1, empty_output=1, language_id=1), {"deu": 1}, 1),
        (DE, IS): (4, dropped(empty_pivot=1), {}, 3),
        (FR, DE): (3, dropped(length_ratio=1), {}, 2),
        (FR, IS): (3, dropped(), {}, 3),
        (IS, DE): (2, dropped(), {}, 2),
        (IS, FR): (2, dropped(language_id=1), {"none": 1}, 1),
    }
    assert [d["language_id"] for d in saved["directions"]] == [
        "checked", "not supported by the identifier: kept unfiltered", "checked",
        "not supported by the identifier: kept unfiltered", "checked", "checked"]
    assert saved["unfiltered_by_language_id"] == [IS]
    assert saved["total"] == {"candidates": 18, "dropped": dropped(empty_pivot=2, empty_output=1, language_id=2,
                                                                   length_ratio=1), "kept": 12}
    assert saved["identifier"] == "fake-id 1.0" and saved["length_ratio"]["max"] == 3.0
    assert saved["sources"] == {DE: 4, FR: 3, IS: 2} and saved["pivot"] == EN
    # fr -> de: the median of 35/25, 38/28 and 304/26 characters is 1.4; the loop is 8.4 times that.
    assert saved["directions"][2]["length_ratio_median"] == 1.4
    assert not partial_dir(out).exists()
    # The printed summary: the table, what off-target outputs were called, what was not checked.
    lines = report.summary().splitlines()
    assert lines[0].split() == ["direction", "candidates", "over-long", "empty", "language", "id", "length", "ratio",
                                "kept"]
    assert lines[1].split() == [DE, "->", FR, "4", "0", "2", "1", "0", "1"]
    assert lines[2].split() == [DE, "->", IS, "4", "0", "1", "n/a", "0", "3"]
    assert lines[7].split() == ["total", "18", "0", "3", "2", "1", "12"]
    assert lines[8:11] == [f"{DE} -> {FR}: off-target outputs identified as deu 1",
                           f"{IS} -> {FR}: off-target outputs identified as none 1",
                           f"not filtered by language id (fake-id 1.0 cannot recognise them): {IS}"]
    assert lines[11].startswith(f"wrote 12 pairs in 6 directions to {out} (counts: {out}.report.json); "
                                f"15 batches translated in ")
    # The file reads back as triples with the jsonl corpus format.
    corpus = read_corpus({"format": "jsonl", "path": str(out), "pivot_lang": "en"})
    assert [(p.src_lang, p.tgt_lang) for p in corpus.pairs] == [(r["src_lang"], r["tgt_lang"]) for r in rows(out)]
    assert corpus.pairs[0].pivot == pivoted(de[3], EN) and corpus.pairs[0].pivot_lang == EN


def test_length_ratio_is_relative_to_the_directions_median():
    # Chinese has about a quarter of German's characters: no pair is dropped for that alone.
    src = ["Im Anfang schuf Gott die Himmel und die Erde.", "Und Gott sprach: Es werde Licht!",
           "Und Gott machte die Ausdehnung.", "Und die Erde war wüst und leer."]
    tgt = ["起初神创造天地。", "神说：要有光。", "神造了穹苍。", "地是空虚混沌。"]
    pairs = [PseudoPair(s, "x", t) for s, t in zip(src, tgt)]
    ident = LanguageIdentifier(lambda texts: ["zho"] * len(texts), lambda lang: {"zho"}, "fake")
    kept, counts = filter_direction(DE, "zho_Hans", pairs, ident)
    assert kept == [0, 1, 2, 3] and counts.length_ratio == 0
    assert counts.length_ratio_median == pytest.approx((7 / 32 + 6 / 31) / 2)
    # R bounds both ways: 12x and 1/12 of the median go at R = 3; at R = 20 they stay.
    pairs += [PseudoPair(src[0], "x", tgt[0] * 12), PseudoPair(src[0] * 6, "x", tgt[1][:3])]
    kept, counts = filter_direction(DE, "zho_Hans", pairs, ident, max_length_ratio=3)
    assert kept == [0, 1, 2, 3] and counts.length_ratio == 2 and counts.kept == 4
    kept, counts = filter_direction(DE, "zho_Hans", pairs, ident, max_length_ratio=20)
    assert kept == [0, 1, 2, 3, 4, 5] and counts.length_ratio == 0


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """An uninterrupted run: its translate calls and its output file."""
    calls = []
    out = tmp_path_factory.mktemp("uninterrupted") / "p.jsonl"
    build_pseudo(plan(), fake_translate(calls), IDENTIFIER, out)
    return calls, out


@pytest.mark.parametrize("fail_at", range(1, 16))
def test_a_run_killed_at_any_batch_resumes_to_the_same_file(tmp_path, uninterrupted, fail_at):
    reference_calls, reference = uninterrupted
    assert len(reference_calls) == 15

    out = tmp_path / "p.jsonl"
    calls = []
    with pytest.raises(Killed):
        build_pseudo(plan(), fake_translate(calls, fail_at=fail_at), IDENTIFIER, out, arguments={"bridge": "b"})
    assert not out.exists() and not report_path(out).exists() and partial_dir(out).is_dir()
    assert len(calls) == fail_at - 1
    resumed_calls = []
    report = build_pseudo(plan(), fake_translate(resumed_calls), IDENTIFIER, out, arguments={"bridge": "b"})
    assert resumed_calls == reference_calls[fail_at - 1:]  # nothing translated twice, nothing skipped
    assert (report.batches, report.resumed_batches) == (16 - fail_at, fail_at - 1)
    assert out.read_bytes() == reference.read_bytes()
    assert json.loads(report_path(out).read_text())["directions"] == \
        json.loads(report_path(reference).read_text())["directions"]
    assert not partial_dir(out).exists()


def test_a_torn_write_is_cut_off_and_its_batch_redone(tmp_path, uninterrupted):
    out = tmp_path / "p.jsonl"
    calls = []
    with pytest.raises(Killed):  # German and French into English are done (4 batches)
        build_pseudo(plan(), fake_translate(calls, fail_at=5), IDENTIFIER, out)
    step = partial_dir(out) / f"{FR}-{EN}.part-0.jsonl"
    lines = step.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["i"] for x in lines] == [[1, 2], [0]]
    step.write_text(lines[0] + "\n" + lines[1][:9], encoding="utf-8")  # the last batch torn
    calls.clear()
    build_pseudo(plan(), fake_translate(calls), IDENTIFIER, out)
    assert calls[0] == (FR, EN, [SOURCES[FR][0]]) and calls[1][:2] == (IS, EN)
    assert out.read_bytes() == uninterrupted[1].read_bytes()


def test_a_rerun_with_other_arguments_is_refused_and_the_filters_may_change(tmp_path):
    out = tmp_path / "p.jsonl"
    with pytest.raises(Killed):
        build_pseudo(plan(), fake_translate([], fail_at=3), IDENTIFIER, out, arguments={"bridge": "stage1-a"})
    calls = []
    with pytest.raises(DataError) as err:
        build_pseudo(plan(), fake_translate(calls), IDENTIFIER, out, arguments={"bridge": "stage1-b"})
    assert str(err.value) == (f"{partial_dir(out)} holds the progress of a run with other arguments (bridge: "
                              f"\"stage1-a\" before, \"stage1-b\" now); run again with the same arguments to "
                              f"resume, or delete {partial_dir(out)} to start over")
    with pytest.raises(DataError, match=r"\(batch_size: 2 before, 3 now\)"):
        build_pseudo(plan(batch_size=3), fake_translate(calls), IDENTIFIER, out, arguments={"bridge": "stage1-a"})
    other_sources = {**SOURCES, IS: SOURCES[IS][:1]}
    with pytest.raises(DataError, match=r"inputs: .* before, .* now; inputs_sha256: "):
        build_pseudo(plan_pseudo(other_sources, EN, batch_size=2), fake_translate(calls), IDENTIFIER, out,
                     arguments={"bridge": "stage1-a"})
    assert calls == []
    # The filters run at the end: another length ratio resumes the same translations.
    report = build_pseudo(plan(max_length_ratio=20), fake_translate(calls), IDENTIFIER, out,
                          arguments={"bridge": "stage1-a"})
    assert len(calls) == 13 and report.resumed_batches == 2
    assert report.directions[2].length_ratio == 0 and report.kept == 13  # the loop stays at R = 20


def test_plan_and_language_errors():
    assert check_languages(["en", "de", "fr"], "en") == (EN, (DE, FR))
    assert check_languages(["de", "fr"], "English") == (EN, (DE, FR))  # the pivot may be left out
    assert check_languages(["de", "en", "fr"], "de") == (DE, (EN, FR))  # any pivot
    with pytest.raises(DataError, match=r"^--langs: a pseudo-corpus needs at least two languages besides the "
                                        r"pivot eng_Latn \(its directions are X -> Y with X, Y != eng_Latn\); "
                                        r"got deu_Latn, e\.g\. --langs deu_Latn,fra_Latn$"):
        check_languages(["en", "de"], "en", langs_name="--langs")
    with pytest.raises(DataError, match=r"^--langs: deu_Latn is listed twice$"):
        check_languages(["de", "deu_Latn", "fr"], langs_name="--langs")
    with pytest.raises(DataError, match=r"^--langs: eng_Latn is listed twice$"):
        check_languages(["en", "de", "English", "fr"], langs_name="--langs")
    with pytest.raises(DataError, match=r"^--pivot: unknown language code 'xx_Latn'"):
        check_languages(["de", "fr"], "xx_Latn", pivot_name="--pivot")
    with pytest.raises(DataError, match="max_length_ratio must be a number > 1"):
        plan(max_length_ratio=1)
    with pytest.raises(DataError, match="batch_size must be a positive integer"):
        plan(batch_size=0)
    with pytest.raises(DataError, match=r"sources: eng_Latn is the pivot"):
        plan_pseudo({**SOURCES, EN: ["Hello."]}, EN)
    with pytest.raises(DataError, match=r"sources: 1 empty sentence\(s\) in fra_Latn, the first at index 1"):
        plan_pseudo({DE: ["a"], FR: ["b", " "]}, EN)


def test_a_translator_that_returns_the_wrong_count_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"translate returned 1 results for 2 texts \(deu_Latn -> eng_Latn\); "
                                        r"expected one string per text"):
        build_pseudo(plan(), lambda texts, src, tgt: texts[:1], IDENTIFIER, tmp_path / "p.jsonl")


# ---- the sources: held out of a multi-way corpus --------------------------------------------------

@pytest.fixture
def db(tmp_path):
    from test_bible import make_db  # here: test_bible imports torch, the tests above need none

    return make_db(tmp_path / "bible.db")


def test_held_out_sources_skip_what_stage_1_saw(db):
    corpus = {"format": "bible", "path": str(db), "split": "train"}
    # German's Genesis 1 verses aligned with English (1:4 missing, 1:5 merged, 1:6 a marker).
    assert read_held_out(corpus, [DE, TR], EN) == {
        DE: ["Im Anfang schuf Gott die Himmel und die Erde.", "Und die Erde war wüst und leer.",
             "Und Gott sprach: Es werde Licht!", "Und Gott machte die Ausdehnung."],
        TR: ["Başlangıçta Tanrı göğü ve yeri yarattı.", "Tanrı ışığın iyi olduğunu gördü.",
             "Tanrı ışığa gündüz adını verdi.", "Tanrı, “Bir kubbe olsun” dedi.", "Tanrı kubbeyi yaptı."]}
    # data.multiway with limit 1 trained on each X's first verse: skip it, take the next two.
    assert read_held_out(corpus, [DE, TR], EN, skip=1, limit=2) == {
        DE: ["Und die Erde war wüst und leer.", "Und Gott sprach: Es werde Licht!"],
        TR: ["Tanrı ışığın iyi olduğunu gördü.", "Tanrı ışığa gündüz adını verdi."]}
    with pytest.raises(DataError, match=r"^bible split 'test' is the test split; the pseudo-corpus is training "
                                        r"data, so its sources must not be test sentences; use another split"):
        read_held_out({**corpus, "split": "test"}, [DE, TR], EN)
    with pytest.raises(DataError, match=r"^deu_Latn: no source sentences in bible/train .*: all 4 within the "
                                        r"first 4 skipped\)$"):
        read_held_out(corpus, [DE, TR], EN, skip=4)
    with pytest.raises(DataError, match=r"^tur_Latn: no source sentences in bible/dev .*: none there\)$"):
        read_held_out({**corpus, "split": "dev"}, [DE, TR], EN)
    with pytest.raises(DataError, match=r"^the Bible corpus has no ces_Latn \(Czech\); available: eng_Latn"):
        read_held_out(corpus, [DE, "ces_Latn"], EN)


# ---- the command ------------------------------------------------------------------------------------

def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def fake_checkpoint(path, method="crosslora", languages=(EN, DE, TR)):
    """bridge.json and an empty weights file: enough for every check made before a model loads."""
    path.mkdir()
    (path / "bridge.json").write_text(json.dumps({"method": method, "config": {"languages": list(languages)}}))
    (path / "bridge.safetensors").write_bytes(b"")
    return path


def pseudo_argv(bridge, db, out, *extra, langs="eng_Latn,deu_Latn,tur_Latn"):
    return ["data", "pseudo", "--bridge", bridge, "--langs", langs, "--corpus", f"bible:{db}", "--split", "train",
            "--out", out, *extra]


@pytest.mark.parametrize("change, message", [
    ({"--langs": "en,de,xx"}, "--langs: unknown language code 'xx'"),
    ({"--langs": "en,de"}, "--langs: a pseudo-corpus needs at least two languages besides the pivot eng_Latn"),
    ({"--langs": "de,tr,de"}, "--langs: deu_Latn is listed twice"),
    ({"--pivot": "qq"}, "--pivot: unknown language code 'qq'"),
    ({"--max-length-ratio": "1"}, "--max-length-ratio must be > 1"),
    ({"--batch-size": "0"}, "--batch-size must be a positive integer, got 0"),
    ({"--limit": "0"}, "--limit must be a positive integer, got 0"),
    ({"--skip": "-1"}, "--skip must be 0 or more, got -1"),
    ({"--corpus": "tsv:x.tsv"}, "--corpus 'tsv:x.tsv': the sources come from a multi-way corpus (the same "
                                "sentences in every language); accepted: bible[:DB], flores:DIR"),
    ({"--corpus": "csv:x"}, "--corpus 'csv:x': unknown format 'csv'"),
    ({"--split": "test"}, "bible split 'test' is the test split"),
    ({"--langs": "en,de,tr,fr"}, "--langs: the bridge {bridge} (crosslora) has no expert for fra_Latn; its "
                                 "languages are eng_Latn, deu_Latn, tur_Latn"),
    ({"--pivot": "de", "--langs": "de,tr"},
     "--langs: a pseudo-corpus needs at least two languages besides the pivot deu_Latn"),
])
def test_command_errors_come_before_any_model(db, tmp_path, capsys, monkeypatch, change, message):
    from babelbridge.cli import data_cmd

    monkeypatch.setattr(data_cmd, "_load_translator", lambda *a: pytest.fail("a model was loaded"))
    bridge = fake_checkpoint(tmp_path / "bridge")
    out = tmp_path / "p.jsonl"
    argv = pseudo_argv(bridge, db, out)
    for flag, value in change.items():
        if flag in argv:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag, value]
    code, stdout, err = run_cli(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and message.format(bridge=bridge) in err, err
    assert not out.exists() and not partial_dir(out).exists()


# ---- the command on a tiny random CrossLoRA bridge ------------------------------------------------

@pytest.fixture(scope="module")
def crosslora_bridge(tmp_path_factory):
    import torch

    from babelbridge.backbones import load_decoder
    from babelbridge.bridges import build_bridge, save_bridge

    torch.manual_seed(0)
    bridge = build_bridge("crosslora", None, load_decoder("tiny-random:qwen3"), {"r": 2, "languages": [EN, DE, TR]})
    path = tmp_path_factory.mktemp("crosslora") / "bridge"
    save_bridge(bridge, path)
    return path


def test_command_end_to_end_killed_and_resumed(crosslora_bridge, db, tmp_path, capsys, monkeypatch):
    from babelbridge.cli import data_cmd

    state = {"calls": [], "fail_at": None}
    real = data_cmd._load_translator

    def counted(path, args):
        translator = real(path, args)

        def call(texts, src_lang, tgt_lang):
            if len(state["calls"]) + 1 == state["fail_at"]:
                raise Killed("killed")
            state["calls"].append((src_lang, tgt_lang, list(texts)))
            return translator.translate(texts, src_lang, tgt_lang)

        return SimpleNamespace(translate=call, fits=translator.fits)

    monkeypatch.setattr(data_cmd, "_load_translator", counted)
    extra = ["--skip", 1, "--limit", 3, "--batch-size", 2, "--num-beams", 1, "--max-new-tokens", 4, "--quiet"]
    reference = tmp_path / "reference.jsonl"
    code, out, err = run_cli(capsys, *pseudo_argv(crosslora_bridge, db, reference, *extra))
    assert (code, err) == (0, ""), err
    de = ["Und die Erde war wüst und leer.", "Und Gott sprach: Es werde Licht!", "Und Gott machte die Ausdehnung."]
    tr = ["Tanrı ışığın iyi olduğunu gördü.", "Tanrı ışığa gündüz adını verdi.", "Tanrı, “Bir kubbe olsun” dedi."]
    calls = state["calls"]
    assert calls[:4] == [(DE, EN, [de[1], de[0]]), (DE, EN, [de[2]]), (TR, EN, [tr[0], tr[1]]), (TR, EN, [tr[2]])]
    assert {c[:2] for c in calls[4:]} <= {(EN, TR), (EN, DE)}
    lines = out.splitlines()
    assert lines[0] == (f"corpus bible:{db} (train), after skipping 1 per language: deu_Latn 3, tur_Latn 3 "
                        f"source sentences")
    assert lines[1].split()[:4] == ["direction", "candidates", "over-long", "empty"]
    assert lines[2].split()[:4] == [DE, "->", TR, "3"] and lines[3].split()[:4] == [TR, "->", DE, "3"]
    assert "batches translated in " in lines[-1]
    report = json.loads(report_path(reference).read_text(encoding="utf-8"))
    assert report["identifier"].startswith("py3langid ") and report["unfiltered_by_language_id"] == []
    assert [(d["src_lang"], d["tgt_lang"], d["candidates"]) for d in report["directions"]] == [(DE, TR, 3), (TR, DE, 3)]
    for d in report["directions"]:
        assert d["candidates"] == sum(d["dropped"].values()) + d["kept"]
    written = rows(reference)
    assert len(written) == report["total"]["kept"]
    assert all(r["src"] in (de if r["src_lang"] == DE else tr) and r["pivot_lang"] == EN for r in written)

    # Killed at the third translate call, then resumed: the same file, nothing translated twice.
    n = len(calls)
    state.update(calls=[], fail_at=3)
    out_file = tmp_path / "p.jsonl"
    with pytest.raises(Killed):
        main([str(a) for a in pseudo_argv(crosslora_bridge, db, out_file, *extra)])
    capsys.readouterr()
    assert not out_file.exists() and partial_dir(out_file).is_dir()
    state.update(calls=[], fail_at=None)
    argv = pseudo_argv(crosslora_bridge, db, out_file, *extra)
    argv[argv.index("--num-beams") + 1] = 2  # other generation options: refused before any model
    code, _, err = run_cli(capsys, *argv)
    assert code == 2 and "holds the progress of a run with other arguments (generation: " in err
    assert state["calls"] == []
    code, out, err = run_cli(capsys, *pseudo_argv(crosslora_bridge, db, out_file, *extra))
    assert (code, err) == (0, "")
    assert state["calls"] == calls[2:] and len(calls) == n
    assert f"{n - 2} batches translated, 2 batches resumed" in out.splitlines()[-1]
    assert out_file.read_bytes() == reference.read_bytes()
    assert not partial_dir(out_file).exists()
