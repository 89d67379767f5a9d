"""report.compare and report.groups of an any-to-any experiment (experiments/directions_compare.py):
the directions a group holds, its averages, the paired bootstrap between two non-baseline
systems per class and group, the file's errors, and the lmt experiment asking for them."""

import re
from pathlib import Path

import pytest
import sacrebleu

from babelbridge.errors import BabelBridgeError
from babelbridge.evaluate import Cell, Direction, TestSet, build_directions_report
from babelbridge.evaluate.any_to_any import DirectionsEvaluation
from babelbridge.experiments import directions_compare as dc

EN, DE, FR, ES, TR = "eng_Latn", "deu_Latn", "fra_Latn", "spa_Latn", "tur_Latn"
D = Direction
REFS = ["The cat sat on the mat today.", "A dog ran in the park.", "Rain fell all night long.",
        "She read the old letter twice."]
WRONG = ["It is what it is.", "Nothing here.", "Words, words, words.", "Something else entirely."]
GROUPS = {"Romance": [FR, ES], "others": [DE, TR]}


def test_a_group_holds_the_directions_whose_every_non_hub_language_is_in_it():
    ds = [D(DE, EN), D(EN, FR), D(FR, EN), D(FR, ES), D(FR, DE), D(EN, TR)]
    assert dc.group_directions(ds, [EN], [FR, ES]) == [D(EN, FR), D(FR, EN), D(FR, ES)]
    assert dc.group_directions(ds, [EN], [DE, TR]) == [D(DE, EN), D(EN, TR)]
    assert dc.group_directions(ds, [EN, FR], [DE]) == [D(DE, EN), D(FR, DE)]  # two hubs: French is one


def fake_evaluation():
    """Systems a (baseline), b, c over 3 X->En and 3 En->X directions: b translates the Romance
    directions word for word and the others as a does; c answers every verse wrongly."""
    directions = [D(FR, EN), D(ES, EN), D(DE, EN), D(EN, FR), D(EN, ES), D(EN, TR)]
    sets = [TestSet(d.src, d.tgt, tuple(f"s{i}" for i in range(4)), tuple(REFS), "fake", name=d.name)
            for d in directions]
    romance = {d.name for d in directions if FR in (d.src, d.tgt) or ES in (d.src, d.tgt)}
    half = REFS[:2] + WRONG[2:]
    hyps = {"a": {ts.name: list(half) for ts in sets},
            "b": {ts.name: list(REFS) if ts.name in romance else list(half) for ts in sets},
            "c": {ts.name: list(WRONG) for ts in sets}}
    cells = {"a": {d.name: {"chrf++": Cell(20.0, 10.0)} for d in directions},
             "b": {d.name: {"chrf++": Cell(40.0 if d.name in romance else 20.0, 12.0)} for d in directions},
             "c": {d.name: {"chrf++": Cell(5.0, 5.0)} for d in directions}}
    cells["b"]["fra_Latn-eng_Latn"]["chrf++"] = Cell(60.0, 12.0)  # Romance X->En: 60 and 40, mean 50
    report = build_directions_report(cells, directions=directions, hubs=[EN], baseline="a", metrics=["chrf++"])
    return DirectionsEvaluation(report, sets, hyps)


def test_group_averages_by_hand():
    lines, data = dc.compare({"groups": GROUPS}, fake_evaluation(), ["X->En", "En->X"])
    b = data["groups"]["averages"]["b"]["chrf++"]
    assert b["X->En"]["Romance"] == {"score": 50.0, "floor": 12.0, "gap": 38.0}
    assert b["X->En"]["others"] == {"score": 20.0, "floor": 12.0, "gap": 8.0}
    assert b["X->En"][dc.WHOLE_CLASS]["score"] == pytest.approx(40.0)
    assert b["En->X"]["others"]["score"] == 20.0  # En->Tr only
    assert "| b | 50.00 (+38.00) | 20.00 (+8.00) | 40.00 (+28.00) | 20.00 (+8.00) |" in "\n".join(lines)
    assert "compare" not in data


