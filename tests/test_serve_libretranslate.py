"""`babelbridge serve` speaks LibreTranslate: the real libretranslatepy client and plain HTTP
(JSON, urlencoded and multipart forms, query parameters) against a uvicorn server; errors
with LibreTranslate's status codes and messages; batching shared with /v1/translate."""

import asyncio
import json
import socket
import threading
import time
import urllib.error

import pytest
import torch

pytest.importorskip("fastapi")
pytest.importorskip("python_multipart")
httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")
libretranslatepy = pytest.importorskip("libretranslatepy")

from fastapi.testclient import TestClient  # noqa: E402

from babelbridge.backbones import load_decoder, load_encoder  # noqa: E402
from babelbridge.bridges import build_bridge  # noqa: E402
from babelbridge.languages import all_languages  # noqa: E402
from babelbridge.serve import BatchConfig, ServeLimits  # noqa: E402
from babelbridge.serve.app import create_app  # noqa: E402
from babelbridge.serve.engine import BridgeEngine  # noqa: E402
from babelbridge.serve.libre_codes import from_libre, to_libre  # noqa: E402

MNT = 8  # the server's default max_new_tokens, which LibreTranslate requests get
KEY = "s3cret"
LIMITS = ServeLimits(max_texts=4, max_chars=60, max_new_tokens=16, default_max_new_tokens=MNT)
GERMAN = "Guten Morgen, wie geht es dir heute?"
TEXTS = ["Hallo", "Der Hund schläft unter dem Tisch.", "Wo ist der Bahnhof?"]


@pytest.fixture(scope="module")
def bridge():
    # adapters start non-zero; on this decoder and seed, every text and target language here
    # decodes differently (test_outputs_tell_texts_and_languages_apart), so an answer for the
    # wrong text or language cannot pass for the right one
    torch.manual_seed(0)
    return build_bridge("hca", load_encoder("tiny-random:m2m100"), load_decoder("tiny-random:llama"),
                        {"bottleneck_dim": 16, "adapter_up_init": "default"})


def expected(bridge, texts, src="deu_Latn", tgt="eng_Latn"):
    """What the server must answer: the bridge translating the texts itself."""
    return bridge.translate(list(texts), src, tgt, max_new_tokens=MNT)


