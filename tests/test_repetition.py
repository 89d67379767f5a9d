"""The output symptoms the any-to-any report counts (evaluate/repetition.py): loops, identical
outputs, length, and recall of training text (the shallow mapping trap's replayed sentence)."""

import pytest

from babelbridge.evaluate.repetition import loops, output_stats, recalls, word_ngrams

GENESIS = "And God said, Let there be light: and there was light."
RUTH = "And Naomi said to her two daughters-in-law, Go, return each to her mother's house."


def test_a_loop_is_one_word_4gram_three_times():
    assert loops("and they ate and drank and they ate and drank and they ate and drank")
    assert not loops("and they ate and drank and they ate and drank")  # twice
    assert not loops("")


def test_word_ngrams_ignore_case_and_punctuation():
    assert word_ngrams("And God said, Let there be light.", 6) == {
        ("and", "god", "said", "let", "there", "be"), ("god", "said", "let", "there", "be", "light")}
    assert word_ngrams("too short to count", 6) == set()


def test_an_output_recalls_training_text_only_with_an_ngram_its_reference_lacks():
    seen = word_ngrams(GENESIS)
    replayed = "And God said, let there be light, and Naomi went home."
    assert recalls(replayed, RUTH, seen)
    # the same 6-gram in the reference is a formula the test verse shares: not a recall
    assert not recalls(replayed, "And God said, Let there be light, and Naomi went to Moab.", seen)
    assert not recalls(RUTH, RUTH, seen)  # a faithful output
    assert not recalls(replayed, RUTH, set())  # nothing trained on in this language


def test_output_stats_by_hand():
    hyps = [["a b c d a b c d a b c d", "same", "same"], ["And God said, Let there be light and more", "x y"]]
    refs = [["w w w w", "w w", "w w"], [RUTH, "z"]]
    seen = [set(), word_ngrams(GENESIS)]
    stats = output_stats(hyps, refs, seen)
    words = 12 + 1 + 1 + 9 + 2
    assert stats.segments == 5
    assert stats.words == pytest.approx(words / 5)
    assert stats.length_ratio == pytest.approx(words / (4 + 2 + 2 + len(RUTH.split()) + 1))
    assert stats.looping == pytest.approx(1 / 5)
    assert stats.identical == pytest.approx(2 / 5)  # "same" twice in the first set
    assert stats.recalled == pytest.approx(1 / 5)
    assert output_stats(hyps, refs).recalled is None
    with pytest.raises(ValueError, match="1 sets of training n-grams for 2 sets of outputs"):
        output_stats(hyps, refs, [set()])


def test_training_ngrams_pool_every_side_of_every_systems_pairs_by_language():
    from babelbridge.experiments.directions_report import training_ngrams
    from babelbridge.pairs import TranslationPair

    de = "Und Gott sprach: Es werde Licht! Und es ward Licht."
    fr = "Dieu dit: Que la lumière soit! Et la lumière fut."
    lists = {"a": [TranslationPair(de, GENESIS, "deu_Latn", "eng_Latn")],
             "b": [TranslationPair(GENESIS, fr, "eng_Latn", "fra_Latn", pivot=RUTH, pivot_lang="eng_Latn")]}
    assert training_ngrams(lists) == {"deu_Latn": word_ngrams(de), "fra_Latn": word_ngrams(fr),
                                      "eng_Latn": word_ngrams(GENESIS) | word_ngrams(RUTH)}


def test_reference_recall_pairs_each_reference_with_the_one_half_the_set_away():
    """The faithful level printed beside the recall column: reference i checked as the output for
    verse i + n//2 (the floor's pairing), against the training n-grams of the target language only."""
    from babelbridge.evaluate.any_to_any import DirectionsEvaluation, build_directions_report
    from babelbridge.evaluate.testsets import TestSet
    from babelbridge.experiments.directions_report import _reference_recall

    # English references 0 and 1 hold the trained Genesis verse, 2 and 3 do not: paired 0<->2, 1<->3,
    # two of the four hold a training 6-gram their partner lacks (a neighbour pairing would give 1 of 4)
    english = (GENESIS + " Then Ruth left.", GENESIS + " Then Naomi left.", RUTH, RUTH + " Orpah stayed.")
    german = english  # the same text with a German target: nothing trained on in German
    sets = [TestSet("deu_Latn", "eng_Latn", ("s",) * 4, english, "fake", name="deu_Latn-eng_Latn"),
            TestSet("eng_Latn", "deu_Latn", ("s",) * 4, german, "fake", name="eng_Latn-deu_Latn")]
    report = build_directions_report({"a": {ts.name: {"chrf++": 1.0} for ts in sets}}, hubs=["eng_Latn"])
    ev = DirectionsEvaluation(report, sets, {"a": {ts.name: list(ts.references) for ts in sets}})
    assert _reference_recall(ev, {"eng_Latn": word_ngrams(GENESIS)}) == {"X->En": 0.5, "En->X": 0.0}
