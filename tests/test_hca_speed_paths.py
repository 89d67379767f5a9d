"""HCA's fast generation paths give the eager path's tokens: static KV cache, torch.compile of the
decode step (HCA hooks inside the compiled graph), forced lengths; and the decode-speed
benchmark runs end to end on tiny models."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch
from transformers import CompileConfig

from babelbridge.bridges.hca import SourceMemory
from babelbridge.errors import InputError
from conftest import SOURCES

ROOT = Path(__file__).resolve().parents[1]
STOPS_EARLY = "Wo ist der Bahnhof?"  # with the bert encoder, greedy stops after 33 tokens


@pytest.mark.parametrize("num_beams", [1, 3])
@pytest.mark.parametrize("placement", ["before_layer", "after_layer"])
def test_static_cache_gives_the_eager_tokens(make_bridge, num_beams, placement):
    bridge = make_bridge(placement=placement)
    kwargs = dict(max_new_tokens=12, num_beams=num_beams)
    eager = bridge.generate_token_ids(SOURCES, "deu_Latn", "eng_Latn", **kwargs)
    static = bridge.generate_token_ids(SOURCES, "deu_Latn", "eng_Latn", static_cache=True, **kwargs)
    assert static == eager
    assert len({tuple(t) for t in eager}) >= 2


class GraphRecorder:
    """A torch.compile backend that keeps every graph it is given and runs it as traced."""

    def __init__(self):
        self.graphs = []

    def __deepcopy__(self, memo):  # transformers deep-copies the CompileConfig: keep this recorder
        return self

    def __call__(self, gm, example_inputs, **kwargs):
        self.graphs.append(gm)
        return gm.forward

    def sdpa_calls(self, graph) -> int:
        return sum(n.target is torch._C._nn.scaled_dot_product_attention for n in graph.graph.nodes)


def test_compiled_decode_step_gives_the_eager_tokens_with_the_hooks_inside(make_bridge):
    bridge = make_bridge()
    layers = bridge.decoder.num_layers
    recorder = GraphRecorder()
    config = CompileConfig(backend=recorder, mode=None, fullgraph=True)  # fullgraph: no break at a hook
    eager = bridge.generate_token_ids(SOURCES, "deu_Latn", "eng_Latn", max_new_tokens=10)
    compiled = bridge.generate_token_ids(SOURCES, "deu_Latn", "eng_Latn", max_new_tokens=10, compile=config)
    assert compiled == eager
    # One graph for the decode step, with each layer's self-attention and HCA cross-attention.
    assert [recorder.sdpa_calls(g) for g in recorder.graphs] == [2 * layers]
    # A new request (new source memory, same shapes) reuses the compiled step.
    others = [s[::-1] for s in SOURCES]
    again = bridge.generate_token_ids(others, "deu_Latn", "eng_Latn", max_new_tokens=10, compile=config)
    assert again == bridge.generate_token_ids(others, "deu_Latn", "eng_Latn", max_new_tokens=10)
    assert len(recorder.graphs) == 1


def test_compiled_plain_llm_has_no_cross_attention(make_bridge):
    # The same LLM object with no memory attached is the plain baseline, compiled or not.
    from babelbridge.bridges.generation import decode_config
    from babelbridge.padding import left_pad

    bridge = make_bridge()
    recorder = GraphRecorder()
    ids, mask = left_pad([bridge.prompt_ids("eng_Latn")] * 2, bridge.decoder.pad_token_id)
    outs = []
    for compile in (False, CompileConfig(backend=recorder, mode=None, fullgraph=True)):
        config = decode_config(bridge.decoder, max_new_tokens=6, compile=compile)
        with torch.no_grad():
            outs.append(bridge.decoder.model.generate(input_ids=ids, attention_mask=mask, generation_config=config))
    assert torch.equal(outs[0], outs[1])
    assert [recorder.sdpa_calls(g) for g in recorder.graphs] == [bridge.decoder.num_layers]


def test_min_new_tokens_forces_the_length(make_bridge):
    bridge = make_bridge()
    stop = bridge.decoder.stop_token_ids
    free = bridge.generate_token_ids([STOPS_EARLY], "deu_Latn", "eng_Latn", max_new_tokens=40)[0]
    assert len(free) < 40 and free[-1] in stop  # otherwise this test proves nothing
    forced = bridge.generate_token_ids([STOPS_EARLY], "deu_Latn", "eng_Latn", max_new_tokens=40, min_new_tokens=40)[0]
    assert len(forced) == 40 and not set(forced) & set(stop)
    assert forced[: len(free) - 1] == free[:-1]  # only the stop token was forbidden


@pytest.mark.parametrize("kwargs, message", [
    (dict(min_new_tokens=9, max_new_tokens=8), "min_new_tokens must be in 0..max_new_tokens (8), got 9"),
    (dict(max_new_tokens=0), "max_new_tokens and num_beams must be >= 1, got 0 and 1"),
    (dict(reference=True, static_cache=True), "cannot be combined with reference=True"),
    (dict(reference=True, compile=True), "cannot be combined with reference=True"),
])
def test_bad_generation_options_are_named(make_bridge, kwargs, message):
    bridge = make_bridge()
    with pytest.raises(InputError) as err:
        bridge.generate_token_ids(SOURCES[:1], "deu_Latn", "eng_Latn", **kwargs)
    assert message in str(err.value)


def test_source_memory_repeats_rows_in_beam_order_and_rejects_other_batches():
    kv = {0: torch.arange(6.0).view(2, 3, 1)}
    memory = SourceMemory(kv, torch.tensor([[1, 1, 0], [1, 1, 1]]))
    beams = memory.repeat_rows(2)
    k, mask = beams.for_rows(0, 4)
    assert k[:, :, 0].tolist() == [[0, 1, 2], [0, 1, 2], [3, 4, 5], [3, 4, 5]]
    assert mask.tolist() == [[True, True, False]] * 2 + [[True, True, True]] * 2
    assert memory.repeat_rows(1) is memory
    with pytest.raises(RuntimeError, match="LLM batch of 4 rows does not match the source memory's 2 rows"):
        memory.for_rows(0, 4)


def _benchmark():
    spec = importlib.util.spec_from_file_location("decode_speed", ROOT / "benchmarks" / "decode_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("preset, extra, adapters", [
    ("cpu-pocket", ["--static-cache"], "float32"),
    # The GPU preset's code path (bf16 backbones, bf16 autocast training, adapters cast) on the CPU.
    ("gpu-paper", ["--device", "cpu", "--dtype", "bfloat16", "--adapter-dtype", "model"], "bfloat16"),
])
def test_decode_speed_benchmark_runs_on_tiny_models(tmp_path, preset, extra, adapters):
    bench = _benchmark()
    code = bench.main(["--preset", preset, "--encoder", "tiny-random:bert", "--decoder", "tiny-random:qwen3",
                       "--bottleneck-dim", "8", "--batch-sizes", "1,4", "--new-tokens", "6", "--repeats", "2",
                       "--train-batch", "2", "--out", str(tmp_path), "--tag", "test", *extra])
    assert code == 0
    [path] = tmp_path.glob(f"decode_speed-{preset}-test-*.json")
    report = json.loads(path.read_text())
    assert report["settings"]["adapter_dtype"] == adapters
    rows = {(r["model"], r["batch"]): r for r in report["decode"]}
    assert set(rows) == {(m, b) for m in ("plain", "hybrid") for b in (1, 4)}
    for r in rows.values():
        assert r["new_tokens"] == 6 and r["prefill_s"] > 0 and r["decode_s"] > 0
        assert r["decode_tokens_per_s"] == pytest.approx(r["batch"] * 5 / r["decode_s"], rel=1e-3)
        assert len(r["samples_s"]["decode"]) == 2 and r["memory"]["peak_mib"] >= r["memory"]["before_mib"] > 0
    for b in (1, 4):
        ratio = rows["hybrid", b]["decode_tokens_per_s"] / rows["plain", b]["decode_tokens_per_s"]
        assert report["ratios"][f"batch_{b}"]["decode"] == pytest.approx(ratio, rel=1e-3)
    assert rows["hybrid", 1]["encoder_s"] > 0 and rows["plain", 1]["encoder_s"] is None
    assert report["training"]["tokens_per_s"] > 0 and report["training"]["batch"] == 2
    assert report["settings"]["static_cache"] is (preset == "cpu-pocket")
    assert "--encoder tiny-random:bert" in report["environment"]["command"]
    md = path.with_suffix(".md").read_text()
    assert "| hybrid | 4 |" in md and "hybrid / plain" in md


def test_decode_speed_benchmark_rejects_bad_flags(capsys):
    bench = _benchmark()
    with pytest.raises(SystemExit):
        bench.main(["--preset", "cpu-pocket", "--batch-sizes", "1,zero"])
    assert "--batch-sizes" in capsys.readouterr().err


def test_benchmark_footer_names_the_machine_and_leaves_out_what_was_not_measured():
    bench = _benchmark()
    env = {"date": "2026-12-03T00:00:00+00:00", "command": "python benchmarks/x.py --a 1",
           "machine": {"cpu": "Xeon", "cpu_count": 2, "platform": "Linux-6", "torch_threads": 2, "gpu": None,
                       "load_average_1m": 1.5},
           "versions": {"python": "3.11.7", "torch": "2.13.0"}}
    assert bench.provenance_lines(env) == [
        "- date: 2026-12-03T00:00:00+00:00", "- command: `python benchmarks/x.py --a 1`",
        "- machine: Xeon (2 CPUs, torch threads 2), Linux-6; load average at the end 1.5",
        "- versions: python 3.11.7, torch 2.13.0"]
    gpu = {**env, "machine": {"cpu": "EPYC", "cpu_count": 16, "platform": "Linux-6", "gpu": "H200 (139 GiB)",
                              "cuda": "12.8"}}
    assert bench.provenance_lines(gpu)[2] == "- machine: EPYC (16 CPUs), GPU: H200 (139 GiB), CUDA 12.8, Linux-6"
