"""An experiment file: several systems trained from one base run config, then evaluated together.

    name: one-pair
    title: ...
    base: {method, encoder, decoder, bridge, data, train}   # a run config, as `babelbridge train` reads
    systems:
      hca-deu: {describe: "...", set: {}}                   # trained: base + dotted overrides
      hca-arb: {set: {data.train.0.src_lang: arb_Arab}}
      zero-shot: {bridge: pocket-smollm2-zero-shot}         # not trained: a checkpoint or named bridge
      llink-b: {set: {bridge.stage: inject}, init_from: llink-a}   # a later stage: starts from llink-a's bridge
      lmt-pmp-o: {bridge_of: lmt-pmp, pmp: oracle}          # another system's bridge, translating with PMP
      cl-stage2: {set: {...}, with_pseudo: true}           # trains on base data + the pseudo-corpus below
    pseudo: {translator, corpus, langs, pivot, skip, limit, ...}   # optional: CrossLoRA's pseudo-corpus step
    evaluation: {testset, langs, groups, limit, max_new_tokens, batch_size, metrics, baseline}
    evaluation: {testset, langs, directions, hubs, ...}     # any-to-any: every direction its own test set
    retrieval: {testset, langs, limit, batch_size, systems}  # optional: R@1/MRR of systems with sentence vectors
    report: {...}                                           # read by the experiment's report builder
    quick: {set: {train.max_steps: 60}, evaluation: {limit: 12, langs: [...]}, retrieval: {limit: 64}}

`set` takes the keys of `babelbridge train --set` (dotted, list indices) with YAML values,
and a whole section by its name (`bridge: {...}` replaces the base's bridge options). `pmp`
(oracle | self: LMT's PMP at inference, evaluate/pmp.py) goes on any system; `bridge_of` names
an earlier system whose bridge this one evaluates (nothing trained: the same bridge translating
another way). `pseudo` is a data step between stages (CrossLoRA's stage 2 data, data/pseudo.py):
once its `translator` (a trained system listed before) is trained, its bridge pivots held-out
sentences X -> pivot -> Y into runs' shared pseudo/corpus.jsonl (experiments/pseudo_step.py);
a `with_pseudo: true` system trains on that file added to its data.train. With `evaluation.directions` (all, hub-centric, into-hubs, out-of-hubs or a list,
over `langs`, with `hubs`) the evaluation is any-to-any (evaluate/any_to_any.py).
Everything is checked here, before any model is loaded: each trained system's run config
goes through the trainer's own validation.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from ..errors import BabelBridgeError
from ..runconfig import RunConfig, apply_override

TOP_KEYS = {"name", "title", "base", "systems", "evaluation", "retrieval", "report", "quick", "pseudo"}
SYSTEM_KEYS = {"describe", "set", "bridge", "init_from", "bridge_of", "pmp", "with_pseudo"}
EVAL_KEYS = {"testset", "langs", "tgt_lang", "groups", "limit", "max_new_tokens", "batch_size", "beam",
             "metrics", "baseline", "truncate", "directions", "hubs", "aux_lang"}
EVAL_DEFAULTS = {"tgt_lang": "eng_Latn", "groups": {}, "limit": None, "max_new_tokens": 256, "batch_size": 16,
                 "beam": 1, "metrics": ["chrf++", "bleu"], "baseline": None, "truncate": True, "directions": None,
                 "hubs": [], "aux_lang": None}
QUICK_KEYS = {"set", "evaluation", "retrieval", "pseudo"}
PSEUDO_KEYS = {"translator", "corpus", "langs", "pivot", "skip", "limit", "batch_size", "num_beams", "max_new_tokens",
               "max_length_ratio"}
# data pseudo's own defaults (cli/data_cmd.py), but greedy: the experiment pivots with the
# decoding its evaluation uses unless told otherwise.
PSEUDO_DEFAULTS = {"pivot": "eng_Latn", "skip": 0, "limit": None, "batch_size": 16, "num_beams": 1,
                   "max_new_tokens": 256, "max_length_ratio": 3.0}
RETRIEVAL_KEYS = {"testset", "langs", "tgt_lang", "limit", "batch_size", "systems"}
RETRIEVAL_DEFAULTS = {"tgt_lang": "eng_Latn", "limit": None, "batch_size": 32}


@dataclass
class SystemSpec:
    name: str
    describe: str
    run: dict | None = None  # the resolved run config (trained systems)
    bridge: str | None = None  # a checkpoint directory or named bridge (systems not trained here)
    init_from: str | None = None  # a trained system whose bridge this one starts from (a later stage)
    bridge_of: str | None = None  # another system whose bridge this one evaluates (e.g. with PMP)
    pmp: str | None = None  # LMT's PMP at inference: "oracle" | "self" (evaluate/pmp.py)
    source: SystemSpec | None = field(default=None, repr=False)  # bridge_of's system
    with_pseudo: bool = False  # trains on the experiment's pseudo-corpus too (ExperimentSpec.pseudo)
    pseudo_data: dict | None = None  # with_pseudo: the corpus's data.train entry (pseudo_corpus_entry)

    @property
    def trained(self) -> bool:
        return self.run is not None

    @property
    def owner(self) -> SystemSpec:
        """The system whose bridge this one runs: itself, or bridge_of's."""
        return self.source if self.source is not None else self

    @property
    def translates(self) -> bool:
        """False for a system that only maps sentences to vectors (LLINK's stage A)."""
        if self.source is not None:
            return self.source.translates
        if self.run is None:
            return True
        from ..bridges import bridge_class

        return bridge_class(self.run["method"]).translates(self.run.get("bridge") or {})

    def run_yaml(self) -> str:
        return yaml.safe_dump(self.run, sort_keys=False, allow_unicode=True)


