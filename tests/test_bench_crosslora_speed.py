"""benchmarks/crosslora_speed.py on a tiny random model: the rows it writes, what the ratios are
computed from, and that each CrossLoRA row ran the path it names; never how fast anything is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import crosslora_speed

    return crosslora_speed


def test_tiny_run_gives_every_system_its_ratio_and_the_paths_it_names(bench, tmp_path):
    code = bench.main(["--sizes", "tiny", "--device", "cpu", "--new-tokens", "2", "--repeats", "1",
                       "--out", str(tmp_path)])
    assert code == 0
    [path] = tmp_path.glob("crosslora_speed-cpu-tiny-*.json")
    report = json.loads(path.read_text())
    rows = {(r["system"], r["batch"]): r for r in report["rows"]}
    assert set(rows) == {(s, b) for s in bench.SYSTEMS for b in (1, 32)}
    assert rows["crosslora_mixed", 1]["status"] == "n/a: one row has one direction"
    for batch in (1, 32):
        plain = rows["plain", batch]
        assert plain["speed_vs_plain"] == 1.0 and plain["decode_speed_vs_plain"] == 1.0
        for system in bench.SYSTEMS:
            r = rows[system, batch]
            if r["status"] != "ok":
                continue
            assert r["new_tokens"] == 2 and r["wall_s"]["min"] <= r["wall_s"]["median"]
            assert r["step_ms"]["median"] > 0 and len(r["samples_s"]["decode"]) == 1
            assert r["prompt_width"] == plain["prompt_width"]  # every system prefills the same width
            assert r["tokens_per_s"] == pytest.approx(batch * 2 / r["wall_s"]["median"], rel=1e-3)
            # the ratios come from the plain row of the same batch in the same run
            assert r["speed_vs_plain"] == pytest.approx(r["tokens_per_s"] / plain["tokens_per_s"], rel=1e-3)
            assert r["decode_speed_vs_plain"] == pytest.approx(
                r["decode_tokens_per_s"] / plain["decode_tokens_per_s"], rel=1e-3)
        # what ran inside the model: the experts off, peft's LoRA (no CrossLoRA layer reached), the grouped path
        assert plain["routing"] == "off" and rows["lora", batch]["routing"] is None
        assert rows["crosslora_one", batch]["routing"] == {"path": "grouped", "distinct_a": 1, "distinct_b": 1,
                                                          "rows": batch}
    mixed = rows["crosslora_mixed", 32]
    assert mixed["directions"] == 12 and mixed["direction"] == "mixed"  # 4 languages: 12 ordered pairs
    assert mixed["routing"]["path"] == "per-row" and mixed["routing"]["rows"] == 32
    assert mixed["routing"]["distinct_a"] > 1 and mixed["routing"]["distinct_b"] > 1
    build = report["build"]
    # LoRA at CrossLoRA's matched rank: 4 A + 4 B experts of r 16 cost what one LoRA of r 64 does
    assert build["lora"]["r"] == build["matched_lora"]["r"] == 64
    assert build["trainable_parameters"]["lora"] == build["trainable_parameters"]["crosslora"]
    assert all(n > 0 for n in build["randomised_b_tensors"].values())
    assert set(report["experts_effect"]) == set(bench.SYSTEMS) - {"plain"}
    assert all(v > 0 for v in report["experts_effect"].values())  # no path is a no-op
    env = report["environment"]
    assert env["machine"]["cpu"] and env["versions"]["torch"] and env["versions"]["transformers"]
    assert "--sizes tiny" in env["command"]
    md = path.with_suffix(".md").read_text()
    assert "| CrossLoRA, mixed directions | 1 | n/a: one row has one direction |" in md
    assert "| CrossLoRA, mixed directions | 32 | 12: mixed (per-row, 4 A / 4 B experts) |" in md
    assert "r 64, alpha 256 on gate_proj, up_proj, down_proj (matched" in md


def test_directions_mix_both_sides_from_the_second_row(bench):
    pairs = bench.directions(["eng_Latn", "deu_Latn", "fra_Latn"])
    assert len(pairs) == len(set(pairs)) == 6 and all(s != t for s, t in pairs)
    assert all(a[0] != b[0] and a[1] != b[1] for a, b in zip(pairs, pairs[1:]))


def test_options_are_checked(bench, capsys):
    args = bench.parse_args([])
    assert args.sizes == "pocket" and args.batch_sizes == [1, 32] and args.languages[:2] == ["eng_Latn", "deu_Latn"]
    with pytest.raises(SystemExit):
        bench.parse_args(["--languages", "eng_Latn"])
    assert "at least two languages" in capsys.readouterr().err
