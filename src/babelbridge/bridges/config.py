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
        fields = {f.name: f for f in dataclasses.fields(cls)}
        return cls(**{k: _coerce(k, str(fields[k].type), v) for k, v in values.items()})


def _coerce(name: str, annotation: str, value):
    """YAML reads `1e-5` as a string (YAML 1.1 wants `1.0e-5`): accept it where a number is due."""
    if not isinstance(value, str):
        return value
    for kind, convert in (("float", float), ("int", int)):
        if annotation.split(" |")[0] == kind:
            try:
                return convert(value)
            except ValueError:
                raise BabelBridgeError(f"{name} must be a number ({kind}), got {value!r}") from None
    return value