@dataclass
class ExperimentSpec:
    name: str
    title: str
    systems: dict[str, SystemSpec]
    evaluation: dict
    report: dict = field(default_factory=dict)
    quick: bool = False
    path: Path | None = None
    retrieval: dict | None = None
    pseudo: dict | None = None  # the pseudo-corpus step: PSEUDO_KEYS, defaults filled in

    @property
    def trained(self) -> list[SystemSpec]:
        return [s for s in self.systems.values() if s.trained]

    @property
    def any_to_any(self) -> bool:
        return self.evaluation.get("directions") is not None

    def testset_names(self) -> list[str]:
        """The evaluation's test sets by name: source languages, or "src-tgt" directions."""
        if not self.any_to_any:
            return list(self.evaluation["langs"])
        from ..evaluate.any_to_any import parse_directions

        ev = self.evaluation
        return [d.name for d in parse_directions(str(ev["directions"]), ev["langs"], ev["hubs"])]

    def twins(self, name: str) -> list[SystemSpec]:
        """The systems that evaluate `name`'s bridge another way (bridge_of), in file order."""
        return [s for s in self.systems.values() if s.bridge_of == name]

    def restricted(self, names) -> ExperimentSpec:
        """The experiment with only these systems (e.g. those trained so far): report roles and
        the baseline that name another system are dropped, so the report shows what it can."""
        from . import directions_compare

        keep = set(names)
        roles = ("zero_shot", "oracle", "ablation_full", "ablation_reference")  # each names one system
        report = {k: v for k, v in self.report.items() if k not in roles or v in keep}
        for role in ("ablations", "pivots", "same_pair_baselines"):  # each names several
            if role in report:
                report[role] = [s for s in report[role] if s in keep]
        report = directions_compare.restricted(report, keep)
        evaluation = dict(self.evaluation)
        if evaluation.get("baseline") not in keep:
            evaluation["baseline"] = None
        retrieval = self.retrieval and {**self.retrieval, "systems": [s for s in self.retrieval["systems"] if s in keep]}
        return replace(self, systems={n: s for n, s in self.systems.items() if n in keep}, evaluation=evaluation,
                       report=report, retrieval=retrieval)

    def dependencies(self, name: str) -> list[str]:
        """The systems `name` needs first, earliest first: the stages it starts from (init_from,
        followed back) and, with_pseudo, the pseudo-corpus translator with its own stages."""
        chain, system = [], self.systems[name]
        while system.init_from:
            chain.insert(0, system.init_from)
            system = self.systems[system.init_from]
        if self.systems[name].with_pseudo:
            translator = self.pseudo["translator"]
            chain = [*self.dependencies(translator), translator] + [n for n in chain if n != translator]
        return list(dict.fromkeys(chain))

    def check_system_names(self, names: list[str], where: str = "--systems") -> list[str]:
        import difflib

        for name in names:
            if name not in self.systems:
                close = difflib.get_close_matches(name, list(self.systems), n=3, cutoff=0.75)
                raise BabelBridgeError(f"{where}: no system {name!r} in {self.name}"
                                       + (f" (did you mean {', '.join(close)}?)" if close else "")
                                       + f"; systems: {', '.join(self.systems)}")
        return names


