"""The FastAPI app: routes, API key, JSON errors, and the batcher's life.

    POST /v1/translate   {"text"|"texts", "source_lang", "target_lang"|"target_langs", "options"} -> translations
                         (one string per text; with "target_langs", one {language: text} per text)
    GET  /v1/languages   the codes accepted as source and target
    GET  /health         liveness and the model's identity (no API key needed: load balancers)
    GET  /metrics        JSON (or ?format=prometheus): requests by status, latency, batch sizes
    POST /translate, POST /detect, GET /languages: the LibreTranslate API (libretranslate.py)

Every error is JSON, {"error": {"type", "message", ...}} (on LibreTranslate's routes its
{"error": "..."}), never a traceback. Startup starts the model worker; shutdown (after uvicorn
has stopped accepting connections and finished the open ones) lets it finish everything
queued before it stops.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException

from ..errors import InputError
from ..languages import all_languages
from .auth import header_key, key_matches
from .batcher import Batcher
from .engine import BridgeEngine
from .errors import RequestError, ServeError
from .libretranslate import PATHS as LIBRE_PATHS
from .libretranslate import libretranslate_router
from .limits import BatchConfig, ServeLimits
from .metrics import Metrics, prometheus_text
from .middleware import BodyLimit, RecordMetrics
from .schema import ACCEPTED, TranslateRequest, check_request

def create_app(engine: BridgeEngine, *, model: str, limits: ServeLimits | None = None,
               batch: BatchConfig | None = None, api_key: str | None = None) -> FastAPI:
    limits, batch = limits or ServeLimits(), batch or BatchConfig()
    metrics = Metrics()
    identity = engine.describe()  # once: it hashes the vocabularies, too slow for every /health

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Reading the encoder's vocabulary for 202 codes can take seconds on a real model:
        # once, here, off the event loop.
        app.state.source_languages = set(await asyncio.to_thread(engine.source_languages))
        app.state.batcher = Batcher(engine, batch, max_queue=limits.max_queue, metrics=metrics).start()
        try:
            yield
        finally:
            await asyncio.to_thread(app.state.batcher.close)

    app = FastAPI(title="babelbridge", summary="Translate with a babelbridge bridge", lifespan=lifespan)
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes, plain_paths=LIBRE_PATHS)
    # outermost: it also counts the 413s above
    app.add_middleware(RecordMetrics, metrics=metrics, timed_paths=("/v1/translate", "/translate"))
    app.state.metrics = metrics
    _add_error_handlers(app)

    async def require_key(request: Request) -> None:
        if api_key is None:
            return
        if not key_matches(header_key(request.headers), api_key):
            raise ServeError(401, "unauthorized", "missing or wrong API key; accepted: the header "
                             "'Authorization: Bearer KEY' or 'X-API-Key: KEY'")

    protected = [Depends(require_key)]

    @app.post("/v1/translate", dependencies=protected)
    async def translate(body: TranslateRequest, request: Request) -> dict:
        texts, key = check_request(body, limits, request.app.state.source_languages)
        try:
            done = await request.app.state.batcher.translate(texts, key)
        except (ServeError, InputError):
            raise
        except Exception:  # the batcher has logged it; the client gets no internals
            raise ServeError(500, "generation_failed", "the model failed on the batch holding this "
                             "request; the server log has the details") from None
        options = {"max_new_tokens": key.max_new_tokens, "beam": key.num_beams}
        usage = {"texts": len(texts), "source_characters": sum(map(len, texts)), "source_tokens": done.source_tokens}
        if body.target_langs is None:
            return {
                "translations": done.translations,
                "model": model,
                "source_lang": key.src_lang,
                "target_lang": key.tgt_lang,
                "options": options,
                "usage": {**usage, "translation_characters": sum(map(len, done.translations))},
            }
        # Several languages: one {language: text} per input. A 1-language "target_langs" request
        # shares its batch with "target_lang" ones, so its translations come back as strings.
        translations = [t if isinstance(t, dict) else {key.tgt_langs[0]: t} for t in done.translations]
        by_lang = {lang: sum(len(t[lang]) for t in translations) for lang in key.tgt_langs}
        return {
            "translations": translations,
            "model": model,
            "source_lang": key.src_lang,
            "target_langs": list(key.tgt_langs),
            "options": options,
            "usage": {**usage, "translation_characters": sum(by_lang.values()),
                      "translation_characters_by_lang": by_lang},
        }

    @app.get("/v1/languages", dependencies=protected)
    async def languages(request: Request) -> dict:
        readable = request.app.state.source_languages
        table = [{"code": lang.code, "name": lang.name, "script": lang.script, "iso639_1": lang.iso639_1,
                  "iso639_3": lang.iso639_3} for lang in all_languages()]
        return {
            "source_languages": [row for row in table if row["code"] in readable],
            "target_languages": table,
            "default_target": "eng_Latn",
            "note": "codes are FLORES-200 (deu_Latn); ISO 639-1/639-3 codes (de, deu) and English names "
                    "(German) are accepted too",
        }

    @app.get("/health")
    async def health(request: Request) -> JSONResponse:
        batcher = getattr(request.app.state, "batcher", None)
        ok = batcher is not None and batcher.alive
        return JSONResponse({"status": "ok" if ok else "unavailable", "model": model, **identity,
                             "queue_depth": batcher.queue_depth if batcher else 0},
                            status_code=200 if ok else 503)

    @app.get("/metrics", dependencies=protected)
    async def metrics_endpoint(request: Request, format: str = "json"):
        if format not in ("json", "prometheus"):
            raise RequestError(422, "invalid_request", f"format={format!r}; accepted: json, prometheus")
        batcher = getattr(request.app.state, "batcher", None)
        snapshot = metrics.snapshot(queue_depth=batcher.queue_depth if batcher else 0)
        snapshot["limits"] = {**vars(limits), "max_body_bytes": limits.max_body_bytes}
        snapshot["batching"] = vars(batch)
        if format == "prometheus":
            return PlainTextResponse(prometheus_text(snapshot), media_type="text/plain; version=0.0.4")
        return snapshot

    app.include_router(libretranslate_router(limits, api_key))
    return app


def _error(status: int, kind: str, message: str, headers: dict | None = None, **extra) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message, **extra}}, status_code=status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    retry = {503: {"Retry-After": "1"}, 401: {"WWW-Authenticate": "Bearer"}}

    @app.exception_handler(ServeError)
    async def serve_error(request, err: ServeError):
        return JSONResponse(err.body(), status_code=err.status, headers=retry.get(err.status))

    @app.exception_handler(InputError)
    async def input_error(request, err: InputError):  # raised by the bridge, e.g. a missing language token
        return _error(422, "invalid_input", str(err))

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request, err: RequestValidationError):
        errors = err.errors()
        bad_json = [e for e in errors if e.get("type") == "json_invalid"]
        if bad_json:
            where = bad_json[0].get("ctx", {}).get("error", "")
            return _error(400, "invalid_json", f"the request body is not valid JSON ({where}); accepted: {ACCEPTED}")
        content_type = request.headers.get("content-type", "")
        if "json" not in content_type and any(tuple(e["loc"]) == ("body",) and e["type"] != "missing" for e in errors):
            # FastAPI reads a body as JSON only when it is labelled JSON.
            return _error(415, "unsupported_media_type", f"the body was sent as {content_type or 'no content type'!r}, "
                          f"not JSON; accepted: Content-Type: application/json and {ACCEPTED}")
        return _error(422, "invalid_request", f"{_describe(errors)}; accepted: {ACCEPTED}",
                      fields=[".".join(map(str, e["loc"][1:])) or "body" for e in errors[:10]])

    @app.exception_handler(Exception)
    async def internal_error(request, err: Exception):  # a bug: logged by the server, opaque to the client
        return _error(500, "internal_error", "internal server error; the server log has the details")

    @app.exception_handler(HTTPException)
    async def http_error(request, err: HTTPException):
        kinds = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
        message = err.detail if err.status_code == 413 else (
            f"{request.method} {request.url.path}: {err.detail}; accepted: POST /v1/translate, GET /v1/languages, "
            "GET /health, GET /metrics, and LibreTranslate's POST /translate, POST /detect, GET /languages")
        if request.url.path in LIBRE_PATHS:
            return JSONResponse({"error": message}, status_code=err.status_code, headers=err.headers)
        return _error(err.status_code, kinds.get(err.status_code, "http_error"), message, headers=err.headers)


def _describe(errors: list[dict]) -> str:
    parts = []
    for e in errors[:5]:
        where = ".".join(map(str, e["loc"][1:]))  # loc starts with "body"
        if e["type"] == "extra_forbidden":
            parts.append(f"unknown field {where!r}")
        elif e["type"] == "missing":
            parts.append(f"{where or 'the body'} is required")
        elif not where:
            parts.append(f"the body must be a JSON object ({e['msg']})")
        else:
            parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts) + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else "")
