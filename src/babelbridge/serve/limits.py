"""What one request may ask for, and how the batcher groups requests: plain, checked dataclasses.

Kept free of FastAPI and torch so the CLI can validate its options before importing either.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..errors import InputError

# A JSON client may escape every character: a non-BMP character is two \\uXXXX escapes, 12 bytes.
_JSON_BYTES_PER_CHAR = 12
_JSON_OVERHEAD = 64 * 1024  # keys, language codes, options, whitespace


def _check_numbers(owner: object, zero_ok: tuple[str, ...] = ()) -> None:
    for f in fields(owner):
        value, low = getattr(owner, f.name), 0 if f.name in zero_ok else 1
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low:
            raise InputError(f"{f.name} must be a number >= {low}, got {value!r}")


@dataclass(frozen=True)
class ServeLimits:
    """Per-request limits. A request over any of them gets a 4xx that names the limit."""

    max_texts: int = 64             # texts in one request
    max_chars: int = 2000           # characters in one text
    max_new_tokens: int = 512       # the highest options.max_new_tokens a client may ask for
    default_max_new_tokens: int = 256
    max_beam: int = 4               # the highest options.beam
    max_target_langs: int = 8       # languages in one "target_langs" request
    max_queue: int = 1024           # requests waiting for the model; beyond it: 503 + Retry-After

    def __post_init__(self) -> None:
        _check_numbers(self)
        if self.default_max_new_tokens > self.max_new_tokens:
            raise InputError(f"default max_new_tokens {self.default_max_new_tokens} is over the cap "
                             f"{self.max_new_tokens}")

    @property
    def max_body_bytes(self) -> int:
        """The largest request body that could still be within the limits (bigger: 413 unread)."""
        return self.max_texts * self.max_chars * _JSON_BYTES_PER_CHAR + _JSON_OVERHEAD


@dataclass(frozen=True)
class BatchConfig:
    """How the worker forms one generate call out of queued requests."""

    max_batch_size: int = 16        # texts per generate call (1 turns batching off)
    max_batch_tokens: int = 4096    # source tokens per generate call
    window_ms: float = 5.0          # how long the first request of a batch waits for company

    def __post_init__(self) -> None:
        _check_numbers(self, zero_ok=("window_ms",))