def _fail(path, message: str):
    raise BabelBridgeError(f"{path}: {message}")


def _check_keys(path, where: str, values, accepted: set[str]) -> dict:
    if not isinstance(values, dict):
        _fail(path, f"{where} must be a mapping with keys among {', '.join(sorted(accepted))}")
    unknown = sorted(set(values) - accepted)
    if unknown:
        _fail(path, f"unknown key(s) in {where}: {', '.join(unknown)}; accepted: {', '.join(sorted(accepted))}")
    return values


def apply_settings(run: dict, settings: dict, where: str) -> dict:
    """A copy of `run` with `set:` applied: dotted keys as `--set` takes them, YAML values."""
    run = copy.deepcopy(run)
    for key, value in (settings or {}).items():
        try:
            # JSON is YAML: apply_override parses the value back exactly.
            apply_override(run, f"{key}={json.dumps(value, ensure_ascii=False)}")
        except BabelBridgeError as err:
            raise BabelBridgeError(f"{where}: {err}") from None
    return {k: v for k, v in run.items() if v is not None}  # `encoder: null` removes the key


def _absolute_data_paths(run: dict, base: Path) -> None:
    """Relative corpus paths resolve against the experiment file, as a run config's do."""
    for section in ("train", "valid"):
        for entry in (run.get("data") or {}).get(section) or []:
            for key in ("path", "tgt_path"):
                if isinstance(entry, dict) and entry.get(key) and not Path(entry[key]).is_absolute():
                    entry[key] = str((base / entry[key]).resolve())


def validate_run(run: dict, where: str) -> None:
    """The trainer's own checks (method, backbones named, bridge options, data, train options)."""
    from ..runconfig import TOP_LEVEL_KEYS, check_encoder
    from ..train.pipeline import plan_training

    unknown = sorted(set(run) - TOP_LEVEL_KEYS)
    if unknown:
        raise BabelBridgeError(f"{where}: unknown run config key(s) {', '.join(unknown)}; "
                               f"accepted: {', '.join(sorted(TOP_LEVEL_KEYS))}")
    for key in ("method", "decoder"):
        if key not in run:
            raise BabelBridgeError(f"{where}: the run config has no {key}")
    try:
        check_encoder(run, Path(where))
        plan_training(RunConfig(**{"encoder": None, **run}))
    except (BabelBridgeError, ValueError, TypeError) as err:
        raise BabelBridgeError(f"{where}: {err}") from None


