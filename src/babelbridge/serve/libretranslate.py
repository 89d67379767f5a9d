"""The LibreTranslate API, so that its clients work against `babelbridge serve` unchanged.

    POST /translate   q (a string, or with JSON a list of strings), source (a code or "auto"),
                      target, format ("text"), alternatives, api_key -> {"translatedText": ...}
    POST /detect      q, api_key -> [{"confidence", "language"}, ...]
    GET  /languages   [{"code", "name", "targets"}]; no key needed, as in LibreTranslate

What LibreTranslate does (libretranslate/app.py) and is kept here: the parameters are a JSON
object's keys, or else the query string's and then the form's fields (urlencoded or
multipart); errors are {"error": "message"}: 400 for anything wrong in the request (with
LibreTranslate's own message where it has one), 400 for a missing key and 403 for a wrong one
when keys are required, 429 "Slowdown: ..." when the server cannot take more, 500 when the
model fails. Translations join /v1/translate's batches (greedy, the server's default
max_new_tokens), under the same limits and API key.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import InputError
from ..languages import UnknownLanguageError, all_languages
from .auth import header_key, key_matches
from .batcher import Done, GroupKey
from .detect import SourceDetector
from .errors import RequestError, ServeError
from .libre_codes import from_libre, to_libre
from .limits import ServeLimits

log = logging.getLogger("babelbridge.serve")

PATHS = ("/translate", "/detect", "/languages")  # their errors are LibreTranslate's {"error": "..."}
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
ALL_TARGETS = frozenset(lang.code for lang in all_languages())  # the LLM is told the target by name
NO_KEY = "Please contact the server operator to get an API key"  # LibreTranslate's words
UNDETECTED = {"confidence": 0.0, "language": "en"}  # LibreTranslate's answer when it cannot tell


class LibreError(Exception):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def _bad(message: str) -> LibreError:
    return LibreError(400, message)


def libretranslate_router(limits: ServeLimits, api_key: str | None) -> APIRouter:
    router = APIRouter()
    detection = _Detection()
    listing: list[dict] = []

    @router.post("/translate")
    async def translate(request: Request) -> JSONResponse:
        return await _answer(_translate(request, limits, api_key, detection))

    @router.post("/detect")
    async def detect(request: Request) -> JSONResponse:
        return await _answer(_detect(request, limits, api_key, detection))

    @router.get("/languages")
    async def languages(request: Request) -> JSONResponse:
        if not listing:  # the encoder's languages are fixed once the server has started
            listing.extend(_listing(request.app.state.source_languages))
        return JSONResponse(listing)

    return router


async def _answer(work) -> JSONResponse:
    try:
        return JSONResponse(await work)
    except LibreError as err:
        return JSONResponse({"error": err.message}, status_code=err.status, headers=err.headers)
    except Exception:  # a bug: logged here, opaque to the client
        log.exception("LibreTranslate request failed")
        return JSONResponse({"error": "internal server error; the server log has the details"}, status_code=500)


# ---- the request ---------------------------------------------------------------------------------


async def _params(request: Request) -> tuple[dict, bool]:
    """(parameters, sent as JSON). Outside JSON, a parameter given twice counts once, the query
    string's first, as Flask's request.values reads it; only "q" given twice is refused, so
    that no text is silently dropped."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json")):
            try:
                body = json.loads(await request.body())
            except ValueError:  # not JSON, or not UTF-8
                body = None
            if not isinstance(body, dict):
                raise _bad("Invalid JSON format")
            return body, True
        params: dict = {}
        fields = list(request.query_params.multi_items())
        if kind in FORMS:
            async with request.form() as form:  # closes any uploaded file
                fields += form.multi_items()
    except HTTPException as err:  # a malformed multipart body, or one over the size limit
        raise LibreError(err.status_code, str(err.detail)) from None
    for name, value in fields:
        if not isinstance(value, str):
            raise _bad(f"Invalid request: {name} must be text, not a file")
        if name == "q" and "q" in params:
            raise _bad('Invalid request: q is given more than once; send several texts as JSON: {"q": ["...", "..."]}')
        params.setdefault(name, value)
    return params, False


def _check_key(params: dict, request: Request, api_key: str | None) -> None:
    if api_key is None:
        return
    given = params.get("api_key") or header_key(request.headers)  # babelbridge's headers work too
    if not given:
        raise _bad(NO_KEY)
    if not key_matches(given, api_key):
        raise LibreError(403, "Invalid API key")


def _required(params: dict, *names: str) -> list:
    for name in names:
        if not params.get(name):
            raise _bad(f"Invalid request: missing {name} parameter")
        if name != "q" and not isinstance(params[name], str):
            raise _bad(f"Invalid request: {name} must be a language code (a string)")
    return [params[name] for name in names]


def _texts(q, is_json: bool, limits: ServeLimits) -> tuple[list[str], bool]:
    """(texts, q was a single string), within the limits."""
    if isinstance(q, str):
        texts, single = [q], True
    elif isinstance(q, list) and all(isinstance(t, str) for t in q):
        texts, single = q, False
    else:
        raise _bad("Invalid request: q must be a string or a list of strings")
    if not is_json:  # as LibreTranslate: a form's CR LF line ends count (and translate) as LF
        texts = [t.replace("\r\n", "\n").replace("\r", "\n") for t in texts]
    if len(texts) > limits.max_texts:
        raise _bad(f"Invalid request: request ({len(texts)}) exceeds text limit ({limits.max_texts})")
    for text in texts:
        if len(text) > limits.max_chars:
            raise _bad(f"Invalid request: request ({len(text)}) exceeds text limit ({limits.max_chars})")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # JSON can carry a lone surrogate "\ud800"; no tokenizer reads it
            raise _bad("Invalid request: q is not valid Unicode (an unpaired surrogate)") from None
    return texts, single


