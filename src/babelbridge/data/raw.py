"""Shared by the format readers: decoded lines, and pairs that still know where they came from."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, NamedTuple

from .errors import DataError

Location = tuple[Path, int]  # (file, 1-based line or row), printed as "file:line"


def where(loc: Location) -> str:
    return f"{loc[0]}:{loc[1]}"


class RawPair(NamedTuple):
    """A pair before the empty-line policy: each side keeps its location for error messages."""

    src: str
    tgt: str
    src_lang: str | None
    tgt_lang: str | None
    src_at: Location
    tgt_at: Location


class RawTriple(NamedTuple):
    """A RawPair plus its pivot sentence (a multi-way corpus: x, y and e.g. their English)."""

    src: str
    tgt: str
    src_lang: str | None
    tgt_lang: str | None
    src_at: Location
    tgt_at: Location
    pivot: str
    pivot_at: Location


def require_file(path: Path, what: str = "corpus file") -> None:
    if not path.exists():
        raise DataError(f"{what} not found: {path}")
    if not path.is_file():
        raise DataError(f"{what} is not a regular file: {path}")


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) for each line of a UTF-8 file, without its trailing newline/CR.

    Lines are split on "\\n" only: str.splitlines would also split on characters that occur
    inside real sentences (U+2028, U+0085, form feed). Decoding line by line lets an encoding
    error name its exact line. A UTF-8 byte-order mark at the start is dropped.
    """
    require_file(path)
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise DataError(f"{path}:{lineno}: not valid UTF-8 ({err.reason} at byte {err.start})") from None
            yield lineno, text.rstrip("\r\n")