def test_paired_comparison_per_class_and_group():
    ev = fake_evaluation()
    lines, data = dc.compare({"compare": [{"system": "b", "against": "c"}, {"system": "b", "against": "a"}],
                              "groups": GROUPS}, ev, ["X->En", "En->X"], n_samples=200)
    tests = {(t["against"], t["class"], t["group"]): t for t in data["compare"]}
    assert list(tests)[:3] == [("c", "X->En", "all"), ("c", "X->En", "Romance"), ("c", "X->En", "others")]
    assert len(tests) == 2 * 2 * 3
    romance = tests[("a", "X->En", "Romance")]
    assert romance["directions"] == ["fra_Latn-eng_Latn", "spa_Latn-eng_Latn"]
    pooled_refs = REFS * 2
    expect_b = sacrebleu.corpus_chrf(REFS * 2, [pooled_refs], word_order=2).score
    expect_a = sacrebleu.corpus_chrf((REFS[:2] + WRONG[2:]) * 2, [pooled_refs], word_order=2).score
    assert romance["chrf++"]["score"] == pytest.approx(expect_b)
    assert romance["chrf++"]["baseline_score"] == pytest.approx(expect_a)
    assert romance["chrf++"]["segments"] == 8
    # outside the Romance group b is a: no difference, never "significant"
    assert tests[("a", "X->En", "others")]["chrf++"]["difference"] == 0.0
    assert tests[("a", "X->En", "others")]["chrf++"]["p"] == 1.0
    assert tests[("c", "En->X", "all")]["chrf++"]["difference"] > 0
    assert "\n| b | a | X->En | Romance (2) |" in "\n".join(lines)


def test_comparisons_of_absent_systems_are_dropped():
    section = {"compare": [{"system": "b", "against": "a"}, {"system": "x", "against": "a"}]}
    assert dc.restricted(section, {"a", "b"}) == {"compare": [{"system": "b", "against": "a"}]}
    assert dc.restricted({"paper": {}}, {"a"}) == {"paper": {}}
    assert dc.compare({}, fake_evaluation(), ["X->En"]) == ([], {})


@pytest.mark.parametrize("section, message", [
    ({"compare": {"system": "a", "against": "b"}}, "report.compare must be a list of {system: A, against: B}"),
    ({"compare": [{"system": "a"}]}, "report.compare[0] must be {system: A, against: B}"),
    ({"compare": [{"system": "a", "against": "z"}]}, "report.compare[0] names z, not among the systems (a, b)"),
    ({"compare": [{"system": "a", "against": "a"}]}, "report.compare[0] compares a with itself"),
    ({"groups": [FR]}, "report.groups must map a group's name to its languages"),
    ({"groups": {"Romance": []}}, "report.groups.Romance must be a non-empty list of language codes"),
    ({"groups": {"Romance": [FR, "ita_Latn"]}},
     "report.groups.Romance: ita_Latn not among the evaluation's languages (eng_Latn, fra_Latn, deu_Latn)"),
    ({"groups": {"all": [FR]}}, "report.groups: 'all' names the whole class"),
])
def test_bad_sections_are_refused(section, message):
    with pytest.raises(BabelBridgeError, match=re.escape(message)):
        dc.check_section(section, ["a", "b"], [EN, FR, DE], "x.yaml")


def test_the_lmt_experiment_compares_pmp_with_the_same_recipe_without_it(tmp_path):
    from babelbridge.experiments import experiment_file, load_experiment

    spec = load_experiment(experiment_file("lmt"))
    assert {"system": "lmt-p5-pmp-o", "against": "lmt-p5"} in spec.report["compare"]
    assert spec.report["groups"]["Romance"] == [FR, ES, "ita_Latn", "por_Latn", "ron_Latn"]
    shown = spec.restricted(["lmt-p100", "lmt-p5", "lmt-p5-pmp", "lmt-p5-pmp-o"])
    assert shown.report["compare"] == [{"system": "lmt-p5-pmp", "against": "lmt-p5"},
                                       {"system": "lmt-p5-pmp-o", "against": "lmt-p5"},
                                       {"system": "lmt-p5-pmp-o", "against": "lmt-p5-pmp"}]
    bad = Path(spec.path).read_text().replace("{system: lmt-p20, against: lmt-p5}", "{system: lmt-p30, against: lmt-p5}")
    (tmp_path / "lmt.yaml").write_text(bad)
    with pytest.raises(BabelBridgeError, match="report.compare.4. names lmt-p30, not among the systems"):
        load_experiment(str(tmp_path / "lmt.yaml"))
