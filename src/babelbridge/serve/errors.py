"""Errors the server answers with a JSON body: {"error": {"type", "message", ...}} and a status."""

from __future__ import annotations

from ..errors import BabelBridgeError, InputError


class ServeError(BabelBridgeError):
    """An error with the HTTP status and the machine-readable type the client receives."""

    def __init__(self, status: int, kind: str, message: str, **extra):
        super().__init__(message)
        self.status, self.kind, self.message, self.extra = status, kind, message, extra

    def body(self) -> dict:
        return {"error": {"type": self.kind, "message": self.message, **self.extra}}


class RequestError(ServeError, InputError):
    """The client's request is wrong (4xx); the message says what is accepted."""


def overloaded(depth: int) -> ServeError:
    return ServeError(503, "overloaded", f"the server has {depth} requests waiting (its limit); retry shortly")


def shutting_down() -> ServeError:
    return ServeError(503, "shutting_down", "the server is shutting down and accepts no new requests")
