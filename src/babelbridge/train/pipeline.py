"""From a run config to a trained bridge: validate, read data, load backbones, train.

Everything that can be checked without a model (options, language codes, data files) is
checked first, so a typo fails in a second instead of after loading 10 GB of weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..bridges import Bridge, bridge_class, build_bridge
from ..errors import BabelBridgeError
from ..runconfig import RunConfig
from .config import TrainConfig

DATA_KEYS = {"train", "valid", "multiway", "downsample", "mix", "mix_size", "empty_lines", "overlong", "seed"}


@dataclass
class TrainingPlan:
    run: RunConfig
    train: TrainConfig
    train_specs: list
    valid_specs: list
    multiway: object | None = None  # data.multiway: a babelbridge.data.multiway.MultiwaySpec
    downsample: object | None = None  # data.downsample: a babelbridge.data.downsample.DownsampleSpec


def plan_training(run: RunConfig) -> TrainingPlan:
    """Validate the whole run config without loading a model."""
    from ..data import CorpusSpec, DownsampleSpec, MultiwaySpec

    cls = bridge_class(run.method)
    if not cls.trains:
        raise BabelBridgeError(f"method {run.method} has no trainable parameters: nothing to train "
                               f"(`babelbridge baseline zero-shot --decoder SPEC --out DIR` writes its checkpoint)")
    cls.config_class.from_dict(run.bridge)
    data = dict(run.data)
    unknown = sorted(set(data) - DATA_KEYS)
    if unknown:
        raise BabelBridgeError(f"unknown data option(s) {', '.join(unknown)}; accepted: {', '.join(sorted(DATA_KEYS))}")
    if not data.get("train") and data.get("multiway") is None:
        raise BabelBridgeError("no training data: give data.train (at least one corpus: format, path, src_lang) "
                               "or data.multiway (corpus, langs, hubs, directions), or both")
    if not data.get("train") and (data.get("mix_size") is not None or data.get("mix", "concat") != "concat"):
        raise BabelBridgeError("data.mix and data.mix_size mix data.train's corpora, and there is no data.train; "
                               "data.multiway takes every direction's pairs (its limit: pairs per direction)")
    if data.get("mix_size") is not None and data.get("mix", "concat") == "concat":
        raise BabelBridgeError("data.mix_size applies to the weighted and balanced mixtures; set data.mix to one "
                               "of them, or remove mix_size (concat takes every pair)")
    base = run.path.parent if run.path else Path.cwd()

    def specs(entries):
        out = []
        for entry in entries or []:
            entry = dict(entry)
            for key in ("path", "tgt_path"):
                if entry.get(key) and not Path(entry[key]).is_absolute():
                    entry[key] = str(base / entry[key])
            out.append(CorpusSpec.from_dict(entry))
        return out

    multiway = MultiwaySpec.from_dict(data["multiway"], base) if data.get("multiway") is not None else None
    downsample = DownsampleSpec.from_dict(data["downsample"]) if data.get("downsample") is not None else None
    train = TrainConfig.from_dict({"output_dir": f"runs/{run.path.stem if run.path else 'bridge'}", **run.train})
    return TrainingPlan(run, train, specs(data.get("train")), specs(data.get("valid")), multiway, downsample)


def training_pairs(plan: TrainingPlan):
    """data.train's corpora mixed, then data.multiway's pairs, then data.downsample: the training
    pairs before the over-long filter, a pure function of the config and the seed (data.seed,
    else the train seed); printed as it goes. Nothing here depends on the processes of a run:
    every process, and every resume, gets the same list."""
    from ..data import build_multiway, downsample, mix_corpora, read_corpus

    data = plan.run.data
    empty = data.get("empty_lines", "skip")
    seed = data.get("seed", plan.train.seed)
    pairs = []
    if plan.train_specs:
        corpora = [read_corpus(spec, empty_lines=empty) for spec in plan.train_specs]
        for c in corpora:
            print(f"data: {c.name}: {c.report.summary()}")
        pairs = mix_corpora(corpora, mode=data.get("mix", "concat"), seed=seed, size=data.get("mix_size"))
    if plan.multiway is not None:
        multiway = build_multiway(plan.multiway, empty_lines=empty)
        print("data: " + multiway.format())
        pairs += multiway.pairs
    if plan.downsample is not None:
        pairs, report = downsample(pairs, plan.downsample, seed)
        print("data: " + report.format())
    return pairs


def load_pairs(plan: TrainingPlan, bridge: Bridge):
    """Read, mix (and build data.multiway, downsample) and length-check the corpora; print what
    was kept and dropped."""
    from ..data import filter_overlong, mix_corpora, read_corpus

    data = plan.run.data
    empty = data.get("empty_lines", "skip")
    cfg = bridge.config
    src_len, tgt_len = bridge.source_token_count, bridge.target_token_count  # each bridge counts its inputs

    def length_check(pairs):
        pairs, report = filter_overlong(pairs, src_len=src_len, tgt_len=tgt_len, max_src=cfg.max_source_tokens,
                                        max_tgt=cfg.max_target_tokens, policy=data.get("overlong", "truncate"))
        print(f"data: over-long pairs: {report.summary()}")
        return pairs

    def read_valid(specs):
        corpora = [read_corpus(spec, empty_lines=empty) for spec in specs]
        for c in corpora:
            print(f"data: {c.name}: {c.report.summary()}")
        return mix_corpora(corpora, mode="concat", seed=data.get("seed", plan.train.seed))

    # The mixture (and its size), data.multiway and data.downsample are for training;
    # validation sets are always read whole.
    train = length_check(training_pairs(plan))
    valid = length_check(read_valid(plan.valid_specs)) if plan.valid_specs else []
    return train, valid


def build_for_training(plan: TrainingPlan) -> Bridge:
    from ..bridges import load_backbones

    run = plan.run
    encoder, decoder = load_backbones(run.method, run.bridge, run.encoder, run.decoder, dtype=plan.train.backbone_dtype,
                                      encoder_options=run.encoder_options, decoder_options=run.decoder_options)
    # The bridge's initial weights come from the run's seed, not from whatever the RNG holds
    # after loading: the same config gives the same run in one process or under a launcher.
    torch.manual_seed(plan.train.seed)
    return build_bridge(run.method, encoder, decoder, run.bridge)


def train_from_run_config(run: RunConfig, info: dict | None = None):
    """Validate, load, read and train: what `babelbridge train` does, as a call (experiments
    train their systems in one process this way). Returns the trainer's TrainResult."""
    from .trainer import Trainer

    plan = plan_training(run)  # fails fast, before any model
    bridge = build_for_training(plan)
    train_pairs, valid_pairs = load_pairs(plan, bridge)
    info = {"method": run.method, "encoder": run.encoder, "decoder": run.decoder,
            "bridge": bridge.config.to_dict(), **(info or {})}
    return Trainer(bridge, train_pairs, plan.train, valid_pairs=valid_pairs, run_info=info).train()