def load_experiment(path: str | Path, *, quick: bool = False) -> ExperimentSpec:
    path = Path(path)
    if not path.is_file():
        raise BabelBridgeError(f"experiment file {path} does not exist")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise BabelBridgeError(f"{path} is not valid YAML: {err}") from None
    _check_keys(path, "the experiment file", values, TOP_KEYS)
    for key in ("name", "systems", "evaluation"):
        if not values.get(key):
            _fail(path, f"missing {key}")
    quick_values = _check_keys(path, "quick", values.get("quick") or {}, QUICK_KEYS)
    if quick and not quick_values:
        _fail(path, "--quick: this experiment defines no quick version (a `quick:` section)")

    base = values.get("base") or {}
    if not isinstance(base, dict):
        _fail(path, "base must be a run config mapping (method, encoder, decoder, bridge, data, train)")
    systems: dict[str, SystemSpec] = {}
    if not isinstance(values["systems"], dict):
        _fail(path, "systems must map a system name to {describe, set} (trained) or {bridge} (given)")
    for name, entry in values["systems"].items():
        entry = _check_keys(path, f"systems.{name}", entry or {}, SYSTEM_KEYS)
        name = str(name)
        if not name or "/" in name or name.startswith("."):
            _fail(path, f"system name {name!r} must be a plain folder name")
        describe = str(entry.get("describe", name))
        pmp = entry.get("pmp")
        if pmp is not None and pmp not in ("oracle", "self"):
            _fail(path, f"systems.{name}.pmp must be oracle (the test set's auxiliary sentences) or self (the bridge "
                        f"writes them), got {pmp!r}")
        with_pseudo = entry.get("with_pseudo", False)
        if not isinstance(with_pseudo, bool):
            _fail(path, f"systems.{name}.with_pseudo must be true or false, got {with_pseudo!r}")
        if with_pseudo and ("set" not in entry or not values.get("pseudo")):
            _fail(path, f"systems.{name}.with_pseudo: the system trains on the experiment's pseudo-corpus, so it "
                        f"needs set: (it is trained here) and the file a pseudo: section")
        if "bridge_of" in entry:
            other = sorted(set(entry) - {"bridge_of", "pmp", "describe"})
            if other:
                _fail(path, f"systems.{name}: bridge_of evaluates another system's bridge; it takes describe and "
                            f"pmp, not {', '.join(other)}")
            source = systems.get(str(entry["bridge_of"]))
            if source is None or source.bridge_of is not None:
                _fail(path, f"systems.{name}.bridge_of: {entry['bridge_of']!r} must name a system listed before it "
                            f"(not itself a bridge_of); systems so far: {', '.join(systems) or 'none'}")
            if pmp is None or pmp == source.pmp:
                _fail(path, f"systems.{name}: bridge_of {source.name} with the same settings is the same system; "
                            f"give a pmp mode other than {source.name}'s")
            systems[name] = SystemSpec(name, describe, bridge_of=source.name, pmp=pmp, source=source)
            continue
        if "bridge" in entry:
            if "set" in entry:
                _fail(path, f"systems.{name}: give either bridge (a trained checkpoint) or set (train from base), "
                            f"not both")
            systems[name] = SystemSpec(name, describe, bridge=str(entry["bridge"]), pmp=pmp)
            continue
        if not base:
            _fail(path, f"systems.{name} is trained from base, but the file has no base run config")
        init_from = entry.get("init_from")
        if init_from is not None and (str(init_from) not in systems or not systems[str(init_from)].trained):
            _fail(path, f"systems.{name}.init_from: {init_from!r} must name a system trained in this experiment and "
                        f"listed before it; trained so far: {', '.join(n for n, s in systems.items() if s.trained)}")
        run = apply_settings(base, entry.get("set") or {}, f"{path}: systems.{name}.set")
        if init_from is not None and (run.get("train") or {}).get("init_from"):
            _fail(path, f"systems.{name}: give init_from (a system) or train.init_from (a path), not both")
        if quick:
            run = apply_settings(run, quick_values.get("set") or {}, f"{path}: quick.set")
        _absolute_data_paths(run, path.parent)
        validate_run(run, f"{path}: systems.{name}")
        systems[name] = SystemSpec(name, describe, run=run, init_from=None if init_from is None else str(init_from),
                                   pmp=pmp, with_pseudo=with_pseudo)

    pseudo = None
    if values.get("pseudo"):
        pseudo = {**PSEUDO_DEFAULTS, **_check_keys(path, "pseudo", values["pseudo"], PSEUDO_KEYS)}
        if quick:
            pseudo.update(_check_keys(path, "quick.pseudo", quick_values.get("pseudo") or {}, PSEUDO_KEYS))
        _check_pseudo(path, pseudo, systems)
        for system in systems.values():
            if system.with_pseudo:
                system.pseudo_data = pseudo_corpus_entry(pseudo["pivot"])
    elif quick_values.get("pseudo"):
        _fail(path, "quick.pseudo changes the pseudo: section, which the file does not have")

    evaluation = {**EVAL_DEFAULTS, **_check_keys(path, "evaluation", values["evaluation"], EVAL_KEYS)}
    if quick:
        evaluation.update(_check_keys(path, "quick.evaluation", quick_values.get("evaluation") or {}, EVAL_KEYS))
    _check_evaluation(path, evaluation, systems)
    retrieval = None
    if values.get("retrieval"):
        retrieval = {**RETRIEVAL_DEFAULTS, **_check_keys(path, "retrieval", values["retrieval"], RETRIEVAL_KEYS)}
        if quick:
            retrieval.update(_check_keys(path, "quick.retrieval", quick_values.get("retrieval") or {}, RETRIEVAL_KEYS))
        _check_retrieval(path, retrieval, systems)
    from . import directions_compare
    from .report import check_report_section

    check_report_section(values.get("report") or {}, systems, str(path))
    directions_compare.check_section(values.get("report") or {}, systems, evaluation.get("langs"), str(path))
    return ExperimentSpec(str(values["name"]), str(values.get("title") or values["name"]), systems, evaluation,
                          dict(values.get("report") or {}), quick, path, retrieval, pseudo)


