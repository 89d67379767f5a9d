import pytest
from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

from babelbridge.languages import (
    DEFAULT_SCRIPT,
    Language,
    UnknownLanguageError,
    all_languages,
    format_language_table,
    get_language,
    normalize_language,
    related_languages,
    search_languages,
)
from babelbridge.languages.registry import _registry


def codes(langs):
    return [lang.code for lang in langs]


def test_registry_has_exactly_the_nllb_codes():
    got = codes(all_languages())
    assert len(got) == len(set(got)) == len(FAIRSEQ_LANGUAGE_CODES)
    assert set(got) == set(FAIRSEQ_LANGUAGE_CODES)
    assert got == sorted(got)
    assert all_languages() is all_languages()  # loaded once


def test_rows_are_complete_and_consistent():
    names = set()
    for lang in all_languages():
        assert lang.name and lang.script and lang.family and lang.branch, lang
        iso3, script = lang.code.split("_")
        assert (lang.iso639_3, lang.script) == (iso3, script)
        assert lang.iso639_1 is None or (len(lang.iso639_1) == 2 and lang.iso639_1.islower())
        assert lang.name not in names, f"duplicate name {lang.name}"
        names.add(lang.name)
        assert str(lang) == lang.code
    arabic = [l for l in all_languages() if l.script == "Arab" and l.iso639_3 in
              {"arb", "acm", "apc", "ars", "ary", "arz", "acq", "aeb", "ajp"}]
    assert len(arabic) == 9
    assert {(l.family, l.branch) for l in arabic} == {("Afro-Asiatic", "Semitic")}


@pytest.mark.parametrize("alias", ["de", "deu", "German", "german", "deu_Latn", "DEU_LATN"])
def test_aliases_resolve_to_canonical_code(alias):
    assert normalize_language(alias) == "deu_Latn"
    assert get_language(alias) == get_language("deu_Latn")


@pytest.mark.parametrize("alias, code", [
    ("zh", "zho_Hans"), ("zho", "zho_Hans"), ("Chinese", "zho_Hans"), ("zh-Hant", "zho_Hant"),
    ("zho_Hant", "zho_Hant"), ("ace", "ace_Latn"), ("kas", "kas_Arab"), ("ar", "arb_Arab"),
    ("fa", "pes_Arab"), ("no", "nob_Latn"), ("Chinese (Traditional)", "zho_Hant"),
])
def test_ambiguous_and_macro_aliases(alias, code):
    assert normalize_language(alias) == code


def test_every_multi_script_language_has_a_default_script():
    by_iso3 = {}
    for lang in all_languages():
        by_iso3.setdefault(lang.iso639_3, []).append(lang.script)
    multi = {iso3: scripts for iso3, scripts in by_iso3.items() if len(scripts) > 1}
    assert multi.keys() == DEFAULT_SCRIPT.keys()
    for iso3, script in DEFAULT_SCRIPT.items():
        assert script in multi[iso3]
        assert normalize_language(iso3) == f"{iso3}_{script}"


def test_iso639_1_never_maps_to_another_language():
    index = _registry().index
    for lang in all_languages():
        assert normalize_language(lang.code) == lang.code
        assert get_language(lang.iso639_3).iso639_3 == lang.iso639_3
        assert get_language(lang.name).code == lang.code
        if lang.iso639_1:
            assert get_language(lang.iso639_1).iso639_3 == lang.iso639_3, lang.iso639_1
    assert all(code in {l.code for l in all_languages()} for code in index.values())


def test_unknown_code_suggests_closest():
    with pytest.raises(UnknownLanguageError, match="deu_Latn") as exc:
        get_language("deu_Latm")
    err = exc.value
    assert isinstance(err, ValueError)
    assert err.query == "deu_Latm"
    assert err.suggestions[0] == "deu_Latn"
    assert len(err.suggestions) == len(set(err.suggestions)) <= 5
    assert "'deu_Latm'" in str(err)


def test_unknown_code_without_close_match():
    with pytest.raises(UnknownLanguageError, match="unknown language code 'xx'") as exc:
        get_language("xx")
    assert exc.value.suggestions == []
    assert "babelbridge languages" in str(exc.value)


def test_bad_input():
    with pytest.raises(UnknownLanguageError, match="empty"):
        get_language("")
    with pytest.raises(TypeError, match="str"):
        get_language(42)


def test_search_by_branch_family_script_and_query():
    romance = codes(search_languages(branch="Romance"))
    assert {"fra_Latn", "spa_Latn", "ita_Latn", "por_Latn", "ron_Latn"} <= set(romance)
    assert "deu_Latn" not in romance
    assert codes(search_languages(branch="romance")) == romance
    assert "deu_Latn" in codes(search_languages(family="indo-european", branch="Germanic"))
    assert set(codes(search_languages(script="Hant"))) == {"yue_Hant", "zho_Hant"}
    assert "deu_Latn" in codes(search_languages("germ"))
    assert "deu_Latn" in codes(search_languages("de"))  # alias match
    assert search_languages(branch="Romance", script="Cyrl") == []
    assert len(search_languages()) == len(all_languages())


def test_related_languages():
    related = codes(related_languages("deu_Latn"))
    assert "nld_Latn" in related and "deu_Latn" not in related
    assert related.index("nld_Latn") < related.index("fra_Latn")  # branch before family
    assert "tur_Latn" not in related
    assert codes(related_languages("zho_Hant", limit=1)) == ["zho_Hans"]  # same language first
    assert codes(related_languages("de", limit=3)) == related[:3]
    assert related_languages("eus_Latn") == []  # isolate
    assert "tpi_Latn" not in codes(related_languages("hat_Latn"))  # creoles are not a family


def test_format_language_table():
    table = format_language_table([get_language("de"), get_language("zh")])
    lines = table.splitlines()
    assert lines[0].split() == ["code", "name", "script", "family", "branch"]
    assert lines[2].startswith("deu_Latn") and "Germanic" in lines[2]
    assert "Chinese (Simplified)" in lines[3]
    assert len({line.index("Latn") for line in lines if line.startswith("deu")}) == 1
    assert isinstance(get_language(get_language("de")), Language)
