"""LMT's PMP auxiliary language: a related high-resource language of X, English for Zh<->X."""

from babelbridge.languages.auxiliary import HIGH_RESOURCE, auxiliary_table, pmp_auxiliary

BIBLE_HIGH = [c for c in HIGH_RESOURCE if c in {"eng_Latn", "deu_Latn", "fra_Latn", "spa_Latn", "ita_Latn", "por_Latn",
                                               "rus_Cyrl", "ukr_Cyrl", "pol_Latn", "tur_Latn", "arb_Arab", "pes_Arab",
                                               "hin_Deva", "ind_Latn", "vie_Latn", "zho_Hans", "jpn_Jpan", "kor_Hang"}]


def test_a_romance_language_gets_a_romance_auxiliary_and_either_direction_agrees():
    assert pmp_auxiliary("eng_Latn", "ron_Latn", candidates=BIBLE_HIGH) == pmp_auxiliary("ron_Latn", "en",
                                                                                         candidates=BIBLE_HIGH)
    aux = pmp_auxiliary("eng_Latn", "ron_Latn", candidates=BIBLE_HIGH)
    assert aux.lang == "fra_Latn" and aux.why == "same branch (Romance)"  # same script first, then by code
    assert pmp_auxiliary("en", "uk", candidates=BIBLE_HIGH).lang == "rus_Cyrl"


def test_chinese_directions_take_english_and_the_isolated_take_the_fallback():
    assert pmp_auxiliary("zho_Hans", "deu_Latn").lang == "eng_Latn"
    assert pmp_auxiliary("swh_Latn", "zh").why == "Zh<->X: English"
    # Korean has no relative among the candidates and no other Hangul language: the fallback
    assert pmp_auxiliary("eng_Latn", "kor_Hang", candidates=BIBLE_HIGH).lang is None
    assert pmp_auxiliary("eng_Latn", "kor_Hang", candidates=BIBLE_HIGH, fallback="jpn_Jpan").lang == "jpn_Jpan"
    assert pmp_auxiliary("eng_Latn", "eus_Latn", candidates=["spa_Latn", "rus_Cyrl"]).why == "same script (Latn)"


def test_the_table_is_configurable_and_never_picks_a_side_of_the_direction():
    assert pmp_auxiliary("eng_Latn", "deu_Latn", overrides={"deu_Latn": "nld_Latn"}).lang == "nld_Latn"
    assert pmp_auxiliary("fra_Latn", "ita_Latn", candidates=["fra_Latn", "ita_Latn", "spa_Latn"]).lang == "spa_Latn"
    table = auxiliary_table([("eng_Latn", "hin_Deva")], candidates=BIBLE_HIGH + ["ben_Beng"])
    assert "| eng_Latn -> hin_Deva | ben_Beng | same branch (Indo-Aryan) |" in table
