"""Reading sources from, and writing translations to, plain, TSV and JSONL files.

    plain  one source per line. Blank (or whitespace-only) lines are *kept*: they come out as
           blank output lines and are never sent to the model, so line N of the output is
           always the translation of line N of the input (paragraph breaks survive).
    tsv    the source is column 1; every column is kept and the translation is appended as a
           new last column. No quoting: a tab always separates columns.
    jsonl  one JSON object per line with "src" (or, failing that, "text"); an optional
           "src_lang" overrides the command's --src-lang for that line. The output object is
           the input object plus "translation" (replacing one that is already there).

Only plain format keeps blank lines: in TSV and JSONL an empty source is an error naming
every offending line, raised while reading, i.e. before any model is loaded.

Big files are read one line at a time (`iter_lines`, `parse_record`): a line that cannot be
read (invalid UTF-8, bad JSON, an empty source) comes back as a `BadLine` saying why, so the
caller decides whether the file fails or the line is skipped.

Line breaks inside a translation (and tabs, in TSV) are written as spaces, so that one input
line is always one output line; JSONL escapes them instead and keeps them.

Output files are written completely or not at all (`atomic_output`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, TextIO

from .errors import InputError
from .languages import UnknownLanguageError, normalize_language

FORMATS = ("plain", "tsv", "jsonl")
EXTENSIONS = {".tsv": "tsv", ".jsonl": "jsonl"}  # anything else reads as plain

# Every character str.splitlines() breaks on; a translation holding one would become two lines.
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_LINE_BREAKS_AND_TABS = re.compile(r"\r\n|[\t\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


@dataclass
class Record:
    """One input line.

    line: 1-based line number in the input (or argument number for texts on the command line).
    src: the text to translate; None for a blank plain line (written back as a blank line).
    src_lang: a per-line source language (JSONL "src_lang"), already normalised; None: default.
    data: what the output keeps: the TSV columns, or the JSONL object.
    """

    line: int
    src: str | None
    src_lang: str | None = None
    data: Any = None


@dataclass(frozen=True)
class BadLine:
    """An input line that cannot be translated.

    kind: "utf8", "empty" (no source), "invalid" (not a usable JSONL object), or a caller's own
    ("src_lang", "aux", "long"); reason: why, without the line number (skip reports);
    problem: the same as the error message has always said it ("line 3 is not valid JSON ...").
    """

    line: int
    kind: str
    reason: str
    problem: str = ""


def detect_format(path: str | os.PathLike, explicit: str | None = None) -> str:
    """The explicit --format if given, else from the extension: .tsv, .jsonl, else plain."""
    if explicit is not None:
        if explicit not in FORMATS:
            raise InputError(f"unknown format {explicit!r}; accepted: {', '.join(FORMATS)}")
        return explicit
    return EXTENSIONS.get(Path(path).suffix.lower(), "plain")


def one_line(text: str, tsv: bool = False) -> str:
    """The text with line breaks (and, for TSV, tabs) replaced by spaces."""
    return (_LINE_BREAKS_AND_TABS if tsv else _LINE_BREAKS).sub(" ", text)


def split_lines(text: str) -> list[str]:
    """Lines as a text-mode file gives them (\\n, \\r\\n or \\r), without a final empty one."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the file ended with a newline (or was empty)
    return lines


