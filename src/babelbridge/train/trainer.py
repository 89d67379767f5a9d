"""One trainer for every bridge and every stage, on accelerate.

The same code runs in one process or under `accelerate launch --num_processes N` (DDP, or FSDP2
through configs/accelerate/fsdp2.yaml). Only the bridge's own parameters are optimised; the
frozen backbones have requires_grad=False, so DDP never syncs or buckets them, and FSDP2 shards
them without gradients. After train() under FSDP2 the bridge is left sharded: load the saved one.

A run is resumable at any moment: checkpoints are written atomically every `save_every`
steps, and the batches of step k are a pure function of (seed, k), so a run killed and resumed
ends with exactly the weights of an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import DistributedType, set_seed
from tqdm.auto import tqdm
from transformers import get_scheduler

from ..bridges import Bridge, TranslationPair, init_from_checkpoint, load_trainable_into, save_bridge
from ..data.derangement import deranged
from ..errors import BabelBridgeError
from . import batching, fsdp
from .config import TrainConfig
from .metrics import MetricsLog
from .state import checkpoints, load_training_state, prune, save_training_state

SCHEDULES = {"constant": "constant_with_warmup", "linear": "linear", "cosine": "cosine"}


@dataclass
class TrainResult:
    steps: int
    stopped_early: bool
    last_loss: float | None
    best_val_loss: float | None
    output_dir: Path


class Trainer:
    def __init__(self, bridge: Bridge, train_pairs: list[TranslationPair], config: TrainConfig,
                 valid_pairs: list[TranslationPair] | None = None, accelerator: Accelerator | None = None,
                 run_info: dict | None = None):
        self.bridge, self.config = bridge, config
        self.train_pairs, self.valid_pairs = train_pairs, valid_pairs or []
        self.accelerator = accelerator or Accelerator(mixed_precision="bf16" if config.precision == "bf16" else "no")
        self.run_dir = Path(config.output_dir)
        self.run_info = run_info or {}
        self.refuse_unsupported(self.accelerator)
        world, micro = self.accelerator.num_processes, config.micro_batch_size
        if config.global_batch_size % (micro * world):
            raise BabelBridgeError(
                f"train.global_batch_size ({config.global_batch_size}) must be a multiple of "
                f"micro_batch_size x processes ({micro} x {world})"
            )
        self.per_epoch = batching.steps_per_epoch(len(train_pairs), config.global_batch_size)
        if self.per_epoch == 0:
            raise BabelBridgeError(
                f"{len(train_pairs)} training pairs do not fill one global batch of {config.global_batch_size}"
            )
        self.total_steps = config.max_steps or math.ceil(config.epochs * self.per_epoch)
        bridge.check_pairs(self.train_pairs + self.valid_pairs)  # before any step, not hours in
        bridge.check_rdrop(config.rdrop_alpha)
        # R-Drop's two passes: only when asked, so a run without it is the same computation as before.
        self.loss_options = {"rdrop_alpha": config.rdrop_alpha} if config.rdrop_alpha else {}
        # Length of a pair for grouping: characters are a good enough proxy and cost nothing.
        self.lengths = [len(p.src) + len(p.tgt) for p in train_pairs]
        self._order: tuple[int, list[int]] | None = None

    @staticmethod
    def refuse_unsupported(accelerator) -> None:
        """DeepSpeed and FSDP1 fail here rather than deep inside accelerate.prepare, or worse, train."""
        kind = accelerator.distributed_type
        if kind == DistributedType.DEEPSPEED:
            # accelerate's DeepSpeed engine takes the optimiser step, clipping and accumulation over
            # (engine.step on acc.backward), which this loop does itself; a model prepared without its
            # optimiser gets no ZeRO at all, and accelerate asks for a dataloader to size batches.
            raise BabelBridgeError(
                "the trainer does not run under DeepSpeed: its engine would take over the optimiser step, "
                "gradient clipping and accumulation that the trainer does itself; shard with FSDP2 instead: "
                "accelerate launch --config_file configs/accelerate/fsdp2.yaml ...")
        if kind == DistributedType.FSDP and not accelerator.is_fsdp2:
            # FSDP1 flattens each shard group into one FlatParameter: frozen and trainable parameters
            # in one group need use_orig_params, and the trainer's checkpoints read parameters by name.
            raise BabelBridgeError(
                "the trainer runs FSDP version 2 only (fsdp_version: 2, configs/accelerate/fsdp2.yaml); "
                "FSDP1 would need fsdp_use_orig_params: true for the frozen and trainable parameters of one bridge")

    # ---- batches ------------------------------------------------------------------------------
    def batch_indices(self, step: int) -> list[int]:
        epoch, within = divmod(step, self.per_epoch)
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, batching.epoch_order(self.lengths, epoch, self.config.seed,
                                                       self.config.global_batch_size, self.config.group_by_length))
        g = self.config.global_batch_size
        return self._order[1][within * g : (within + 1) * g]

    def _sum(self, value: float) -> float:
        t = torch.tensor(float(value), device=self.accelerator.device, dtype=torch.float64)
        return self.accelerator.reduce(t, reduction="sum").item()

    def param_groups(self) -> list[dict]:
        """One optimiser group per learning rate (train.lr_by_module), in a fixed order."""
        patterns = list(self.config.lr_by_module.items())
        groups: dict[float, list] = {}
        used = set()
        for name, param in self.optimised_parameters():
            lr = self.config.lr
            for pattern, value in patterns:
                if fnmatch.fnmatchcase(name, pattern):
                    lr = float(value)
                    used.add(pattern)
                    break
            groups.setdefault(lr, []).append(param)
        unused = [p for p, _ in patterns if p not in used]
        if unused:
            raise BabelBridgeError(f"train.lr_by_module: {', '.join(unused)} match(es) no trainable parameter; "
                                   f"names look like {', '.join(n for n, _ in self.bridge.trainable_named_parameters()[:4])}")
        return [{"params": ps, "lr": lr} for lr, ps in groups.items()]

    def optimised_parameters(self) -> list[tuple[str, torch.nn.Parameter]]:
        """The bridge's own parameters that this stage trains (some may be held fixed)."""
        return [(n, p) for n, p in self.bridge.trainable_named_parameters() if p.requires_grad]

    # ---- the loop -------------------------------------------------------------------------------
    def train(self) -> TrainResult:
        cfg, acc, bridge = self.config, self.accelerator, self.bridge
        set_seed(cfg.seed)
        state = {"step": 0, "best_val_loss": None, "evals_without_improvement": 0, "stopped_early": False}
        found = checkpoints(self.run_dir)
        if found:
            load_trainable_into(bridge, found[-1] / "bridge")
        elif cfg.init_from:
            init_from_checkpoint(bridge, cfg.init_from)
        if cfg.gradient_checkpointing:
            bridge.decoder.enable_gradient_checkpointing()
        scalar_shapes = fsdp.make_scalars_1d(bridge) if acc.is_fsdp2 else {}
        model = acc.prepare(bridge)
        # The optimiser comes after prepare: FSDP2 replaces each parameter with its shard, and the
        # optimiser must hold those (prepare, RNG and optimiser construction do not touch each other).
        self.own_parameters = bridge.trainable_named_parameters()  # FSDP2's shards stay these objects
        self.saved_shapes = {id(p): scalar_shapes[n] for n, p in self.own_parameters if n in scalar_shapes}
        params = [p for _, p in self.optimised_parameters()]
        opt_cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
        optimizer = opt_cls(self.param_groups(), lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)
        scheduler = get_scheduler(SCHEDULES[cfg.schedule], optimizer, num_warmup_steps=cfg.warmup_steps,
                                  num_training_steps=self.total_steps)
        if found:
            state.update({k: v for k, v in load_training_state(found[-1], optimizer=optimizer, scheduler=scheduler,
                                                                bridge=bridge).items() if k in state})
            if acc.is_main_process:
                print(f"resuming from {found[-1]} (step {state['step']} of {self.total_steps})")
        metrics = MetricsLog(self.run_dir, state["step"], enabled=acc.is_main_process)
        if acc.is_main_process:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "run_config.json").write_text(json.dumps(
                {**self.run_info, "train": cfg.to_dict(), "train_pairs": len(self.train_pairs),
                 "valid_pairs": len(self.valid_pairs), "total_steps": self.total_steps}, indent=2, default=str) + "\n")
        bar = tqdm(total=self.total_steps, initial=state["step"], disable=not acc.is_main_process,
                   desc="train", dynamic_ncols=True)
        last_loss = None
        while state["step"] < self.total_steps and not state["stopped_early"]:
            started = time.perf_counter()
            micro = batching.micro_batches_for_rank(self.batch_indices(state["step"]), cfg.micro_batch_size,
                                                    acc.process_index, acc.num_processes)
            batches = [bridge.collate([self.train_pairs[i] for i in mb]) for mb in micro]
            counts = [bridge.loss_weight(b) for b in batches]
            bridge.begin_step(state["step"], self.total_steps)
            global_tokens = self._sum(sum(counts))
            loss_sum = 0.0
            model.train()
            for j, (batch, n) in enumerate(zip(batches, counts)):
                # Gradients are all-reduced once per step, after the last micro-batch.
                sync = contextlib.nullcontext() if j == len(batches) - 1 else acc.no_sync(model)
                with sync:
                    mean_loss = model(batch, **self.loss_options)
                    # Token-weighted over the whole global batch; DDP averages over processes.
                    acc.backward(mean_loss * (n * acc.num_processes / global_tokens))
                loss_sum += mean_loss.item() * n
            grad_norm = acc.clip_grad_norm_(params, cfg.max_grad_norm) if cfg.max_grad_norm else None
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            bridge.end_step(acc.gather)
            state["step"] += 1
            last_loss = self._sum(loss_sum) / global_tokens
            # Input tokens read by the bridge; an LLM-only bridge (prompted, lora) has no source_mask.
            tokens = self._sum(sum(int(b[k].sum()) for b in batches
                                   for k in ("attention_mask", "source_mask") if k in b))
            elapsed = time.perf_counter() - started
            bar.update(1)
            bar.set_postfix(loss=f"{last_loss:.4f}", tok_s=f"{tokens / elapsed:.0f}")
            if state["step"] % cfg.log_every == 0 or state["step"] == self.total_steps:
                metrics.write({"step": state["step"], "loss": last_loss, "lr": scheduler.get_last_lr()[0],
                               "tokens_per_s": tokens / elapsed, "target_tokens": global_tokens,
                               "grad_norm": float(grad_norm) if grad_norm is not None else None})
            if cfg.eval_every and self.valid_pairs and state["step"] % cfg.eval_every == 0:
                self._evaluate_and_maybe_stop(model, state, metrics)
            if state["step"] % cfg.save_every == 0 or state["step"] == self.total_steps or state["stopped_early"]:
                self._save(optimizer, scheduler, state)
        bar.close()
        metrics.close()
        tensors = self.whole_trainable()
        if acc.is_main_process:
            save_bridge(bridge, self.run_dir / "bridge", extra={"train": {"steps": state["step"]}}, tensors=tensors)
        acc.wait_for_everyone()
        return TrainResult(state["step"], state["stopped_early"], last_loss, state["best_val_loss"], self.run_dir)

    # ---- validation, early stopping, checkpoints -------------------------------------------------
    @torch.no_grad()
    def validation_loss(self, model, mismatched_sources: bool = False) -> float:
        """Token-weighted mean loss on the validation pairs.

        mismatched_sources=True gives each pair the source of the pair half the set away (a
        fixed derangement across the whole set, not within a batch of similar sentences).
        """
        acc, cfg = self.accelerator, self.config
        model.eval()
        pairs = self.valid_pairs
        if mismatched_sources:
            pairs = [self.bridge.mismatched_source(p, donor) for p, donor in zip(pairs, deranged(pairs))]
        mine = list(range(acc.process_index, len(pairs), acc.num_processes))
        rounds = math.ceil(len(mine) / cfg.micro_batch_size)
        if acc.is_fsdp2:
            # Under FSDP2 every forward is a collective (it gathers the sharded parameters): a
            # process with a batch fewer than the others would leave them waiting forever. It makes
            # the same number of calls; the extra one scores pairs it has and counts 0.
            rounds = math.ceil(math.ceil(len(pairs) / acc.num_processes) / cfg.micro_batch_size)
        total, tokens = 0.0, 0
        for start in range(0, rounds * cfg.micro_batch_size, cfg.micro_batch_size):
            chunk = mine[start : start + cfg.micro_batch_size]
            batch = self.bridge.collate([pairs[i] for i in chunk or mine[:1] or [0]])
            n = self.bridge.loss_weight(batch) if chunk else 0
            total += model(batch).item() * n
            tokens += n
        return self._sum(total) / max(self._sum(tokens), 1)

    def _evaluate_and_maybe_stop(self, model, state: dict, metrics: MetricsLog) -> None:
        cfg = self.config
        val = self.validation_loss(model)
        record = {"step": state["step"], "val_loss": val}
        if cfg.eval_source_gap and len(self.valid_pairs) > 1:
            record["val_loss_mismatched_src"] = self.validation_loss(model, mismatched_sources=True)
            record["source_gap"] = record["val_loss_mismatched_src"] - val
        if self.accelerator.is_fsdp2:
            # Sharded parameters are gathered inside forward, by every process together: each one
            # computes the metrics (the same numbers there), the main process logs them.
            extra = model(None, call=lambda: self.bridge.validation_metrics(self.valid_pairs, cfg.micro_batch_size))
            if self.accelerator.is_main_process:
                record.update(extra)
        elif self.accelerator.is_main_process:
            record.update(self.bridge.validation_metrics(self.valid_pairs, cfg.micro_batch_size))
        metrics.write(record)
        if self.accelerator.is_main_process:
            tqdm.write("step {step}: ".format(**record) + ", ".join(
                f"{k} {v:.4f}" for k, v in record.items() if k != "step"))
        best = state["best_val_loss"]
        if best is None or val < best - cfg.early_stopping_min_delta:
            state["best_val_loss"], state["evals_without_improvement"] = val, 0
            tensors = self.whole_trainable()
            if self.accelerator.is_main_process:
                save_bridge(self.bridge, self.run_dir / "best", tensors=tensors,
                            extra={"train": {"step": state["step"], "val_loss": val}})
        else:
            state["evals_without_improvement"] += 1
            if cfg.early_stopping_patience and state["evals_without_improvement"] >= cfg.early_stopping_patience:
                state["stopped_early"] = True
                if self.accelerator.is_main_process:
                    print(f"early stop at step {state['step']}: validation loss has not improved for "
                          f"{cfg.early_stopping_patience} evaluations (best {state['best_val_loss']:.4f})")

    def whole_trainable(self) -> dict[str, torch.Tensor]:
        """The bridge's trainable tensors as a checkpoint holds them. Under FSDP2 gathered from
        the shards, a collective: every process calls this, the main process writes."""
        return {n: fsdp.whole(p.detach(), self.saved_shapes.get(id(p))) for n, p in self.own_parameters}

    def _save(self, optimizer, scheduler, state: dict) -> None:
        tensors, optimizer_state = self.whole_trainable(), fsdp.whole_optimizer_state(optimizer, self.saved_shapes)
        if self.accelerator.is_main_process:
            target = self.run_dir / "checkpoints" / f"step-{state['step']:07d}"
            save_training_state(target, bridge=self.bridge, optimizer=optimizer, scheduler=scheduler,
                                trainer_state=dict(state), tensors=tensors, optimizer_state=optimizer_state)
            prune(self.run_dir, self.config.keep_last)
        self.accelerator.wait_for_everyone()