PSEUDO_CORPUS = "pseudo/corpus.jsonl"  # in the output folder (experiments/pseudo_step.py)


def pseudo_corpus_entry(pivot: str) -> dict:
    """A with_pseudo system's extra data.train entry, read from its runs/<system>/config.yaml's
    folder (so the results folder can move). The lines carry their languages and the pivot
    sentence (read as triples; a bridge without PMP ignores it)."""
    return {"format": "jsonl", "path": f"../../{PSEUDO_CORPUS}", "src_lang": None, "tgt_lang": None,
            "pivot_lang": pivot}


def _check_pseudo(path, pseudo: dict, systems: dict[str, SystemSpec]) -> None:
    """The pseudo-corpus step: its translator, corpus, languages and options (the corpus itself
    is read when the step runs)."""
    name = pseudo.get("translator")
    order = list(systems)
    translator = systems.get(str(name)) if name is not None else None
    if translator is None or not translator.trained or not translator.translates:
        _fail(path, f"pseudo.translator must name a system trained in this experiment that translates (its bridge "
                    f"pivots the sentences), got {name!r}; trained systems: "
                    f"{', '.join(n for n, s in systems.items() if s.trained)}")
    if translator.with_pseudo:
        _fail(path, f"pseudo.translator {name!r} trains on the pseudo-corpus it would make")
    later = [n for n, s in systems.items() if s.with_pseudo and order.index(n) < order.index(translator.name)]
    if later:
        _fail(path, f"systems {', '.join(later)} train on the pseudo-corpus, so they must be listed after its "
                    f"translator {translator.name}")
    corpus = pseudo.get("corpus")
    if not isinstance(corpus, dict) or corpus.get("format") not in ("bible", "flores"):
        _fail(path, f"pseudo.corpus must be a multi-way corpus {{format: bible | flores, path, split}} (the same "
                    f"sentences in every language), got {corpus!r}")
    from ..data.errors import DataError
    from ..data.pseudo import check_languages

    langs = pseudo.get("langs")
    if not isinstance(langs, list):
        _fail(path, f"pseudo.langs must be a list of language codes (the pivot and at least two more), got {langs!r}")
    try:
        pseudo["pivot"], others = check_languages([str(c) for c in langs], str(pseudo["pivot"]),
                                                  langs_name="pseudo.langs", pivot_name="pseudo.pivot")
    except DataError as err:
        _fail(path, str(err))
    pseudo["langs"] = [pseudo["pivot"], *others]
    if corpus.get("path") and not Path(corpus["path"]).is_absolute():  # as data paths: against the file's folder
        pseudo["corpus"] = {**corpus, "path": str((Path(path).parent / corpus["path"]).resolve())}
    experts = (translator.run.get("bridge") or {}).get("languages") if translator.run["method"] == "crosslora" else None
    if experts is not None:
        experts = [check_language(f"{path}: systems.{name}.bridge.languages", str(c)) for c in experts]
        missing = [c for c in pseudo["langs"] if c not in experts]
        if missing:
            _fail(path, f"pseudo.langs: the translator {name} (crosslora) has no expert for {', '.join(missing)}; "
                        f"its languages are {', '.join(experts)}")
    for key, least in (("skip", 0), ("limit", 1), ("batch_size", 1), ("num_beams", 1), ("max_new_tokens", 1)):
        value = pseudo[key]
        if (value is not None or key != "limit") and (isinstance(value, bool) or not isinstance(value, int)
                                                      or value < least):
            _fail(path, f"pseudo.{key} must be an integer >= {least}{' or absent' if key == 'limit' else ''}, "
                        f"got {value!r}")
    ratio = pseudo["max_length_ratio"]
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not ratio > 1:
        _fail(path, f"pseudo.max_length_ratio must be a number > 1 (pairs within a factor R of their direction's "
                    f"median length ratio are kept), got {ratio!r}")


