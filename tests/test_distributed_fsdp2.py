"""FSDP2 (configs/accelerate/fsdp2.yaml) in two CPU processes (gloo): the bridge and its frozen
backbones sharded, one shard group per transformer layer, train to the weights, optimiser moments,
losses and gradient norms of a one-process run of the same global batches; a killed run resumes to
exactly the weights of an uninterrupted one.

accelerate 1.16 makes an FSDP config DistributedType.FSDP only on accelerators (state.py sets it in
its MULTI_GPU/NPU/XPU/... branch); under ACCELERATE_USE_CPU=1 the same launch is MULTI_CPU, that is
plain DDP, and the config is ignored. The script therefore does for the CPU what accelerate does on
GPUs: sets FSDP on its state, with the plugin accelerate builds from the FSDP_* variables that
`accelerate launch --config_file configs/accelerate/fsdp2.yaml` exported. accelerate.prepare then
runs its own FSDP2 path, and torch 2.13's fully_shard runs on a gloo CPU mesh. NCCL on GPUs is not
exercised here."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from accelerate import Accelerator
    from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin
    from torch.distributed.fsdp import FSDPModule
    from torch.distributed.tensor import DTensor
    from babelbridge.runconfig import load_run_config
    from babelbridge.train import Trainer
    from babelbridge.train.pipeline import build_for_training, load_pairs, plan_training

    config, out, *overrides = sys.argv[1:]
    accelerator = Accelerator(mixed_precision="no")
    if accelerator.num_processes > 1:
        assert accelerator.distributed_type == DistributedType.MULTI_CPU  # what accelerate makes of it on CPUs
        accelerator.state.fsdp_plugin = FullyShardedDataParallelPlugin()  # from the launch's FSDP_* variables
        accelerator.state.distributed_type = DistributedType.FSDP
    plan = plan_training(load_run_config(config, [f"train.output_dir={out}/run", *overrides]))
    bridge = build_for_training(plan)
    train, valid = load_pairs(plan, bridge)
    Trainer(bridge, train, plan.train, valid_pairs=valid, accelerator=accelerator).train()
    if accelerator.is_main_process:
        (Path(out) / "sharding.json").write_text(json.dumps({
            "fsdp2": accelerator.is_fsdp2,
            "units": sorted({type(m).__name__ for m in bridge.modules() if isinstance(m, FSDPModule)}),
            "sharded_parameters": sum(isinstance(p, DTensor) for p in bridge.parameters())}))
""")

OVERRIDES = ["train.max_steps=12"]  # each smoke config for 12 steps


def launch(tmp_path, name, config, processes, extra_env=None):
    script = tmp_path / "train_fsdp2.py"
    script.write_text(SCRIPT)
    # 17 validation pairs: rank 0 scores 9 (two micro-batches of 8), rank 1 scores 8 (one): the
    # uneven case, where each FSDP2 process must still call forward as often as the other.
    valid = tmp_path / "valid17.tsv"
    data = ROOT / "configs" / "data"
    valid.write_text((data / "smoke-deu-eng.valid.tsv").read_text()
                     + (data / "smoke-deu-eng.train.tsv").read_text().splitlines(keepends=True)[0])
    out = tmp_path / name
    out.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1", **(extra_env or {})}
    launcher = [sys.executable]
    if processes > 1:
        launcher += ["-m", "accelerate.commands.launch", "--config_file", str(ROOT / "configs/accelerate/fsdp2.yaml"),
                     "--num_processes", str(processes)]
    args = [str(script), str(config), str(out), *OVERRIDES, f"data.valid.0.path={valid}"]
    proc = subprocess.run(launcher + args, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def records(run, key):
    return [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if key in r]


@pytest.mark.parametrize("config", ["smoke-tiny.yaml", "llink-smoke-tiny.yaml", "xbridge-smoke-tiny.yaml"])
def test_fsdp2_two_processes_train_like_one(tmp_path, config):
    config = ROOT / "configs" / config
    two = launch(tmp_path, "two", config, 2, {"ACCELERATE_USE_CPU": "1"})
    one = launch(tmp_path, "one", config, 1)

    sharding = json.loads((two / "sharding.json").read_text())
    assert sharding["fsdp2"] and sharding["sharded_parameters"] > 0
    # fsdp2.yaml's TRANSFORMER_BASED_WRAP: a group per backbone layer (Bridge._no_split_modules), the root
    assert {"FSDPM2M100EncoderLayer", "FSDPQwen3DecoderLayer"} <= set(sharding["units"])
    assert any(u.startswith("FSDP") and u.endswith("Bridge") for u in sharding["units"])

    # The final bridge; for HCA also the best one (its single validation, at step 10: the other
    # configs' best step could differ, as a contrastive validation loss depends on the batches).
    for part in ("bridge", "best") if config.name == "smoke-tiny.yaml" else ("bridge",):
        sharded, single = (load_file(run / "run" / part / "bridge.safetensors") for run in (two, one))
        assert sharded.keys() == single.keys()
        assert all(sharded[k].shape == single[k].shape for k in single)  # HCA's 0-dim gates saved 0-dim
        for name in single:
            # An attention key bias has a zero true gradient (softmax ignores a constant added to a
            # whole row of scores): Adam moves it on float noise alone, |value| < 3e-5 here, so two
            # reduction orders disagree about it at that scale. Every other tensor within 1e-6.
            atol = 1e-4 if name.endswith("k_proj.bias") else 1e-6
            assert torch.allclose(sharded[name], single[name], atol=atol, rtol=1e-4), name
    # Adam's first moment scales with the gradient (the weights barely do): the token weighting
    # and FSDP2's averaging reduce-scatter give the one-process gradients.
    last = sorted((one / "run" / "checkpoints").iterdir())[-1].name
    sharded, single = (load_file(run / "run" / "checkpoints" / last / "optimizer.safetensors") for run in (two, one))
    assert sharded.keys() == single.keys()
    assert all(torch.allclose(sharded[k], single[k], atol=1e-6, rtol=1e-4) for k in single)
    for a, b in zip(records(two / "run", "loss"), records(one / "run", "loss"), strict=True):
        assert a["step"] == b["step"] and a["target_tokens"] == b["target_tokens"]
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
        assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=1e-5)  # clipping on DTensor gradients
    if config.name == "smoke-tiny.yaml":  # a token-level loss: the same whatever the micro-batches
        for a, b in zip(records(two / "run", "val_loss"), records(one / "run", "val_loss"), strict=True):
            assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)
        # Killed after step 10's checkpoint: started again, it resumes from it, the moments sliced
        # again like their parameters, and ends exactly where the uninterrupted run did.
        finished = load_file(two / "run" / "bridge" / "bridge.safetensors")
        shutil.rmtree(two / "run" / "bridge")
        shutil.rmtree(two / "run" / "checkpoints" / "step-0000012")
        launch(tmp_path, "two", config, 2, {"ACCELERATE_USE_CPU": "1"})
        resumed = load_file(two / "run" / "bridge" / "bridge.safetensors")
        assert all(torch.equal(resumed[k], finished[k]) for k in finished)
