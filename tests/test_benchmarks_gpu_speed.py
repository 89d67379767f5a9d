"""benchmarks/gpu_speed.py on tiny random models: the rows it writes and what they are computed
from, never how fast anything is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY_HCA = {"bottleneck_dim": 8, "adapter_up_init": "default"}


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import gpu_speed

    return gpu_speed


def test_one_method_on_tiny_models_gives_both_systems_and_their_ratio(bench, monkeypatch, tmp_path):
    monkeypatch.setitem(bench.SIZES, "pocket", {
        "hca": bench.Setup("tiny-random:bert", "tiny-random:qwen3", None, TINY_HCA, "tiny"),
        "crosslora": bench.Setup(None, "tiny-random:qwen3", "configs/crosslora-paper.yaml", {"r": 4}, "tiny")})
    code = bench.main(["--sizes", "pocket", "--device", "cpu", "--methods", "hca,crosslora", "--batch-sizes", "1,2",
                       "--new-tokens", "3", "--repeats", "2", "--train-batch", "2", "--out", str(tmp_path),
                       "--tag", "test"])
    assert code == 0
    [path] = tmp_path.glob("gpu_speed-pocket-cpu-rehearsal-test-*.json")  # a CPU run is named a rehearsal
    report = json.loads(path.read_text())
    rows = {(r["method"], r["system"], r["batch"]): r for r in report["decode"]}
    assert set(rows) == {(m, s, b) for m in ("hca", "crosslora") for s in ("bridge", "plain") for b in (1, 2)}
    for m, b in [(m, b) for m in ("hca", "crosslora") for b in (1, 2)]:
        bridge, plain = rows[m, "bridge", b], rows[m, "plain", b]
        for r in (bridge, plain):
            assert r["status"] == "ok" and r["new_tokens"] == 3
            assert r["prefill_s"] > 0 and r["decode_s"] > 0 and len(r["samples_s"]["decode"]) == 2
            # tokens/s are rounded to 2 decimals and decode_s to 5: half a unit of each either way
            speed = b * 2 / r["decode_s"]
            assert r["decode_tokens_per_s"] == pytest.approx(speed, rel=0.51e-5 / r["decode_s"], abs=0.0051)
            assert r["memory"]["peak_mib"] > 0 and r["llm_prompt_positions"] > 0
        # the ratio comes from the two rows of the same run
        assert bridge["decode_ratio"] == pytest.approx(bridge["decode_tokens_per_s"] / plain["decode_tokens_per_s"],
                                                       rel=1e-3)  # both rounded figures; the ratio to 4 decimals
        assert bridge["prefill_time_ratio"] == pytest.approx(bridge["prefill_s"] / plain["prefill_s"], rel=1e-3)
        assert plain["decode_ratio"] is None and plain["label"] == "LLM alone (prompted)"
    assert all("ratio >= 0.9" in report["goal_notes"][f"hca_batch_{b}"] for b in (1, 2))
    assert report["goal_notes"]["hca_batch_1"].endswith("judged on a GPU at paper sizes only")
    assert [t["method"] for t in report["training"]] == ["hca", "crosslora"]
    for train in report["training"]:
        assert train["status"] == "ok" and train["batch"] == 2 and train["trainable_parameters"] > 0
        assert train["target_tokens"] > 0 and train["step_s"] > 0 and len(train["samples_s"]) == 2
    assert report["methods"]["hca"]["bridge"] == TINY_HCA
    # CrossLoRA: its run config's experts at the rank given on top
    assert report["methods"]["crosslora"]["bridge"]["r"] == 4
    assert report["methods"]["crosslora"]["bridge"]["languages"][:2] == ["eng_Latn", "deu_Latn"]
    env = report["environment"]
    assert env["machine"]["cpu"] and env["versions"]["torch"] and env["versions"]["peft"]
    assert "--methods hca,crosslora" in env["command"]
    md = path.with_suffix(".md").read_text()
    assert "CPU rehearsal at pocket sizes (not GPU figures)" in md
    speed = rows["hca", "bridge", 2]["decode_tokens_per_s"]
    assert f"| HCA | HCA | tiny-random:bert + tiny-random:qwen3 | 2 | {speed} (" in md


def test_paper_sizes_on_the_cpu_fail_in_one_line(bench, tmp_path):
    with pytest.raises(SystemExit) as info:
        bench.main(["--sizes", "paper", "--device", "cpu", "--out", str(tmp_path)])
    message = str(info.value.code)
    assert "\n" not in message and "--allow-slow" in message and "--device cuda" in message
    assert not list(tmp_path.iterdir())


def test_a_spent_budget_skips_rows_and_says_so(bench):
    args = bench.parse_args(["--sizes", "pocket", "--device", "cpu", "--methods", "lora", "--batch-sizes", "1,4"])
    budget = bench.Budget(1e-9)
    decode, training = bench.run_method("lora", bench.SIZES["pocket"]["lora"], args, budget)  # nothing is built
    assert [(r["system"], r["batch"]) for r in decode] == [("bridge", 1), ("plain", 1), ("bridge", 4), ("plain", 4)]
    assert all(r["status"] == "skipped: this method's share of the time budget (1e-09 s, --budget-s) is spent"
               for r in [*decode, training])
    budget = bench.Budget(100)
    budget.share(4)  # four methods to run: this one may use a quarter of what is left
    assert 24 < budget.left(share=True) <= 25 and budget.left() > 99
    budget.note("call", 30)
    with pytest.raises(bench.OverBudget, match="a like call took 30 s"):
        budget.check("call")
    budget.check("other")  # unknown work is only refused once the share is spent