def _language(code: str, accepted) -> str:
    try:
        flores = from_libre(code)
    except UnknownLanguageError:
        flores = None
    if flores not in accepted:
        raise _bad(f"{code.lower()} is not supported")  # LibreTranslate's message, lower-cased as there
    return flores


def _alternatives(value) -> int:
    """LibreTranslate's n-best count: checked; a bridge returns no alternatives (empty lists)."""
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        raise _bad("Invalid request: alternatives parameter is not a number") from None


# ---- the endpoints ----------------------------------------------------------------------------------


async def _translate(request: Request, limits: ServeLimits, api_key: str | None, detection: "_Detection") -> dict:
    params, is_json = await _params(request)
    _check_key(params, request, api_key)
    q, source, target = _required(params, "q", "source", "target")
    alternatives = _alternatives(params.get("alternatives") or 0)
    texts, single = _texts(q, is_json, limits)
    readable = request.app.state.source_languages
    auto = source.strip().lower() == "auto"
    src = None if auto else _language(source, readable)
    tgt = _language(target, ALL_TARGETS)
    text_format = params.get("format") or "text"
    if text_format != "text":  # html would need markup-aware translation, which no bridge has
        raise _bad(f"{text_format} format is not supported")

    # LibreTranslate answers "" for a blank text: the model never sees one.
    kept = [i for i, t in enumerate(texts) if t.strip()]
    out = ["" for _ in texts]
    detected = None
    if auto:
        found = await detection.detect("\n".join(texts[i] for i in kept), readable)
        if found is None:
            raise _bad("auto is not supported")  # the identifier knows none of the encoder's languages
        if not found:  # no letters: nothing to translate, LibreTranslate's answer for such text
            kept, out, detected = [], ["" if not t.strip() else t for t in texts], UNDETECTED
        else:
            src, p = found[0]
            detected = {"confidence": round(p * 100, 1), "language": to_libre(src)}
    if kept:
        key = GroupKey(src, (tgt,), 1, limits.default_max_new_tokens)
        done = await _run(request, [texts[i] for i in kept], key, kept, single)
        for i, translation in zip(kept, done.translations):
            out[i] = translation
    body: dict = {"translatedText": out[0] if single else out}
    if detected is not None:
        body["detectedLanguage"] = detected if single else [detected] * len(out)
    if alternatives:
        body["alternatives"] = [] if single else [[] for _ in out]
    return body


async def _run(request: Request, texts: list[str], key: GroupKey, positions: list[int], single: bool) -> Done:
    """The batcher's answer, its errors in LibreTranslate's terms."""
    try:
        return await request.app.state.batcher.translate(texts, key)
    except RequestError as err:
        if err.kind == "text_too_long":  # the engine's source-token limit; its indexes are into `texts`
            where = "q" if single else "q at index " + ", ".join(str(positions[i]) for i in err.extra["indexes"])
            raise _bad(f"Invalid request: {where}: over the bridge's limit of {err.extra['limit_tokens']} "
                       "source tokens; split longer texts") from None
        raise _bad(err.message) from None
    except ServeError as err:
        if err.kind == "overloaded":  # LibreTranslate's status when a client must wait
            raise LibreError(429, f"Slowdown: {err.message}", {"Retry-After": "1"}) from None
        raise LibreError(err.status, err.message) from None
    except InputError as err:  # raised by the bridge, e.g. a missing language token
        raise _bad(str(err)) from None
    except Exception:  # the batcher has logged it; the client gets no internals
        raise LibreError(500, "Cannot translate text: the model failed on the batch holding this request; "
                         "the server log has the details") from None


async def _detect(request: Request, limits: ServeLimits, api_key: str | None, detection: "_Detection") -> list:
    params, is_json = await _params(request)
    _check_key(params, request, api_key)
    texts, _ = _texts(_required(params, "q")[0], is_json, limits)
    found = await detection.detect("\n".join(texts), request.app.state.source_languages)
    return [{"confidence": round(p * 100, 1), "language": to_libre(code)} for code, p in found or ()] or [UNDETECTED]


def _listing(readable: set[str]) -> list[dict]:
    """Every language: the encoder's into every other (what /translate accepts); one the encoder
    cannot read is a target only, listed with no targets of its own."""
    codes = sorted((to_libre(lang.code), lang) for lang in all_languages())
    return [{"code": code, "name": lang.name,
             "targets": [other for other, _ in codes if other != code] if lang.code in readable else []}
            for code, lang in codes]


class _Detection:
    """The detector, loaded on first use and off the event loop; one detection at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._detector: SourceDetector | None = None

    async def detect(self, text: str, readable: set[str]) -> list[tuple[str, float]] | None:
        """SourceDetector.detect's answer; None when it can detect none of the readable languages."""
        return await asyncio.to_thread(self._detect, text, readable)

    def _detect(self, text: str, readable: set[str]) -> list[tuple[str, float]] | None:
        with self._lock:
            if self._detector is None:
                self._detector = SourceDetector(readable)
            if not self._detector.languages:
                return None
            return self._detector.detect(text)
