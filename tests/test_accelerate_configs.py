"""configs/accelerate/*.yaml: each loads with accelerate's own loader, every nested key is one
`accelerate launch` knows, the launch path turns fsdp2.yaml into an FSDP2 plugin that shards per
transformer layer, and each file and the README give the exact launch command. The trainer refuses
what it cannot run (DeepSpeed, FSDP1) with a message that says what to use instead."""

import os
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from accelerate.commands.config.config_args import ClusterConfig, load_config_from_file
from accelerate.commands.launch import _validate_launch_command, launch_command_parser
from accelerate.utils import DistributedType, FullyShardedDataParallelPlugin
from accelerate.utils.launch import prepare_multi_gpu_env
from torch.distributed.fsdp import CPUOffloadPolicy
from torch.distributed.fsdp.wrap import transformer_auto_wrap_policy

from babelbridge.backbones import load_decoder, load_encoder
from babelbridge.bridges import build_bridge
from babelbridge.errors import BabelBridgeError
from babelbridge.train import Trainer, fsdp

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {"ddp.yaml": DistributedType.MULTI_GPU, "fsdp2.yaml": DistributedType.FSDP,
           "deepspeed-zero2.yaml": DistributedType.DEEPSPEED}


def launch_args(name):
    """What `accelerate launch --config_file configs/accelerate/NAME train.py` resolves to."""
    args = launch_command_parser().parse_args(["--config_file", str(ROOT / "configs" / "accelerate" / name), "x.py"])
    return _validate_launch_command(args)[0]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_loads_with_accelerates_loader_and_names_only_real_keys(name):
    config = load_config_from_file(str(ROOT / "configs" / "accelerate" / name))  # refuses unknown top-level keys
    assert isinstance(config, ClusterConfig)
    assert config.distributed_type == CONFIGS[name]
    assert (config.num_processes, config.num_machines, config.mixed_precision) == (8, 1, "no")
    # The loader does not look inside fsdp_config / deepspeed_config: `accelerate launch` copies
    # each key onto its arguments (fsdp_config.x -> args.fsdp_x), so a key it has no argument
    # for would be ignored without a word.
    known = {action.dest for action in launch_command_parser()._actions}
    nested = [k if k.startswith("fsdp_") else f"fsdp_{k}" for k in config.fsdp_config] + list(config.deepspeed_config)
    assert [k for k in nested if k not in known] == []


def test_fsdp2_config_launches_fsdp2_sharding_each_transformer_layer():
    args = launch_args("fsdp2.yaml")
    assert args.use_fsdp and not args.multi_gpu and not args.use_deepspeed
    with mock.patch.dict(os.environ, prepare_multi_gpu_env(args), clear=True):
        assert os.environ["ACCELERATE_USE_FSDP"] == "true"
        plugin = FullyShardedDataParallelPlugin()  # what Accelerator() builds from those variables
    assert plugin.fsdp_version == 2
    assert plugin.auto_wrap_policy is transformer_auto_wrap_policy
    assert plugin.transformer_cls_names_to_wrap is None  # taken from Bridge._no_split_modules
    assert plugin.reshard_after_forward is True and not isinstance(plugin.cpu_offload, CPUOffloadPolicy)
    assert not plugin.activation_checkpointing and not plugin.cpu_ram_efficient_loading


def test_ddp_and_deepspeed_configs_launch_what_they_name():
    ddp = launch_args("ddp.yaml")
    assert ddp.multi_gpu and not ddp.use_fsdp and not ddp.use_deepspeed
    zero = launch_args("deepspeed-zero2.yaml")
    assert zero.use_deepspeed and int(zero.zero_stage) == 2
    assert (zero.offload_optimizer_device, zero.offload_param_device) == ("none", "none")


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_each_config_and_the_readme_give_the_exact_launch_command(name):
    command = (f"accelerate launch --config_file configs/accelerate/{name} -m babelbridge.cli.main "
               f"train configs/hca-paper-deu-eng.yaml")
    header = (ROOT / "configs" / "accelerate" / name).read_text().split("\ncompute_environment:")[0]
    assert command in header
    assert command in (ROOT / "README.md").read_text()


def test_trainer_refuses_deepspeed_and_fsdp1_naming_what_to_use():
    with pytest.raises(BabelBridgeError, match=r"^the trainer does not run under DeepSpeed: its engine would take "
                       r"over the optimiser step, gradient clipping and accumulation that the trainer does itself; "
                       r"shard with FSDP2 instead: accelerate launch --config_file configs/accelerate/fsdp2.yaml \.\.\.$"):
        Trainer.refuse_unsupported(SimpleNamespace(distributed_type=DistributedType.DEEPSPEED, is_fsdp2=False))
    with pytest.raises(BabelBridgeError, match=r"^the trainer runs FSDP version 2 only \(fsdp_version: 2, "
                       r"configs/accelerate/fsdp2.yaml\); FSDP1 would need fsdp_use_orig_params: true for the "
                       r"frozen and trainable parameters of one bridge$"):
        Trainer.refuse_unsupported(SimpleNamespace(distributed_type=DistributedType.FSDP, is_fsdp2=False))
    for kind in (DistributedType.NO, DistributedType.MULTI_GPU, DistributedType.MULTI_CPU):
        Trainer.refuse_unsupported(SimpleNamespace(distributed_type=kind, is_fsdp2=False))
    Trainer.refuse_unsupported(SimpleNamespace(distributed_type=DistributedType.FSDP, is_fsdp2=True))


def test_bridge_names_its_backbones_layer_classes_for_fsdp_wrapping():
    bridge = build_bridge("hca", load_encoder("tiny-random:m2m100"), load_decoder("tiny-random:qwen3"),
                          {"bottleneck_dim": 16})
    # transformers' lists; accelerate skips the classes a model does not hold (M2M100DecoderLayer here)
    assert bridge._no_split_modules == ["M2M100EncoderLayer", "M2M100DecoderLayer", "Qwen3DecoderLayer"]


def test_outside_fsdp2_checkpoint_tensors_are_the_parameters_themselves():
    """The one-process and DDP paths write exactly what they wrote before: no copy, no reshape."""
    param = torch.nn.Parameter(torch.tensor(0.5))
    assert fsdp.whole(param) is param
    module = torch.nn.Module()
    module.gate, module.w = torch.nn.Parameter(torch.tensor(0.5)), torch.nn.Parameter(torch.ones(2))
    assert fsdp.make_scalars_1d(module) == {"gate": torch.Size([])}  # what fully_shard refuses
    assert module.gate.shape == (1,) and fsdp.whole(module.gate, torch.Size([])).shape == ()
    optimizer = torch.optim.Adam(module.parameters())
    assert fsdp.whole_optimizer_state(optimizer, {}) == optimizer.state_dict()