def make_app(bridge, api_key=KEY, engine=None, limits=LIMITS, batch=None):
    return create_app(engine or BridgeEngine(bridge), model="tiny-hca", limits=limits,
                      batch=batch or BatchConfig(window_ms=2), api_key=api_key)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def url(bridge):
    """A real server on a free localhost port, with an API key required."""
    server = uvicorn.Server(uvicorn.Config(make_app(bridge), host="127.0.0.1", port=free_port(),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{server.config.port}"
    server.should_exit = True
    thread.join(15)


def client_error(call) -> tuple[int, dict]:
    """The status and JSON body of the HTTPError a libretranslatepy call raises."""
    with pytest.raises(urllib.error.HTTPError) as caught:
        call()
    return caught.value.code, json.loads(caught.value.read())


def test_outputs_tell_texts_and_languages_apart(bridge):
    outputs = [*expected(bridge, [GERMAN, *TEXTS, "Hallo\nJa.", "Hallo\r\nJa."]),
               *(expected(bridge, [GERMAN], tgt=tgt)[0] for tgt in ("fra_Latn", "spa_Latn", "zho_Hant"))]
    assert len(set(outputs)) == len(outputs)


# ---- language codes -----------------------------------------------------------------------------


def test_codes_map_both_ways():
    codes = [lang.code for lang in all_languages()]
    libre = [to_libre(code) for code in codes]
    assert len(set(libre)) == len(codes)  # one code per language
    assert [from_libre(code) for code in libre] == codes  # and back to the same language
    assert [to_libre(c) for c in ("deu_Latn", "eng_Latn", "zho_Hans", "zho_Hant", "kas_Deva", "ace_Arab")] == \
        ["de", "en", "zh-Hans", "zh-Hant", "ks-Deva", "ace_Arab"]
    # what LibreTranslate clients send: any case, its script-tagged Chinese, Argos' own codes
    assert [from_libre(c) for c in ("DE", "zh", "zh-hant", "zt", "pb", "pt-BR", "deu_Latn")] == \
        ["deu_Latn", "zho_Hans", "zho_Hant", "zho_Hant", "por_Latn", "por_Latn", "deu_Latn"]


# ---- the real client against uvicorn ------------------------------------------------------------


def test_client_translates_a_text(url, bridge):
    lt = libretranslatepy.LibreTranslateAPI(url, api_key=KEY)
    assert lt.translate(GERMAN, "de", "en") == expected(bridge, [GERMAN])[0]
    assert lt.translate(GERMAN, "de", "fr") == expected(bridge, [GERMAN], tgt="fra_Latn")[0]
    assert lt.translate("Hallo", "deu_Latn", "zh-Hant") == expected(bridge, ["Hallo"], tgt="zho_Hant")[0]


def test_client_unknown_language(url):
    lt = libretranslatepy.LibreTranslateAPI(url, api_key=KEY)
    assert client_error(lambda: lt.translate("Hallo", "de", "ZZ")) == (400, {"error": "zz is not supported"})
    assert client_error(lambda: lt.translate("Hallo", "xx", "en")) == (400, {"error": "xx is not supported"})


def test_client_missing_and_wrong_api_key(url, bridge):
    # LibreTranslate's answers: no key where one is required is 400, a wrong one 403
    no_key = libretranslatepy.LibreTranslateAPI(url)
    assert client_error(lambda: no_key.translate("Hallo", "de", "en")) == \
        (400, {"error": "Please contact the server operator to get an API key"})
    wrong = libretranslatepy.LibreTranslateAPI(url, api_key="s3cre")
    assert client_error(lambda: wrong.translate("Hallo", "de", "en")) == (403, {"error": "Invalid API key"})
    assert client_error(lambda: wrong.detect("Hallo")) == (403, {"error": "Invalid API key"})
    # babelbridge's own header works as well
    r = httpx.post(f"{url}/translate", json={"q": "Hallo", "source": "de", "target": "en"},
                   headers={"Authorization": f"Bearer {KEY}"})
    assert r.json() == {"translatedText": expected(bridge, ["Hallo"])[0]}


def test_client_languages(url):
    listing = libretranslatepy.LibreTranslateAPI(url).languages()  # no key needed, as in LibreTranslate
    assert len(listing) == 202
    codes = [row["code"] for row in listing]
    assert codes == sorted(codes)
    german = next(row for row in listing if row["code"] == "de")
    assert german["name"] == "German"
    assert german["targets"] == [c for c in codes if c != "de"]  # the tiny encoder reads every language
    assert {"en", "zh-Hans", "zh-Hant", "ace_Arab"} <= set(german["targets"])


def test_client_detect_and_auto_source(url, bridge):
    lt = libretranslatepy.LibreTranslateAPI(url, api_key=KEY)
    best = lt.detect(GERMAN)[0]
    assert best["language"] == "de" and 90 < best["confidence"] <= 100
    r = httpx.post(f"{url}/translate", json={"q": GERMAN, "source": "auto", "target": "en", "api_key": KEY})
    assert r.json() == {"translatedText": expected(bridge, [GERMAN])[0], "detectedLanguage": best}
    r = httpx.post(f"{url}/translate", json={"q": [GERMAN, "Wie spät ist es?"], "source": "auto", "target": "en",
                                             "api_key": KEY})
    body = r.json()
    assert body["translatedText"] == expected(bridge, [GERMAN, "Wie spät ist es?"])
    assert [d["language"] for d in body["detectedLanguage"]] == ["de", "de"]  # one language per request
    # no letters: nothing to detect or translate, LibreTranslate's answer
    r = httpx.post(f"{url}/translate", json={"q": "1 2 3", "source": "auto", "target": "en", "api_key": KEY})
    assert r.json() == {"translatedText": "1 2 3", "detectedLanguage": {"confidence": 0.0, "language": "en"}}


# ---- plain HTTP: every way LibreTranslate takes its parameters ----------------------------------


def test_list_of_texts(url, bridge):
    r = httpx.post(f"{url}/translate", json={"q": TEXTS, "source": "de", "target": "en", "format": "text",
                                             "api_key": KEY})
    assert r.status_code == 200
    assert r.json() == {"translatedText": expected(bridge, TEXTS)}
    # a blank text comes back "" (as from LibreTranslate) without reaching the model
    r = httpx.post(f"{url}/translate", json={"q": ["", TEXTS[0], "  "], "source": "de", "target": "en",
                                             "api_key": KEY, "alternatives": 2})
    assert r.json() == {"translatedText": ["", expected(bridge, TEXTS[:1])[0], ""],
                        "alternatives": [[], [], []]}  # a bridge has none to offer


def test_form_multipart_and_query_parameters(url, bridge):
    want = {"translatedText": expected(bridge, ["Wo ist der Bahnhof?"])[0]}
    fields = {"q": "Wo ist der Bahnhof?", "source": "de", "target": "en", "api_key": KEY}
    form = httpx.post(f"{url}/translate", data=fields)
    assert form.request.headers["content-type"] == "application/x-www-form-urlencoded"
    multipart = httpx.post(f"{url}/translate", files={name: (None, value) for name, value in fields.items()})
    assert multipart.request.headers["content-type"].startswith("multipart/form-data")
    query = httpx.post(f"{url}/translate", params=fields)
    assert [r.status_code for r in (form, multipart, query)] == [200, 200, 200]
    assert form.json() == multipart.json() == query.json() == want
    # the query string first, then the form, as Flask's request.values
    mixed = httpx.post(f"{url}/translate", params={"target": "en"}, data={**fields, "target": "fr"})
    assert mixed.json() == want
    # a form's CR LF is read as LF, as LibreTranslate does
    crlf = httpx.post(f"{url}/translate", data={**fields, "q": "Hallo\r\nJa."}).json()["translatedText"]
    assert crlf == expected(bridge, ["Hallo\nJa."])[0]


@pytest.mark.parametrize("request_kwargs, status, error", [
    ({"json": {"q": "Hallo", "source": "de", "target": "en", "format": "html"}}, 400, "html format is not supported"),
    ({"json": {"source": "de", "target": "en"}}, 400, "Invalid request: missing q parameter"),
    ({"json": {"q": [], "source": "de", "target": "en"}}, 400, "Invalid request: missing q parameter"),
    ({"data": {"q": "Hallo", "target": "en"}}, 400, "Invalid request: missing source parameter"),
    ({"params": {"q": "Hallo", "source": "de"}}, 400, "Invalid request: missing target parameter"),
    ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400, "Invalid JSON format"),
    ({"json": ["Hallo"]}, 400, "Invalid JSON format"),
    ({"json": {"q": ["Hallo", 5], "source": "de", "target": "en"}}, 400,
     "Invalid request: q must be a string or a list of strings"),
    ({"json": {"q": ["a"] * 5, "source": "de", "target": "en"}}, 400,
     "Invalid request: request (5) exceeds text limit (4)"),
    ({"json": {"q": "x" * 61, "source": "de", "target": "en"}}, 400,
     "Invalid request: request (61) exceeds text limit (60)"),
    ({"json": {"q": "Hallo", "source": "de", "target": "en", "alternatives": "two"}}, 400,
     "Invalid request: alternatives parameter is not a number"),
    ({"content": b"q=Hallo&q=Ja&source=de&target=en",
      "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 400,
     'Invalid request: q is given more than once; send several texts as JSON: {"q": ["...", "..."]}'),
    ({"content": '{"q": "\\ud800", "source": "de", "target": "en"}'.encode(),
      "headers": {"Content-Type": "application/json"}}, 400,
     "Invalid request: q is not valid Unicode (an unpaired surrogate)"),
])
def test_bad_requests_get_libretranslates_errors(bridge, request_kwargs, status, error):
    engine = BridgeEngine(bridge)

    def run(texts, key):  # an Exception, not pytest.fail's BaseException, which would end the worker
        raise AssertionError("a bad request reached the model")

    engine.run = run
    with TestClient(make_app(bridge, api_key=None, engine=engine)) as client:
        r = client.post("/translate", **request_kwargs)
    assert (r.status_code, r.json()) == (status, {"error": error})


def test_routes_and_body_size_errors_keep_libretranslates_shape(bridge):
    with TestClient(make_app(bridge, api_key=None, limits=ServeLimits(max_texts=1, max_chars=10))) as client:
        r = client.get("/translate")
        assert r.status_code == 405
        assert r.json()["error"].startswith("GET /translate: Method Not Allowed; accepted: POST /v1/translate")
        r = client.post("/translate", content=b"q=" + b"a" * 200_000,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413
        assert r.json() == {"error": "request body is 200002 bytes; accepted: at most 65656 bytes"}
        chunked = iter([b"q=", b"a" * 70_000])  # no Content-Length: refused while it is read
        r = client.post("/translate", content=chunked, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert (r.status_code, r.json()) == (413, {"error": "request body is over 65656 bytes; "
                                                            "accepted: at most 65656 bytes"})
        # no keys configured: none needed, and one given is ignored, as in LibreTranslate
        r = client.post("/translate", json={"q": "Hallo", "source": "de", "target": "en", "api_key": "any"})
        assert r.status_code == 200


def test_languages_follow_what_the_encoder_reads(bridge):
    engine = BridgeEngine(bridge)
    engine.source_languages = lambda: ["deu_Latn", "fra_Latn"]
    with TestClient(make_app(bridge, engine=engine)) as client:
        listing = {row["code"]: row["targets"] for row in client.get("/languages").json()}
        assert len(listing) == 202
        assert [code for code, targets in listing.items() if targets] == ["de", "fr"]
        assert len(listing["de"]) == 201 and "fr" in listing["de"]
        assert listing["es"] == []  # a target only
        r = client.post("/translate", json={"q": "Hola", "source": "es", "target": "de", "api_key": KEY})
        assert (r.status_code, r.json()) == (400, {"error": "es is not supported"})
        r = client.post("/translate", json={"q": "Hallo", "source": "de", "target": "es", "api_key": KEY})
        assert r.json() == {"translatedText": expected(bridge, ["Hallo"], tgt="spa_Latn")[0]}
        # auto detects among the encoder's languages only
        r = client.post("/detect", json={"q": GERMAN, "api_key": KEY})
        assert {d["language"] for d in r.json()} <= {"de", "fr"}


def test_token_limit_names_the_text_in_q(bridge):
    engine = BridgeEngine(bridge)
    engine.source_limit = 6
    with TestClient(make_app(bridge, api_key=None, engine=engine)) as client:
        r = client.post("/translate", json={"q": ["", "Ja.", GERMAN], "source": "de", "target": "en"})
        assert (r.status_code, r.json()) == (400, {"error": "Invalid request: q at index 2: over the bridge's "
                                                            "limit of 6 source tokens; split longer texts"})


def test_model_failure_is_500_and_a_full_queue_429(bridge):
    engine = BridgeEngine(bridge)
    entered, release = threading.Event(), threading.Event()

    def held(texts, key):
        entered.set()
        release.wait(10)
        raise RuntimeError("CUDA out of memory")

    engine.run = held
    app = make_app(bridge, api_key=None, engine=engine, limits=ServeLimits(max_queue=1, default_max_new_tokens=MNT))
    payload = {"q": "Hallo", "source": "de", "target": "en"}

    async def scenario():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                first = asyncio.create_task(http.post("/translate", json=payload))
                assert await asyncio.to_thread(entered.wait, 10)  # the worker is inside the first call
                second = asyncio.create_task(http.post("/translate", json=payload))
                while app.state.batcher.queue_depth < 1:
                    await asyncio.sleep(0.01)
                third = await http.post("/translate", json=payload)  # the queue is full
                release.set()
                return await first, await second, third

    first, second, third = asyncio.run(scenario())
    assert first.status_code == second.status_code == 500
    assert first.json() == {"error": "Cannot translate text: the model failed on the batch holding this request; "
                                     "the server log has the details"}
    assert third.status_code == 429 and third.headers["retry-after"] == "1"
    assert third.json() == {"error": "Slowdown: the server has 1 requests waiting (its limit); retry shortly"}


def test_libretranslate_requests_share_batches_with_v1(bridge):
    app = make_app(bridge, api_key=None, batch=BatchConfig(max_batch_size=16, window_ms=300))
    libre = [{"q": t, "source": "de", "target": "en"} for t in TEXTS]
    v1 = [{"text": t, "source_lang": "deu_Latn"} for t in TEXTS]

    async def scenario():
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                responses = await asyncio.gather(*(http.post("/translate", json=p) for p in libre),
                                                 *(http.post("/v1/translate", json=p) for p in v1))
                return responses, (await http.get("/metrics")).json()

    responses, metrics = asyncio.run(scenario())
    want = expected(bridge, TEXTS)
    assert [r.json()["translatedText"] for r in responses[:3]] == want
    assert [r.json()["translations"][0] for r in responses[3:]] == want
    assert metrics["batches"]["texts"] == 6 and metrics["batches"]["calls"] < 6  # shared generate calls
    assert metrics["requests"]["by_path"]["/translate 200"] == 3
    assert metrics["latency_ms"]["count"] == 6  # LibreTranslate's translations are timed too