def read_lines(path: str | os.PathLike) -> list[str]:
    """A UTF-8 file's lines (a leading BOM is dropped); invalid UTF-8 names its line."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise InputError(f"{path} line {line} is not valid UTF-8 ({err.reason}); "
                         f"save the file as UTF-8") from None
    return split_lines(text)


def iter_lines(path: str | os.PathLike) -> Iterator[str | BadLine]:
    """read_lines, one line at a time (memory: one line): each line's text, or a BadLine where
    it is not valid UTF-8. Lines end where a text-mode file ends them (\\n, \\r\\n or \\r), so
    line N here is line N of read_lines; a leading BOM is dropped."""
    n = 0
    with open(path, "rb") as f:
        for raw in f:  # binary iteration splits on \n only
            if raw.endswith(b"\n"):
                raw = raw[:-1]
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            for piece in raw.split(b"\r"):  # a lone \r ends a line in text mode too
                n += 1
                try:
                    yield piece.decode("utf-8-sig" if n == 1 else "utf-8")
                except UnicodeDecodeError as err:
                    yield BadLine(n, "utf8", f"not valid UTF-8 ({err.reason}); save the file as UTF-8",
                                  f"line {n} is not valid UTF-8 ({err.reason}); save the file as UTF-8")


def _numbers(lines: list[int], limit: int = 20) -> str:
    shown = ", ".join(map(str, lines[:limit]))
    return shown + (f" ... ({len(lines)} in all)" if len(lines) > limit else "")


def raise_problems(where: str, fmt: str, empty: list[int], problems: list[str], hint: str = "") -> None:
    """One InputError for all of a file's bad lines (nothing when there are none): the empty
    sources by line number, then the first five other problems."""
    messages = []
    if empty:
        what = {"tsv": "in column 1", "jsonl": 'in "src"/"text"'}.get(fmt, "")
        messages.append(f"empty source {what + ' ' if what else ''}on line {_numbers(empty)} "
                        f"(every {fmt} line needs a source; only plain format keeps blank lines)")
    messages += problems[:5]
    if len(problems) > 5:
        messages.append(f"... {len(problems) - 5} more problem(s)")
    if messages:
        raise InputError(f"{where}: " + "; ".join(messages) + hint)


def parse_record(n: int, line: str, fmt: str) -> Record | BadLine:
    """Line n (1-based) of a plain, tsv or jsonl input: its Record, or a BadLine saying why not."""
    if fmt == "plain":
        return Record(n, line if line.strip() else None)
    if fmt == "tsv":
        columns = line.split("\t")
        if not columns[0].strip():
            return BadLine(n, "empty", "empty source in column 1")
        return Record(n, columns[0], data=columns)
    if fmt != "jsonl":
        raise InputError(f"unknown format {fmt!r}; accepted: {', '.join(FORMATS)}")
    if not line.strip():
        return BadLine(n, "empty", "empty line")

    def bad(reason: str, problem: str) -> BadLine:
        return BadLine(n, "invalid", reason, problem)

    try:
        obj = json.loads(line)
    except json.JSONDecodeError as err:
        why = f"not valid JSON ({err.msg} at column {err.colno})"
        return bad(why, f"line {n} is {why}")
    if not isinstance(obj, dict):
        why = f"a JSON {type(obj).__name__}, not an object with \"src\""
        return bad(why, f"line {n} is {why}")
    key = "src" if "src" in obj else "text" if "text" in obj else None
    if key is None:
        why = f'no "src" (or "text") key; keys: {", ".join(obj) or "none"}'
        return bad(why, f"line {n} has {why}")
    src = obj[key]
    if not isinstance(src, str):
        why = f'"{key}" must be a string, not {type(src).__name__}'
        return bad(why, f"line {n}: {why}")
    if not src.strip():
        return BadLine(n, "empty", f'empty source in "{key}"')
    lang = obj.get("src_lang")
    if lang is not None:
        if not isinstance(lang, str):
            why = f'"src_lang" must be a string, not {type(lang).__name__}'
            return bad(why, f"line {n}: {why}")
        try:
            lang = normalize_language(lang)
        except UnknownLanguageError as err:
            return bad(f'"src_lang": {err}', f'line {n}: "src_lang": {err}')
    return Record(n, src, lang, obj)


def parse_plain(lines: list[str]) -> list[Record]:
    return [parse_record(n, line, "plain") for n, line in enumerate(lines, 1)]


def _parse_all(lines: list[str], fmt: str, where: str) -> list[Record]:
    records, empty, problems = [], [], []
    for n, line in enumerate(lines, 1):
        got = parse_record(n, line, fmt)
        if isinstance(got, Record):
            records.append(got)
        elif got.kind == "empty":
            empty.append(n)
        else:
            problems.append(got.problem)
    raise_problems(where, fmt, empty, problems)
    return records


def parse_tsv(lines: list[str], where: str = "input") -> list[Record]:
    return _parse_all(lines, "tsv", where)


def parse_jsonl(lines: list[str], where: str = "input") -> list[Record]:
    return _parse_all(lines, "jsonl", where)


def parse(lines: list[str], fmt: str, where: str = "input") -> list[Record]:
    if fmt == "plain":
        return parse_plain(lines)
    if fmt == "tsv":
        return parse_tsv(lines, where)
    if fmt == "jsonl":
        return parse_jsonl(lines, where)
    raise InputError(f"unknown format {fmt!r}; accepted: {', '.join(FORMATS)}")


def read_records(path: str | os.PathLike, fmt: str) -> list[Record]:
    """Every record of an input file, or an InputError naming the bad lines."""
    return parse(read_lines(path), fmt, where=str(path))


def format_record(record: Record, translation: str | dict[str, str] | None, fmt: str) -> str:
    """The output line (without its newline) for one record and its translation, or its
    translations into several languages ({language: text}, in the order asked): one column
    each in plain (tab-separated) and tsv, a "translations" object in jsonl."""
    if record.src is None:  # blank plain line
        return ""
    several = list(translation.values()) if isinstance(translation, dict) else None
    if fmt == "plain":
        return "\t".join(one_line(t, tsv=True) for t in several) if several is not None else one_line(translation)
    if fmt == "tsv":
        return "\t".join([*record.data, *(one_line(t, tsv=True) for t in (several or [translation]))])
    if fmt == "jsonl":
        key = "translations" if several is not None else "translation"
        return json.dumps({**record.data, key: translation}, ensure_ascii=False)
    raise InputError(f"unknown format {fmt!r}; accepted: {', '.join(FORMATS)}")


def _new_file_mode(path: Path) -> int:
    """The mode the file would have from a plain open(): the old file's, else 0o666 & ~umask."""
    with contextlib.suppress(OSError):
        return os.stat(path).st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[TextIO]:
    """A text file that replaces `path` only when the block finishes without an exception.

    Written to a temporary file in the same directory (so the final os.replace is atomic);
    on any exception, KeyboardInterrupt included, the temporary file is removed and whatever
    was at `path` before is left untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _new_file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_records(path: str | os.PathLike, records: list[Record], translations: list[str | None],
                  fmt: str) -> None:
    """Write every record with its translation, atomically."""
    with atomic_output(path) as f:
        for record, translation in zip(records, translations, strict=True):
            f.write(format_record(record, translation, fmt) + "\n")
