"""Two processes under `accelerate launch` (CPU, gloo): both ranks end with identical bridge
weights (and LLINK's teacher queue; XBridge's NMT cross-attention), equal to a one-process run
of the same global batches."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import sys
    from accelerate import PartialState
    from safetensors.torch import save_file
    from babelbridge.runconfig import load_run_config
    from babelbridge.train import Trainer
    from babelbridge.train.pipeline import build_for_training, load_pairs, plan_training

    config, out = sys.argv[1], sys.argv[2]
    plan = plan_training(load_run_config(config, [f"train.output_dir={out}/run"]))
    bridge = build_for_training(plan)
    train, valid = load_pairs(plan, bridge)
    Trainer(bridge, train, plan.train, valid_pairs=valid).train()
    state = PartialState()
    print(f"rank {state.process_index} of {state.num_processes} ({state.distributed_type})")
    rank = state.process_index
    tensors = {n: p.detach().contiguous() for n, p in bridge.trainable_named_parameters()}
    tensors.update({f"extra_state.{k}": v.contiguous() for k, v in bridge.extra_state().items()})
    save_file(tensors, f"{out}/rank{rank}.safetensors")
""")


def run(tmp_path, name, launcher, config, extra_env=None):
    script = tmp_path / "train_and_dump.py"
    script.write_text(SCRIPT)
    out = tmp_path / name
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1", **(extra_env or {})}
    cmd = launcher + [str(script), str(config), str(out)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.parametrize("config", ["smoke-tiny.yaml", "llink-smoke-tiny.yaml", "xbridge-smoke-tiny.yaml"])
def test_two_process_run_keeps_ranks_identical_and_matches_one_process(tmp_path, config):
    config = ROOT / "configs" / config
    # `accelerate launch --cpu` starts ONE process (its multi-CPU path is mpirun); torchrun-style
    # processes on a CPU machine need --multi_gpu plus ACCELERATE_USE_CPU=1 (gloo backend).
    accelerate = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                  "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    two = run(tmp_path, "two", accelerate, config, {"ACCELERATE_USE_CPU": "1"})
    one = run(tmp_path, "one", [sys.executable], config)
    rank0, rank1 = load_file(two / "rank0.safetensors"), load_file(two / "rank1.safetensors")
    single = load_file(one / "rank0.safetensors")
    assert rank0.keys() == rank1.keys() == single.keys()
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    # Same global batches, same token weighting: equal up to the order of float additions.
    assert all(torch.allclose(rank0[k], single[k], atol=1e-5, rtol=1e-4) for k in rank0)
    assert (two / "run" / "bridge" / "bridge.safetensors").is_file()
    if "llink" in config.name:  # every rank queued every rank's teachers, in the one-process order
        assert single["extra_state.queue.keys"].shape == (64,)
        assert torch.equal(rank0["extra_state.queue.keys"], single["extra_state.queue.keys"])
