"""What FSDP2 (torch fully_shard; configs/accelerate/fsdp2.yaml) needs beyond accelerate.prepare.

Under FSDP2 every process holds a slice of each parameter and of its optimiser moments (a
DTensor). Checkpoints stay the one-process format: tensors are gathered whole on every process
(a collective, so all of them call), the main process writes them, and a resumed run slices the
moments again like their parameters. Outside FSDP2 nothing is a DTensor and every function here
returns its input as it is: one process and DDP save exactly what they saved before.
"""

from __future__ import annotations

import torch
from torch import nn

try:
    from torch.distributed.tensor import DTensor, distribute_tensor
except ImportError:  # a torch built without distributed: nothing is ever sharded
    DTensor, distribute_tensor = (), None


def make_scalars_1d(module: nn.Module) -> dict[str, torch.Size]:
    """Reshape the module's 0-dim parameters to (1,), in place; {name: original shape}.

    fully_shard refuses them ("fully_shard doesn't support scalar parameters. Change g to a 1D
    tensor with numel equal to 1"), and HCA's gates and LLINK's scale are 0-dim. Every use of
    them broadcasts, so (1,) computes the same; checkpoints get the original shape back (whole)."""
    reshaped = {}
    for name, param in module.named_parameters():
        if param.dim() == 0:
            reshaped[name] = param.shape
            param.data = param.data.reshape(1)
    return reshaped


def whole(tensor: torch.Tensor, shape: torch.Size | None = None) -> torch.Tensor:
    """The tensor gathered whole if FSDP2 sharded it (a collective), in `shape` when given."""
    if isinstance(tensor, DTensor):
        tensor = tensor.full_tensor().cpu()  # one tensor at a time on the device, not all of them
    return tensor if shape is None else tensor.reshape(shape)


def whole_optimizer_state(optimizer: torch.optim.Optimizer, shapes: dict[int, torch.Size]) -> dict:
    """optimizer.state_dict() with sharded moments gathered (a collective); shapes: original
    shapes by id() of the parameter (make_scalars_1d). New dicts: state_dict() hands out the
    optimiser's own per-parameter dicts, which must keep their shards."""
    state = optimizer.state_dict()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    if not any(isinstance(p, DTensor) for p in params):
        return state
    state["state"] = {index: {key: whole(value, shapes.get(id(params[index]))) if isinstance(value, DTensor) else value
                              for key, value in values.items()}
                      for index, values in state["state"].items()}
    return state


def shard_optimizer_state(state: dict, optimizer: torch.optim.Optimizer) -> dict:
    """A whole optimizer state (as saved) sliced like the optimiser's parameters, in place.
    Adam/AdamW (the trainer's optimisers): every entry but the step count has its parameter's shape."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for index, values in state["state"].items():
        param = params[index]
        if isinstance(param, DTensor):
            for key, value in values.items():
                if key != "step":
                    values[key] = distribute_tensor(value.reshape(param.shape).to(param.device),
                                                    param.device_mesh, param.placements)
    return state
