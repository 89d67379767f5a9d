"""Bridge configs are dataclasses that round-trip through JSON and reject unknown keys."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..errors import BabelBridgeError


class BridgeConfig:
    """Mixin for @dataclass configs: to_dict/from_dict with clear errors for unknown keys."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise BabelBridgeError(
                f"unknown {cls.__name__} option(s): {', '.join(unknown)}; accepted: {', '.join(sorted(names))}"
            )
        return cls(**values)
