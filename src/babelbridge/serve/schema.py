"""The /v1/translate request: its JSON shape (pydantic) and the checks against ServeLimits.

Everything a client can get wrong is caught here, before the request reaches the batcher, so
no bad request can share (and spoil) a batch with good ones.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, StrictInt, StrictStr

from ..languages import UnknownLanguageError, normalize_language
from .batcher import GroupKey
from .errors import RequestError
from .limits import ServeLimits

ACCEPTED = ('a JSON object {"text": "..."} or {"texts": ["...", ...]}, "source_lang": CODE, '
            '"target_lang": CODE (default eng_Latn) or "target_langs": [CODE, ...] (several at once, not both), '
            '"options": {"max_new_tokens": INT, "beam": INT} (optional)')


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_new_tokens: StrictInt | None = None
    beam: StrictInt | None = None


class TranslateRequest(BaseModel):
    # Unknown keys are errors: a misspelt "option" or "src_lang" must not be silently ignored.
    model_config = ConfigDict(extra="forbid")
    text: StrictStr | None = None
    texts: list[StrictStr] | None = None
    source_lang: StrictStr
    target_lang: StrictStr = "eng_Latn"
    target_langs: list[StrictStr] | None = None
    options: Options | None = None


def _language(field: str, code: str) -> str:
    try:
        return normalize_language(code)
    except UnknownLanguageError as err:
        raise RequestError(422, "unknown_language", f"{field}: {err}; GET /v1/languages lists the accepted codes",
                           field=field, suggestions=err.suggestions) from None


def _where(field: str, indexes: list[int]) -> str:
    """"text", or "texts at index 1, 3" (at most ten shown)."""
    if field == "text":
        return field
    shown = ", ".join(map(str, indexes[:10])) + (f" and {len(indexes) - 10} more" if len(indexes) > 10 else "")
    return f"{field} at index {shown}"


def check_request(req: TranslateRequest, limits: ServeLimits,
                  source_languages: set[str] | None = None) -> tuple[list[str], GroupKey]:
    """The texts and the batching key of a well-formed request; RequestError says what is wrong."""
    if (req.text is None) == (req.texts is None):
        raise RequestError(422, "invalid_request", f"give exactly one of \"text\" and \"texts\"; accepted: {ACCEPTED}")
    texts = [req.text] if req.text is not None else req.texts
    field = "text" if req.text is not None else "texts"
    if not texts:
        raise RequestError(422, "empty_input", "\"texts\" is an empty list; accepted: 1 to "
                           f"{limits.max_texts} non-empty texts", field=field)
    if len(texts) > limits.max_texts:
        raise RequestError(413, "too_many_texts", f"{len(texts)} texts in one request; accepted: at most "
                           f"{limits.max_texts} (send the rest in further requests)", field=field,
                           limit=limits.max_texts)
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if empty:
        raise RequestError(422, "empty_input", f"{_where(field, empty)}: empty or only whitespace; "
                           "accepted: non-empty text", field=field, indexes=empty)
    too_long = [i for i, t in enumerate(texts) if len(t) > limits.max_chars]
    if too_long:
        raise RequestError(413, "text_too_long", f"{_where(field, too_long)}: over {limits.max_chars} "
                           f"characters; accepted: at most {limits.max_chars} characters per text",
                           field=field, indexes=too_long, limit=limits.max_chars)
    not_unicode = [i for i, t in enumerate(texts) if not t.isascii() and not _encodable(t)]
    if not_unicode:  # e.g. a lone surrogate "\ud800": no tokenizer can read it
        raise RequestError(422, "invalid_text", f"{_where(field, not_unicode)}: not valid Unicode "
                           "(unpaired surrogate); accepted: UTF-8 text", field=field, indexes=not_unicode)

    src, targets = _language("source_lang", req.source_lang), _targets(req, limits)
    if source_languages is not None and src not in source_languages:
        raise RequestError(422, "unsupported_language", f"source_lang: this bridge's encoder cannot read {src} "
                           "(it has no language token for it); GET /v1/languages lists the source languages",
                           field="source_lang")

    options = req.options or Options()
    beam = 1 if options.beam is None else options.beam
    if not 1 <= beam <= limits.max_beam:
        raise RequestError(422, "invalid_option", f"options.beam is {beam}; accepted: 1 (greedy) to "
                           f"{limits.max_beam}", field="options.beam")
    max_new = limits.default_max_new_tokens if options.max_new_tokens is None else options.max_new_tokens
    if not 1 <= max_new <= limits.max_new_tokens:
        raise RequestError(422, "invalid_option", f"options.max_new_tokens is {max_new}; accepted: 1 to "
                           f"{limits.max_new_tokens}", field="options.max_new_tokens")
    return list(texts), GroupKey(src, targets, beam, max_new)


def _targets(req: TranslateRequest, limits: ServeLimits) -> tuple[str, ...]:
    """The target languages, normalised: a 1-tuple for "target_lang", the deduplicated
    "target_langs" (first occurrence kept) otherwise."""
    if req.target_langs is None:
        return (_language("target_lang", req.target_lang),)
    if "target_lang" in req.model_fields_set:  # given, even as its default
        raise RequestError(422, "invalid_request", 'give at most one of "target_lang" and "target_langs"; '
                           f"accepted: {ACCEPTED}", field="target_langs")
    if not req.target_langs:
        raise RequestError(422, "invalid_request", '"target_langs" is an empty list; accepted: 1 to '
                           f"{limits.max_target_langs} language codes", field="target_langs")
    langs = tuple(dict.fromkeys(_language(f"target_langs[{i}]", code) for i, code in enumerate(req.target_langs)))
    if len(langs) > limits.max_target_langs:
        raise RequestError(413, "too_many_target_langs", f"{len(langs)} target languages in one request; accepted: "
                           f"at most {limits.max_target_langs} (ask for the rest in further requests)",
                           field="target_langs", limit=limits.max_target_langs)
    return langs


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
