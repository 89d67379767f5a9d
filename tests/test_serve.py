"""`babelbridge serve`: the batcher, every endpoint and error case in-process, concurrency
against one-by-one translation, a real uvicorn shutdown, and the CLI's option checks."""

import asyncio
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

fastapi = pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
uvicorn = pytest.importorskip("uvicorn")

from fastapi.testclient import TestClient  # noqa: E402

import babelbridge.bridges  # noqa: E402
from babelbridge.backbones import load_decoder, load_encoder  # noqa: E402
from babelbridge.bridges import build_bridge, load_backbones, save_bridge  # noqa: E402
from babelbridge.cli import main as cli_main  # noqa: E402
from babelbridge.cli import serve_cmd  # noqa: E402
from babelbridge.errors import InputError  # noqa: E402
from babelbridge.serve import BatchConfig, ServeLimits  # noqa: E402
from babelbridge.serve.app import create_app  # noqa: E402
from babelbridge.serve.batcher import Batcher, GroupKey  # noqa: E402
from babelbridge.serve.engine import BridgeEngine  # noqa: E402
from babelbridge.serve.errors import ServeError  # noqa: E402
from babelbridge.serve.metrics import percentile  # noqa: E402

MNT = 6  # max_new_tokens: the tiny random decoder rarely stops by itself
SENTENCES = [
    "Hallo", "Guten Morgen, wie geht es dir heute?", "Ja.", "Der Hund schläft unter dem Tisch.",
    "Wo ist der Bahnhof?", "Danke!", "Das Buch liegt auf dem Tisch.", "Kannst du mir bitte helfen?",
    "Nein", "Wir fahren im Sommer ans Meer.", "Gute Nacht.", "Ich habe heute keine Zeit.",
]
LIMITS = ServeLimits(max_texts=4, max_chars=60, max_new_tokens=16, default_max_new_tokens=MNT, max_beam=2,
                     max_target_langs=3)


@pytest.fixture(scope="module")
def bridge():
    torch.manual_seed(0)  # adapters start non-zero ("default"), so different sources decode differently
    return build_bridge("hca", load_encoder("tiny-random:m2m100"), load_decoder("tiny-random:qwen3"),
                        {"bottleneck_dim": 16, "adapter_up_init": "default"})


def alone(bridge, text, src="deu_Latn", tgt="eng_Latn", **generation):
    """What the server must answer for one text: the bridge translating it on its own."""
    generation = {"max_new_tokens": MNT, **generation}
    return bridge.translate([text], src, tgt, **generation)[0]


def make_app(bridge, limits=LIMITS, batch=None, api_key=None, engine=None):
    return create_app(engine or BridgeEngine(bridge), model="tiny-hca", limits=limits,
                      batch=batch or BatchConfig(window_ms=2), api_key=api_key)


@pytest.fixture(scope="module")
def client(bridge):
    with TestClient(make_app(bridge)) as c:
        yield c


def post(client, payload, **kwargs):
    return client.post("/v1/translate", json=payload, **kwargs)