def _check_retrieval(path, retrieval: dict, systems: dict[str, SystemSpec]) -> None:
    from ..bridges import bridge_class

    _check_test_direction(path, "retrieval", retrieval)
    names = retrieval.get("systems")
    if not isinstance(names, list) or not names:
        _fail(path, "retrieval.systems must list the systems to score (trained systems with sentence vectors)")
    for name in names:
        system = systems.get(name)
        if system is None or not system.trained or not hasattr(bridge_class(system.run["method"]), "source_vectors"):
            _fail(path, f"retrieval.systems: {name!r} is not a trained system with sentence vectors (an llink "
                        f"system); systems: {', '.join(systems)}")
    limit, batch = retrieval.get("limit"), retrieval.get("batch_size")
    if limit is not None and (not isinstance(limit, int) or limit < 2):
        _fail(path, f"retrieval.limit must be an integer >= 2 or absent, got {limit!r}")
    if not isinstance(batch, int) or batch < 1:
        _fail(path, f"retrieval.batch_size must be a positive integer, got {batch!r}")


def check_language(where: str, code: str) -> str:
    from ..languages import UnknownLanguageError, normalize_language

    try:
        return normalize_language(code)
    except UnknownLanguageError as err:
        raise BabelBridgeError(f"{where}: {err}") from None


def _check_test_direction(path, section: str, values: dict) -> None:
    """testset, langs and tgt_lang of an evaluation or retrieval section; codes normalised in place."""
    if not values.get("testset"):
        _fail(path, f"{section}.testset is missing (e.g. bible:test, flores:DIR)")
    langs = values.get("langs")
    if not isinstance(langs, list) or not langs:
        _fail(path, f"{section}.langs must be a list of source language codes")
    values["langs"] = [check_language(f"{path}: {section}.langs", str(c)) for c in langs]
    values["tgt_lang"] = check_language(f"{path}: {section}.tgt_lang", str(values["tgt_lang"]))


