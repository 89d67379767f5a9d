"""Two plain ASGI middlewares: a request-body size limit and per-request metrics."""

from __future__ import annotations

import json
import time

from starlette.exceptions import HTTPException

from .metrics import Metrics


class BodyLimit:
    """413 for a body over max_bytes, before it is read into memory.

    A declared Content-Length is refused at once; a chunked body is counted as it arrives and
    refused at the first byte over (raised inside the app, where the error handlers answer it).
    On plain_paths (LibreTranslate's) the body is that API's {"error": "message"}.
    """

    def __init__(self, app, max_bytes: int, plain_paths: tuple[str, ...] = ()):
        self.app, self.max_bytes, self.plain_paths = app, max_bytes, plain_paths

    def _message(self, size: str) -> str:
        return f"request body is {size}; accepted: at most {self.max_bytes} bytes"

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            message = self._message(f"{int(declared)} bytes")
            error = message if scope["path"] in self.plain_paths else {"type": "body_too_large", "message": message}
            body = json.dumps({"error": error}).encode()
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})
            return
        received = 0

        async def limited():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, self._message(f"over {self.max_bytes} bytes"))
            return message

        await self.app(scope, limited, send)


class RecordMetrics:
    """Counts every response by route and status; times successful translations."""

    def __init__(self, app, metrics: Metrics, timed_paths: tuple[str, ...] = ("/v1/translate",)):
        self.app, self.metrics, self.timed_paths = app, metrics, timed_paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), 500

        async def capture(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            # The route's template, never the raw path: random 404 paths must not grow the counters.
            route = scope.get("route")
            path = getattr(route, "path", None) or "other"
            seconds = time.perf_counter() - started if path in self.timed_paths and status == 200 else None
            self.metrics.record_request(path, status, seconds)