async def concurrently(app, payloads, headers=None):
    """Send every payload at once from its own asyncio task, with the app's lifespan running."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            responses = await asyncio.gather(*(http.post("/v1/translate", json=p, headers=headers)
                                               for p in payloads))
            metrics = (await http.get("/metrics", headers=headers)).json()
    return responses, metrics


# ---- the batcher, with a fake engine (no model) -------------------------------------------------


class FakeEngine:
    """Upper-cases texts, records each call, and can hold the worker inside a call."""

    def __init__(self, fail_lang=None, too_long="!"):
        self.calls, self.keys, self.fail_lang, self.too_long = [], [], fail_lang, too_long
        self.entered, self.release = threading.Event(), threading.Event()
        self.release.set()

    def measure(self, texts, src_lang):
        if any(self.too_long in t for t in texts):
            raise InputError("over the limit")
        return sum(len(t) for t in texts)

    def run(self, texts, key):
        self.calls.append((key.src_lang, list(texts)))
        self.keys.append(key)
        self.entered.set()
        self.release.wait(5)
        if key.src_lang == self.fail_lang:
            raise RuntimeError("boom")
        if len(key.tgt_langs) > 1:
            return [{lang: f"{lang}:{t.upper()}" for lang in key.tgt_langs} for t in texts]
        return [f"{key.src_lang}:{t.upper()}" for t in texts]


DE, FR = GroupKey("deu_Latn", "eng_Latn", 1, MNT), GroupKey("fra_Latn", "eng_Latn", 1, MNT)


def held_batcher(engine, **config):
    """A started batcher whose worker is stuck in a first call, so that the test can queue
    requests deterministically before the next batch forms."""
    batcher = Batcher(engine, BatchConfig(**{"window_ms": 0, **config})).start()
    engine.release.clear()
    first = batcher.submit(["first"], DE)
    assert engine.entered.wait(5)
    return batcher, first


def test_batcher_groups_by_key_and_gives_each_caller_its_own_results():
    engine = FakeEngine()
    batcher, first = held_batcher(engine)
    futures = [batcher.submit(texts, key) for texts, key in
               [(["a", "b"], DE), (["c"], FR), (["d"], DE), (["e", "f"], FR)]]
    engine.release.set()
    results = [f.result(5) for f in futures]
    batcher.close()
    assert first.result().translations == ["deu_Latn:FIRST"]
    assert [r.translations for r in results] == [["deu_Latn:A", "deu_Latn:B"], ["fra_Latn:C"],
                                                 ["deu_Latn:D"], ["fra_Latn:E", "fra_Latn:F"]]
    # one call per (languages, options) group, texts in arrival order
    assert engine.calls == [("deu_Latn", ["first"]), ("deu_Latn", ["a", "b", "d"]), ("fra_Latn", ["c", "e", "f"])]
    assert [r.source_tokens for r in results] == [2, 1, 1, 2]
    snapshot = batcher.metrics.snapshot()["batches"]
    assert (snapshot["calls"], snapshot["texts"], snapshot["mean_texts"]) == (3, 7, round(7 / 3, 3))
    assert snapshot["histogram_texts"] == {"<=1": 1, "<=4": 2}


def test_batcher_respects_max_batch_size_and_tokens():
    engine = FakeEngine()
    batcher, _ = held_batcher(engine, max_batch_size=2, max_batch_tokens=100)
    futures = [batcher.submit([t], DE) for t in ["a", "b", "c", "d", "e"]]
    big = batcher.submit(["x", "y", "z"], DE)  # over max_batch_size on its own: runs alone
    engine.release.set()
    assert [f.result(5).translations for f in futures] == [[f"deu_Latn:{t}"] for t in "ABCDE"]
    assert big.result(5).translations == ["deu_Latn:X", "deu_Latn:Y", "deu_Latn:Z"]
    batcher.close()
    assert [texts for _, texts in engine.calls[1:]] == [["a", "b"], ["c", "d"], ["e"], ["x", "y", "z"]]

    engine = FakeEngine()
    batcher, _ = held_batcher(engine, max_batch_size=100, max_batch_tokens=10)
    futures = [batcher.submit([t], DE) for t in ["aaaa", "bbbb", "cccc", "dd"]]  # 4 + 4 + 4 + 2 tokens
    engine.release.set()
    [f.result(5) for f in futures]
    batcher.close()
    assert [texts for _, texts in engine.calls[1:]] == [["aaaa", "bbbb"], ["cccc", "dd"]]


def test_batcher_failures_stay_with_their_request_or_group():
    engine = FakeEngine(fail_lang="fra_Latn")
    batcher, _ = held_batcher(engine)
    good, bad_input, french, good2 = (batcher.submit(["ok"], DE), batcher.submit(["bad!"], DE),
                                      batcher.submit(["oui"], FR), batcher.submit(["fine"], DE))
    engine.release.set()
    assert good.result(5).translations == ["deu_Latn:OK"]
    assert good2.result(5).translations == ["deu_Latn:FINE"]
    with pytest.raises(InputError, match="over the limit"):
        bad_input.result(5)
    with pytest.raises(RuntimeError, match="boom"):
        french.result(5)
    # the bad input was measured alone and never reached a generate call
    assert engine.calls[1:] == [("deu_Latn", ["ok", "fine"]), ("fra_Latn", ["oui"])]
    assert batcher.metrics.snapshot()["batches"]["failed"] == 1
    batcher.close()


def test_batcher_close_finishes_queued_work_then_refuses():
    engine = FakeEngine()
    batcher, first = held_batcher(engine)
    queued = [batcher.submit([t], DE) for t in ["a", "b"]]
    closer = threading.Thread(target=batcher.close)
    closer.start()
    deadline = time.monotonic() + 5
    while batcher.alive and time.monotonic() < deadline:  # close() has begun (a busy CI may take a while)
        time.sleep(0.01)
    assert not batcher.alive
    assert closer.is_alive()  # close() waits for the work in progress
    with pytest.raises(ServeError) as err:
        batcher.submit(["late"], DE)
    assert (err.value.status, err.value.kind) == (503, "shutting_down")
    engine.release.set()
    closer.join(5)
    assert not closer.is_alive()
    assert [f.result(0).translations for f in [first, *queued]] == [["deu_Latn:FIRST"], ["deu_Latn:A"], ["deu_Latn:B"]]


def test_batcher_queue_limit_and_cancelled_requests():
    engine = FakeEngine()
    batcher = Batcher(engine, BatchConfig(window_ms=0), max_queue=2).start()
    engine.release.clear()
    batcher.submit(["first"], DE)
    assert engine.entered.wait(5)
    kept, dropped = batcher.submit(["a"], DE), batcher.submit(["b"], DE)
    with pytest.raises(ServeError) as err:
        batcher.submit(["c"], DE)
    assert (err.value.status, err.value.kind) == (503, "overloaded")
    assert dropped.cancel()  # its client went away while it waited: it must not be translated
    engine.release.set()
    assert kept.result(5).translations == ["deu_Latn:A"]
    batcher.close()
    assert engine.calls == [("deu_Latn", ["first"]), ("deu_Latn", ["a"])]


def test_group_key_holds_a_tuple_of_target_languages():
    assert DE.tgt_langs == ("eng_Latn",) and DE.tgt_lang == "eng_Latn"
    assert GroupKey("deu_Latn", ("eng_Latn",), 1, MNT) == DE  # one language, however given
    multi = GroupKey("deu_Latn", ["fra_Latn", "spa_Latn"], 1, MNT)
    assert multi.tgt_langs == ("fra_Latn", "spa_Latn")
    assert hash(multi) == hash(GroupKey("deu_Latn", ("fra_Latn", "spa_Latn"), 1, MNT))
    assert multi != GroupKey("deu_Latn", ("spa_Latn", "fra_Latn"), 1, MNT)
    with pytest.raises(ValueError, match="2 target languages"):
        multi.tgt_lang
    with pytest.raises(ValueError, match="at least one target language"):
        GroupKey("deu_Latn", (), 1, MNT)


def test_batcher_batches_only_requests_with_the_same_target_languages():
    engine = FakeEngine()
    batcher, _ = held_batcher(engine)
    fr_es, fr = GroupKey("deu_Latn", ("fra_Latn", "spa_Latn"), 1, MNT), GroupKey("deu_Latn", "fra_Latn", 1, MNT)
    futures = [batcher.submit(texts, key) for texts, key in
               [(["a"], fr_es), (["b"], fr), (["c", "d"], fr_es), (["e"], DE)]]
    engine.release.set()
    results = [f.result(5).translations for f in futures]
    batcher.close()
    assert engine.keys[1:] == [fr_es, fr, DE]
    assert [texts for _, texts in engine.calls[1:]] == [["a", "c", "d"], ["b"], ["e"]]
    assert results == [[{"fra_Latn": "fra_Latn:A", "spa_Latn": "spa_Latn:A"}], ["deu_Latn:B"],
                       [{"fra_Latn": "fra_Latn:C", "spa_Latn": "spa_Latn:C"},
                        {"fra_Latn": "fra_Latn:D", "spa_Latn": "spa_Latn:D"}], ["deu_Latn:E"]]


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 11)]
    assert [percentile(values, q) for q in (0.5, 0.9, 0.99, 0.01)] == [5.0, 9.0, 10.0, 1.0]
    assert percentile([], 0.5) is None


# ---- endpoints ------------------------------------------------------------------------------------


def test_translate_text_and_texts_equal_one_by_one(client, bridge):
    r = post(client, {"text": SENTENCES[1], "source_lang": "de"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["translations"] == [alone(bridge, SENTENCES[1])]
    assert (body["model"], body["source_lang"], body["target_lang"]) == ("tiny-hca", "deu_Latn", "eng_Latn")
    assert body["options"] == {"max_new_tokens": MNT, "beam": 1}  # the server's default
    tokens = len(bridge.encoder.token_ids(SENTENCES[1], "deu_Latn"))
    assert body["usage"] == {"texts": 1, "source_characters": len(SENTENCES[1]), "source_tokens": tokens,
                             "translation_characters": len(body["translations"][0])}

    texts = SENTENCES[:4]
    r = post(client, {"texts": texts, "source_lang": "German", "target_lang": "fr"})
    assert r.status_code == 200, r.text
    assert r.json()["translations"] == [alone(bridge, t, tgt="fra_Latn") for t in texts]
    assert len(set(r.json()["translations"])) > 1  # different sources decode differently


def test_translate_options_reach_generation(client, bridge):
    r = post(client, {"texts": SENTENCES[4:6], "source_lang": "deu_Latn",
                      "options": {"max_new_tokens": 3, "beam": 2}})
    assert r.status_code == 200, r.text
    assert r.json()["translations"] == [alone(bridge, t, max_new_tokens=3, num_beams=2) for t in SENTENCES[4:6]]
    assert r.json()["options"] == {"max_new_tokens": 3, "beam": 2}


def test_translate_into_several_languages(client, bridge):
    texts = SENTENCES[:3]
    r = post(client, {"texts": texts, "source_lang": "de", "target_langs": ["fra_Latn", "es", "fr", "German"]})
    assert r.status_code == 200, r.text
    body = r.json()
    langs = ["fra_Latn", "spa_Latn", "deu_Latn"]  # normalised, the duplicate dropped, order kept
    assert body["target_langs"] == langs and "target_lang" not in body
    assert [list(t) for t in body["translations"]] == [langs] * len(texts)  # one object per text, exactly these
    assert body["translations"] == [{lang: alone(bridge, t, tgt=lang) for lang in langs} for t in texts]
    assert (body["model"], body["source_lang"], body["options"]) == ("tiny-hca", "deu_Latn",
                                                                     {"max_new_tokens": MNT, "beam": 1})
    by_lang = {lang: sum(len(t[lang]) for t in body["translations"]) for lang in langs}
    tokens = sum(len(bridge.encoder.token_ids(t, "deu_Latn")) for t in texts)
    assert body["usage"] == {"texts": 3, "source_characters": sum(map(len, texts)), "source_tokens": tokens,
                             "translation_characters": sum(by_lang.values()),
                             "translation_characters_by_lang": by_lang}

    r = post(client, {"text": SENTENCES[4], "source_lang": "de", "target_langs": ["fr", "en"],
                      "options": {"max_new_tokens": 3, "beam": 2}})
    assert r.status_code == 200, r.text
    assert r.json()["translations"] == [{lang: alone(bridge, SENTENCES[4], tgt=lang, max_new_tokens=3, num_beams=2)
                                         for lang in ("fra_Latn", "eng_Latn")}]


def test_single_target_language_responses_keep_their_shape(client, bridge):
    r = post(client, {"texts": SENTENCES[:2], "source_lang": "de", "target_lang": "fr"})
    assert list(r.json()) == ["translations", "model", "source_lang", "target_lang", "options", "usage"]
    assert r.json()["translations"] == [alone(bridge, t, tgt="fra_Latn") for t in SENTENCES[:2]]
    assert list(r.json()["usage"]) == ["texts", "source_characters", "source_tokens", "translation_characters"]
    # "target_langs" with one language (here a duplicate) answers with objects all the same
    r = post(client, {"texts": SENTENCES[:2], "source_lang": "de", "target_langs": ["fr", "fra_Latn"]})
    assert r.status_code == 200, r.text
    assert r.json()["target_langs"] == ["fra_Latn"]
    assert r.json()["translations"] == [{"fra_Latn": alone(bridge, t, tgt="fra_Latn")} for t in SENTENCES[:2]]


def test_one_target_language_shares_a_batch_whichever_field_names_it(bridge):
    engine = BridgeEngine(bridge)
    original, keys = engine.run, []
    engine.run = lambda texts, key: keys.append(key) or original(texts, key)
    app = make_app(bridge, engine=engine, batch=BatchConfig(window_ms=300))
    responses, metrics = asyncio.run(concurrently(app, [
        {"text": "Hallo", "source_lang": "de", "target_lang": "fr"},
        {"text": "Danke!", "source_lang": "de", "target_langs": ["fr"]}]))
    assert [r.status_code for r in responses] == [200, 200]
    assert responses[0].json()["translations"] == [alone(bridge, "Hallo", tgt="fra_Latn")]
    assert responses[1].json()["translations"] == [{"fra_Latn": alone(bridge, "Danke!", tgt="fra_Latn")}]
    assert keys == [GroupKey("deu_Latn", "fra_Latn", 1, MNT)]  # one call, through bridge.translate
    assert metrics["batches"]["texts"] == 2


def test_xbridge_serves_several_languages_from_one_llm_pass(monkeypatch):
    encoder, llm = load_backbones("xbridge", {}, "tiny-random:m2m100", "tiny-random:qwen3")
    torch.manual_seed(0)
    xbridge = build_bridge("xbridge", encoder, llm, {}).eval()
    langs, texts = ["fra_Latn", "spa_Latn", "eng_Latn"], SENTENCES[:3]
    expected = [{lang: alone(xbridge, t, tgt=lang) for lang in langs} for t in texts]
    multi, passes = [], []
    translate_multi, generate = xbridge.translate_multi, xbridge.decoder.model.generate
    monkeypatch.setattr(xbridge, "translate_multi", lambda *a, **kw: multi.append(a) or translate_multi(*a, **kw))
    monkeypatch.setattr(xbridge.decoder.model, "generate", lambda **kw: passes.append(1) or generate(**kw))
    with TestClient(make_app(xbridge)) as client:
        r = post(client, {"texts": texts, "source_lang": "de", "target_langs": ["fr", "es", "en"]})
    assert r.status_code == 200, r.text
    assert r.json()["translations"] == expected
    assert len(multi) == 1 and len(passes) == 1  # one call, one LLM generation for three languages


BIG = "x" * (LIMITS.max_body_bytes + 1)

ERROR_CASES = [
    # (request, status, error type, part of the message)
    ({"content": b'{"text": "Hallo", "source_lang": "de"', "headers": {"content-type": "application/json"}},
     400, "invalid_json", "not valid JSON"),
    ({"content": b'{"text": "Hallo", "source_lang": "de"}'}, 415, "unsupported_media_type",
     "Content-Type: application/json"),
    ({"json": ["Hallo"]}, 422, "invalid_request", "must be a JSON object"),
    ({}, 422, "invalid_request", "the body is required"),
    ({"json": {"text": "Hallo"}}, 422, "invalid_request", "source_lang is required"),
    ({"json": {"text": "Hallo", "src_lang": "de", "source_lang": "de"}}, 422, "invalid_request",
     "unknown field 'src_lang'"),
    ({"json": {"text": 42, "source_lang": "de"}}, 422, "invalid_request", "text: Input should be a valid string"),
    ({"json": {"texts": ["a", 1], "source_lang": "de"}}, 422, "invalid_request", "texts.1: Input should be"),
    ({"json": {"text": "a", "source_lang": "de", "options": {"beam": True}}}, 422, "invalid_request",
     "options.beam: Input should be a valid integer"),
    ({"json": {"text": "a", "source_lang": "de", "options": {"temperature": 1}}}, 422, "invalid_request",
     "unknown field 'options.temperature'"),
    ({"json": {"text": "a", "texts": ["b"], "source_lang": "de"}}, 422, "invalid_request",
     'exactly one of "text" and "texts"'),
    ({"json": {"source_lang": "de"}}, 422, "invalid_request", 'exactly one of "text" and "texts"'),
    ({"json": {"texts": [], "source_lang": "de"}}, 422, "empty_input", "accepted: 1 to 4 non-empty texts"),
    ({"json": {"text": "  \n", "source_lang": "de"}}, 422, "empty_input", "text: empty or only whitespace"),
    ({"json": {"texts": ["gut", "", "ja", " "], "source_lang": "de"}}, 422, "empty_input", "texts at index 1, 3: empty or only whitespace"),
    ({"json": {"texts": ["a"] * 5, "source_lang": "de"}}, 413, "too_many_texts", "accepted: at most 4"),
    ({"json": {"texts": ["kurz", "y" * 61], "source_lang": "de"}}, 413, "text_too_long",
     "texts at index 1: over 60 characters; accepted: at most 60 characters per text"),
    ({"content": b'{"text": "a\\ud800b", "source_lang": "de"}', "headers": {"content-type": "application/json"}},
     422, "invalid_text", "text: not valid Unicode"),
    ({"json": {"text": "a", "source_lang": "Germn"}}, 422, "unknown_language", "closest valid codes: deu_Latn"),
    ({"json": {"text": "a", "source_lang": "de", "target_lang": "xx_Nope"}}, 422, "unknown_language",
     "target_lang: unknown language code 'xx_Nope'"),
    ({"json": {"text": "a", "source_lang": "de", "target_lang": "fr", "target_langs": ["es"]}}, 422,
     "invalid_request", 'give at most one of "target_lang" and "target_langs"; accepted: a JSON object'),
    ({"json": {"text": "a", "source_lang": "de", "target_lang": "eng_Latn", "target_langs": ["es"]}}, 422,
     "invalid_request", 'give at most one of "target_lang" and "target_langs"'),
    ({"json": {"text": "a", "source_lang": "de", "target_langs": []}}, 422, "invalid_request",
     '"target_langs" is an empty list; accepted: 1 to 3 language codes'),
    ({"json": {"text": "a", "source_lang": "de", "target_langs": "fr"}}, 422, "invalid_request",
     "target_langs: Input should be a valid list"),
    ({"json": {"text": "a", "source_lang": "de", "target_langs": ["fr", "xx_Nope"]}}, 422, "unknown_language",
     "target_langs[1]: unknown language code 'xx_Nope'"),
    ({"json": {"text": "a", "source_lang": "de", "target_langs": ["fr", "es", "en", "de"]}}, 413,
     "too_many_target_langs", "4 target languages in one request; accepted: at most 3"),
    ({"json": {"text": "a", "source_lang": "de", "options": {"beam": 3}}}, 422, "invalid_option",
     "options.beam is 3; accepted: 1 (greedy) to 2"),
    ({"json": {"text": "a", "source_lang": "de", "options": {"max_new_tokens": 0}}}, 422, "invalid_option",
     "options.max_new_tokens is 0; accepted: 1 to 16"),
    ({"json": {"text": "a", "source_lang": "de", "options": {"max_new_tokens": 17}}}, 422, "invalid_option",
     "accepted: 1 to 16"),
    ({"content": json.dumps({"text": BIG, "source_lang": "de"}).encode(),
      "headers": {"content-type": "application/json"}}, 413, "body_too_large",
     f"accepted: at most {LIMITS.max_body_bytes} bytes"),
]


def test_every_bad_request_gets_a_json_error_and_never_reaches_the_model(bridge):
    with TestClient(make_app(bridge)) as client:
        for request, status, kind, message in ERROR_CASES:
            r = client.post("/v1/translate", **request)
            assert r.status_code == status, (request, r.text)
            assert r.headers["content-type"] == "application/json"
            error = r.json()["error"]
            assert error["type"] == kind, (request, error)
            assert message in error["message"], (request, error)
        metrics = client.get("/metrics").json()
    assert metrics["batches"]["calls"] == 0  # no bad request reached the batcher
    expected = {}
    for _, status, _, _ in ERROR_CASES:
        expected[str(status)] = expected.get(str(status), 0) + 1
    assert metrics["requests"]["by_status"] == expected


def test_unknown_language_lists_suggestions(client):
    error = post(client, {"text": "a", "source_lang": "germna"}).json()["error"]
    assert error["field"] == "source_lang"
    assert "deu_Latn" in error["suggestions"]


def test_unknown_target_language_names_its_index(client):
    error = post(client, {"text": "a", "source_lang": "de", "target_langs": ["fr", "es", "frnch"]}).json()["error"]
    assert (error["type"], error["field"]) == ("unknown_language", "target_langs[2]")
    error = post(client, {"text": "a", "source_lang": "de", "target_langs": list("abcd")}).json()["error"]
    assert error["field"] == "target_langs[0]"  # the codes are checked before they are counted
    error = post(client, {"text": "a", "source_lang": "de", "target_langs": ["fr", "es", "it", "pt"]}).json()["error"]
    assert (error["field"], error["limit"]) == ("target_langs", 3)


def test_chunked_body_over_the_limit_is_refused(client):
    def chunks():  # no Content-Length: the limit must count the bytes as they arrive
        yield b'{"text": "'
        for _ in range(LIMITS.max_body_bytes // 65536 + 2):
            yield b"y" * 65536
        yield b'", "source_lang": "de"}'

    r = client.post("/v1/translate", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "body_too_large"


def test_text_over_the_bridges_token_limit_fails_alone(bridge):
    engine = BridgeEngine(bridge)
    engine.source_limit = 12  # tokens, including the language token and </s>
    app = make_app(bridge, engine=engine, batch=BatchConfig(window_ms=50))
    long_text = "Ein ziemlich langer Satz"  # under max_chars, over 12 tokens
    responses, metrics = asyncio.run(concurrently(app, [
        {"text": "Hallo", "source_lang": "de"}, {"texts": ["Ja.", long_text], "source_lang": "de"},
        {"text": "Danke!", "source_lang": "de"}]))
    assert [r.status_code for r in responses] == [200, 413, 200]
    error = responses[1].json()["error"]
    assert (error["type"], error["limit_tokens"], error["indexes"]) == ("text_too_long", 12, [1])
    n = len(bridge.encoder.token_ids(long_text, "deu_Latn"))
    assert f"text at index 1 ({n} tokens): over the bridge's limit of 12 source tokens" in error["message"]
    assert [r.json()["translations"] for r in (responses[0], responses[2])] == [[alone(bridge, "Hallo")],
                                                                                 [alone(bridge, "Danke!")]]
    assert metrics["batches"]["texts"] == 2  # the rejected request's texts never ran


def test_failing_group_fails_only_its_own_requests(bridge):
    engine = BridgeEngine(bridge)
    original = engine.run

    def run(texts, key):
        if key.src_lang == "fra_Latn":
            raise RuntimeError("CUDA out of memory (simulated)")
        return original(texts, key)

    engine.run = run
    app = make_app(bridge, engine=engine, batch=BatchConfig(window_ms=100))
    payloads = [{"text": t, "source_lang": lang} for t in SENTENCES[:4] for lang in ("de", "fr")]
    responses, metrics = asyncio.run(concurrently(app, payloads))
    for payload, r in zip(payloads, responses):
        if payload["source_lang"] == "fr":
            assert r.status_code == 500
            assert r.json()["error"]["type"] == "generation_failed"
            assert "CUDA" not in r.text  # internals stay in the server log
        else:
            assert r.status_code == 200, r.text
            assert r.json()["translations"] == [alone(bridge, payload["text"])]
    assert metrics["batches"]["failed"] >= 1


def test_source_language_the_encoder_cannot_read(bridge):
    engine = BridgeEngine(bridge)
    engine.source_languages = lambda: ["deu_Latn", "fra_Latn"]
    with TestClient(make_app(bridge, engine=engine)) as client:
        error = post(client, {"text": "Hola", "source_lang": "es"}).json()["error"]
        assert error["type"] == "unsupported_language"
        assert "cannot read spa_Latn" in error["message"]
        codes = [row["code"] for row in client.get("/v1/languages").json()["source_languages"]]
        assert codes == ["deu_Latn", "fra_Latn"]


def test_languages_health_and_not_found(client, bridge):
    body = client.get("/v1/languages").json()
    assert len(body["target_languages"]) == 202
    german = next(row for row in body["target_languages"] if row["code"] == "deu_Latn")
    assert german == {"code": "deu_Latn", "name": "German", "script": "Latn", "iso639_1": "de", "iso639_3": "deu"}
    assert len(body["source_languages"]) == 202  # the tiny M2M100 encoder has every language token

    health = client.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["method"] == "hca"
    identities = bridge.backbone_identities()
    assert health.json()["backbones"] == {role: {"spec": identities[role]["spec"],
                                                 "fingerprint": identities[role]["fingerprint"]}
                                          for role in ("encoder", "decoder")}
    assert health.json()["backbones"]["encoder"]["spec"] == "tiny-random:m2m100"

    r = client.get("/v2/translate")
    assert (r.status_code, r.json()["error"]["type"]) == (404, "not_found")
    assert "accepted: POST /v1/translate" in r.json()["error"]["message"]
    r = client.get("/v1/translate")
    assert (r.status_code, r.json()["error"]["type"]) == (405, "method_not_allowed")


def test_metrics_count_requests_latency_and_batches(bridge):
    with TestClient(make_app(bridge)) as client:
        for text in SENTENCES[:3]:
            assert post(client, {"text": text, "source_lang": "de"}).status_code == 200
        assert post(client, {"texts": SENTENCES[:2], "source_lang": "de"}).status_code == 200
        assert post(client, {"text": "", "source_lang": "de"}).status_code == 422
        body = client.get("/metrics").json()
        prometheus = client.get("/metrics", params={"format": "prometheus"})
        bad_format = client.get("/metrics", params={"format": "xml"})
    assert body["requests"]["by_path"] == {"/v1/translate 200": 4, "/v1/translate 422": 1}
    assert body["latency_ms"]["count"] == 4  # successful translations only
    assert 0 < body["latency_ms"]["p50"] <= body["latency_ms"]["p99"]
    assert (body["batches"]["calls"], body["batches"]["texts"]) == (4, 5)  # sequential: no batching
    assert body["limits"]["max_texts"] == 4 and body["batching"]["max_batch_size"] == 16
    assert body["limits"]["max_target_langs"] == 3
    assert prometheus.headers["content-type"].startswith("text/plain")
    assert 'babelbridge_requests_total{path="/v1/translate",status="200"} 4' in prometheus.text
    assert "babelbridge_batch_texts_total 5" in prometheus.text
    assert bad_format.status_code == 422 and "accepted: json, prometheus" in bad_format.json()["error"]["message"]


def test_api_key(bridge):
    with TestClient(make_app(bridge, api_key="s3cret")) as client:
        payload = {"text": "Hallo", "source_lang": "de"}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "s3cre"}):
            r = post(client, payload, headers=headers)
            assert r.status_code == 401
            assert r.headers["www-authenticate"] == "Bearer"
            assert "accepted: the header 'Authorization: Bearer KEY'" in r.json()["error"]["message"]
        assert client.get("/v1/languages").status_code == 401
        assert client.get("/metrics").status_code == 401
        assert client.get("/health").status_code == 200  # for load balancers
        for headers in ({"Authorization": "Bearer s3cret"}, {"X-API-Key": "s3cret"}):
            r = post(client, payload, headers=headers)
            assert r.status_code == 200
            assert r.json()["translations"] == [alone(bridge, "Hallo")]


# ---- concurrency ----------------------------------------------------------------------------------


def test_many_clients_at_once_each_get_their_own_translation(bridge):
    app = make_app(bridge, batch=BatchConfig(max_batch_size=8, window_ms=50))
    payloads = [{"text": t, "source_lang": "de"} for t in SENTENCES * 2]  # 24 clients
    payloads += [{"texts": SENTENCES[i:i + 3], "source_lang": "de"} for i in (0, 5)]  # and two with several
    responses, metrics = asyncio.run(concurrently(app, payloads))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses if r.status_code != 200]
    for payload, r in zip(payloads, responses):
        texts = payload.get("texts") or [payload["text"]]
        assert r.json()["translations"] == [alone(bridge, t) for t in texts]  # greedy: batched == alone
    batches = metrics["batches"]
    assert batches["texts"] == 24 + 6
    assert batches["mean_texts"] > 1 and batches["calls"] < len(payloads)  # requests did share calls
    assert max(int(k.lstrip("<=")) for k in batches["histogram_texts"]) <= 8  # max_batch_size held


# ---- a real server: uvicorn, HTTP, graceful shutdown ------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_uvicorn_shutdown_finishes_requests_in_flight(bridge):
    engine = BridgeEngine(bridge)
    texts = SENTENCES[:4]
    original, all_in, received = engine.run, threading.Event(), []

    def slow_run(batch, key):
        received.extend(batch)
        if len(received) == len(texts):
            all_in.set()  # every request was accepted: shutting down now must not refuse any of them
        time.sleep(0.5)  # still generating when the shutdown begins
        return original(batch, key)

    engine.run = slow_run
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(bridge, engine=engine, batch=BatchConfig(window_ms=20)),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.02)
    assert server.started

    with ThreadPoolExecutor(len(texts)) as pool:
        futures = [pool.submit(httpx.post, f"{url}/v1/translate", json={"text": t, "source_lang": "de"}, timeout=30)
                   for t in texts]
        assert all_in.wait(10)
        server.should_exit = True  # what SIGTERM / Ctrl-C does
        responses = [f.result() for f in futures]
    thread.join(15)
    assert not thread.is_alive()
    assert [r.status_code for r in responses] == [200] * len(texts)
    assert [r.json()["translations"][0] for r in responses] == [alone(bridge, t) for t in texts]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=2)


# ---- the command ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(bridge, tmp_path_factory):
    return save_bridge(bridge, tmp_path_factory.mktemp("serve") / "bridge")


@pytest.fixture
def no_loading(monkeypatch):
    def fail(*args, **kwargs):
        pytest.fail("the model was loaded before the options were checked")

    monkeypatch.setattr(babelbridge.bridges, "load_bridge", fail)


@pytest.mark.parametrize("argv, message", [
    (["--max-texts", "0"], "--max-texts must be a positive integer, got 0"),
    (["--max-batch-size", "-1"], "--max-batch-size must be a positive integer"),
    (["--max-target-langs", "0"], "--max-target-langs must be a positive integer, got 0"),
    (["--batch-window-ms", "-5"], "--batch-window-ms and --graceful-timeout must be >= 0"),
    (["--port", "70000"], "--port 70000: accepted: 0 (any free port) to 65535"),
    (["--max-new-tokens", "8", "--default-max-new-tokens", "9"], "--default-max-new-tokens 9 is over --max-new-tokens 8"),
    (["--device", "gpu"], "--device 'gpu' is not a device"),
    (["--api-key", " "], "the API key (--api-key) is empty"),
])
def test_cli_checks_options_before_loading(checkpoint, no_loading, capsys, argv, message):
    code = cli_main.main(["serve", "--bridge", str(checkpoint), *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("babelbridge serve: error: ") and message in err
    assert err.count("\n") == 1  # one line, no traceback


def test_cli_resolves_bridge_like_translate(tmp_path, no_loading, capsys):
    assert cli_main.main(["serve", "--bridge", str(tmp_path / "missing")]) == 2
    assert "no such directory; accepted: a bridge checkpoint directory" in capsys.readouterr().err
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "bridge.json").write_text("{}")
    assert cli_main.main(["serve", "--bridge", str(tmp_path / "half")]) == 2
    assert "missing bridge.safetensors" in capsys.readouterr().err


def test_cli_builds_the_app_from_a_checkpoint(checkpoint, bridge, monkeypatch):
    monkeypatch.setenv(serve_cmd.API_KEY_ENV, "from-env")
    parser = cli_main.build_parser()
    args = parser.parse_args(["serve", "--bridge", str(checkpoint), "--max-texts", "2", "--max-target-langs", "2",
                              "--default-max-new-tokens", str(MNT), "--model-name", "my-bridge"])
    assert (args.host, args.port) == ("127.0.0.1", 8080)  # localhost by default
    with TestClient(serve_cmd.build_app(args)) as client:
        assert post(client, {"text": "Hallo", "source_lang": "de"}).status_code == 401
        headers = {"Authorization": "Bearer from-env"}
        r = post(client, {"texts": ["Hallo", "Ja."], "source_lang": "de"}, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["model"] == "my-bridge"
        assert r.json()["translations"] == [alone(bridge, "Hallo"), alone(bridge, "Ja.")]
        assert post(client, {"texts": ["a", "b", "c"], "source_lang": "de"}, headers=headers).status_code == 413
        r = post(client, {"text": "Ja.", "source_lang": "de", "target_langs": ["fr", "es", "it"]}, headers=headers)
        assert (r.status_code, r.json()["error"]["limit"]) == (413, 2)


def test_cli_run_hands_the_app_to_uvicorn(checkpoint, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: calls.append((app, kwargs)))
    monkeypatch.delenv(serve_cmd.API_KEY_ENV, raising=False)
    assert cli_main.main(["serve", "--bridge", str(checkpoint), "--port", "9123", "--log-level", "warning"]) == 0
    assert capsys.readouterr().err == ""
    assert cli_main.main(["serve", "--bridge", str(checkpoint), "--host", "0.0.0.0", "--graceful-timeout", "0"]) == 0
    assert "listening on 0.0.0.0 without an API key" in capsys.readouterr().err
    assert [kwargs for _, kwargs in calls] == [
        {"host": "127.0.0.1", "port": 9123, "log_level": "warning", "timeout_graceful_shutdown": 30.0},
        {"host": "0.0.0.0", "port": 8080, "log_level": "info", "timeout_graceful_shutdown": None},
    ]
    assert all(isinstance(app, fastapi.FastAPI) for app, _ in calls)


def test_limits_reject_nonsense():
    with pytest.raises(InputError, match="max_texts must be a number >= 1, got 0"):
        ServeLimits(max_texts=0)
    with pytest.raises(InputError, match="default max_new_tokens 600 is over the cap 512"):
        ServeLimits(default_max_new_tokens=600)
    assert BatchConfig(window_ms=0).window_ms == 0