def _check_evaluation(path, evaluation: dict, systems: dict[str, SystemSpec]) -> None:
    _check_test_direction(path, "evaluation", evaluation)
    if evaluation["directions"] is not None:
        _check_directions(path, evaluation, systems)
    elif evaluation["hubs"]:
        _fail(path, "evaluation.hubs goes with evaluation.directions (any-to-any)")
    else:
        _check_auxiliaries(path, evaluation, systems, [(c, evaluation["tgt_lang"]) for c in evaluation["langs"]],
                           [*evaluation["langs"], evaluation["tgt_lang"]])
    groups = evaluation.get("groups") or {}
    if not isinstance(groups, dict):
        _fail(path, "evaluation.groups must map a group name to a list of language codes")
    # Groups keep the evaluated languages only (a quick run evaluates fewer); empty ones go.
    resolved = {}
    for group, codes in groups.items():
        codes = [check_language(f"{path}: evaluation.groups.{group}", str(c)) for c in codes or []]
        kept = [c for c in codes if c in evaluation["langs"]]
        if kept:
            resolved[str(group)] = kept
    evaluation["groups"] = resolved
    baseline = evaluation.get("baseline")
    if baseline is not None and baseline not in systems:
        _fail(path, f"evaluation.baseline {baseline!r} is not a system; systems: {', '.join(systems)}")
    for key in ("max_new_tokens", "batch_size", "beam"):
        if not isinstance(evaluation[key], int) or evaluation[key] < 1:
            _fail(path, f"evaluation.{key} must be a positive integer, got {evaluation[key]!r}")
    if evaluation["limit"] is not None and (not isinstance(evaluation["limit"], int) or evaluation["limit"] < 1):
        _fail(path, f"evaluation.limit must be a positive integer or absent, got {evaluation['limit']!r}")
    if isinstance(evaluation["metrics"], str):
        evaluation["metrics"] = [m.strip() for m in evaluation["metrics"].split(",") if m.strip()]


def _check_directions(path, evaluation: dict, systems: dict[str, SystemSpec]) -> None:
    """Any-to-any: the directions over langs, the hubs, and the auxiliaries PMP systems read."""
    from ..errors import InputError
    from ..evaluate.any_to_any import parse_directions

    if evaluation.get("groups"):
        _fail(path, "evaluation.groups is not used with evaluation.directions: its averages are the classes X->En, "
                    "En->X, X->Y and, with hubs, into hubs, out of hubs, no hub")
    hubs = evaluation["hubs"]
    if not isinstance(hubs, list):
        _fail(path, f"evaluation.hubs must be a list of language codes, got {hubs!r}")
    evaluation["hubs"] = [check_language(f"{path}: evaluation.hubs", str(c)) for c in hubs]
    try:
        directions = parse_directions(str(evaluation["directions"]), evaluation["langs"], evaluation["hubs"])
    except InputError as err:
        _fail(path, f"evaluation: {err}")
    _check_auxiliaries(path, evaluation, systems, directions, evaluation["langs"])


def _check_auxiliaries(path, evaluation: dict, systems: dict[str, SystemSpec], directions, langs) -> None:
    """With PMP systems, every direction must have an auxiliary language (evaluate/pmp.py)."""
    from ..errors import InputError
    from ..evaluate.pmp import auxiliary_languages

    if evaluation["aux_lang"] is not None:
        evaluation["aux_lang"] = check_language(f"{path}: evaluation.aux_lang", str(evaluation["aux_lang"]))
    if not any(s.pmp for s in systems.values()):
        if evaluation["aux_lang"] is not None:
            _fail(path, "evaluation.aux_lang is the auxiliary language of PMP systems; no system has pmp")
        return
    try:
        auxiliary_languages(directions, langs, aux_lang=evaluation["aux_lang"])
    except InputError as err:
        _fail(path, f"evaluation: {err}")
