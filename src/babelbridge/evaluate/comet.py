"""COMET, scored in a separate Python: unbabel-comet pins transformers<5, ours is 5.x.

Set it up once:
    python -m venv ~/comet-env && ~/comet-env/bin/pip install unbabel-comet
then pass --comet-python ~/comet-env/bin/python (or set BABELBRIDGE_COMET_PYTHON).

The triples go to comet_worker.py (shipped next to this file, importing comet only in that
process) as a JSON file; the segment scores come back as JSON. Everything to score in one
evaluation is sent in one run, because loading the COMET model is the slow part. Scores are
reported x100 (as the papers do); a set's score is the mean of its segment scores, which is
COMET's own system score.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

from ..errors import BabelBridgeError
from .cache import JsonCache

COMET_PYTHON_ENV = "BABELBRIDGE_COMET_PYTHON"
DEFAULT_COMET_MODEL = "Unbabel/wmt22-comet-da"  # the HCA paper's model
SETUP = "python -m venv ~/comet-env && ~/comet-env/bin/pip install unbabel-comet"
WORKER = Path(__file__).with_name("comet_worker.py")
NO_COMET = 3  # the worker's exit status when `import comet` fails
_HAS_COMET = "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('comet') else 3)"


class CometError(BabelBridgeError):
    """COMET cannot run: no interpreter, no comet package there, or the worker failed."""


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def resolve_comet_python(python: str | os.PathLike | None) -> str:
    """The interpreter to run COMET with: --comet-python, else $BABELBRIDGE_COMET_PYTHON."""
    python = str(python) if python else os.environ.get(COMET_PYTHON_ENV)
    why = ("unbabel-comet pins transformers<5, so it needs its own environment; set one up with: "
           f"{SETUP}, then pass --comet-python ~/comet-env/bin/python (or set {COMET_PYTHON_ENV})")
    if not python:
        raise CometError(f"the comet metric needs a Python with unbabel-comet installed; {why}")
    found = shutil.which(python) or (python if os.path.isfile(python) else None)
    if found is None:
        raise CometError(f"--comet-python {python}: no such interpreter; {why}")
    if not os.access(found, os.X_OK):
        raise CometError(f"--comet-python {python} is not executable; {why}")
    return found


class CometScorer:
    def __init__(self, python: str | os.PathLike | None = None, model: str = DEFAULT_COMET_MODEL, *,
                 batch_size: int = 16, gpus: int | None = None, cache: JsonCache | None = None):
        self.python = resolve_comet_python(python)
        self.model = model
        self.batch_size = batch_size
        self.gpus = gpus
        self.cache = cache
        self.version: str | None = None

    def check(self) -> None:
        """Fail fast (before any translation) when the interpreter cannot import comet."""
        try:
            done = subprocess.run([self.python, "-c", _HAS_COMET], capture_output=True, text=True, timeout=120)
        except OSError as err:
            raise CometError(f"--comet-python {self.python} cannot be run ({err}); set up COMET with: {SETUP}") from None
        if done.returncode == NO_COMET:
            raise CometError(f"--comet-python {self.python} has no 'comet' package; install it with: "
                             f"{self.python} -m pip install unbabel-comet (or create an environment: {SETUP})")
        if done.returncode != 0:
            raise CometError(f"--comet-python {self.python} failed to start (exit {done.returncode}): "
                             f"{_tail(done.stderr)}")

    def _identity(self, triples: Sequence[dict]) -> dict:
        from .testsets import sha256_of

        flat = [x for t in triples for x in (t["src"], t["mt"], t["ref"])]
        return {"comet_model": self.model, "segments": len(triples), "sha256": sha256_of(flat)}

    def score_sets(self, sets: Sequence[Sequence[dict]]) -> list[list[float]]:
        """Segment scores (0-1, COMET's scale) for each list of {src, mt, ref}; one worker run."""
        results: list[list[float] | None] = [None] * len(sets)
        todo = []
        for i, triples in enumerate(sets):
            cached = self.cache.load("comet", self._identity(triples)) if self.cache else None
            if isinstance(cached, list) and len(cached) == len(triples):
                results[i] = cached
            elif triples:
                todo.append(i)
            else:
                results[i] = []
        if todo:
            flat = [dict(src=t["src"], mt=t["mt"], ref=t["ref"]) for i in todo for t in sets[i]]
            scores = self._run(flat)
            at = 0
            for i in todo:
                results[i] = scores[at : at + len(sets[i])]
                at += len(sets[i])
                if self.cache:
                    self.cache.store("comet", self._identity(sets[i]), results[i])
        return results

    def _run(self, data: list[dict]) -> list[float]:
        with tempfile.TemporaryDirectory(prefix="babelbridge-comet-") as tmp:
            request, result = Path(tmp) / "request.json", Path(tmp) / "result.json"
            request.write_text(json.dumps({"model": self.model, "batch_size": self.batch_size,
                                           "gpus": self.gpus, "data": data}, ensure_ascii=False),
                               encoding="utf-8")
            try:
                done = subprocess.run([self.python, str(WORKER), str(request), str(result)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            except OSError as err:
                raise CometError(f"--comet-python {self.python} cannot be run ({err})") from None
            if done.returncode == NO_COMET:
                raise CometError(f"--comet-python {self.python} has no 'comet' package; install it with: "
                                 f"{self.python} -m pip install unbabel-comet ({_tail(done.stderr, 3)})")
            if done.returncode != 0 or not result.is_file():
                raise CometError(f"COMET worker failed (exit {done.returncode}) with model {self.model}:\n"
                                 f"{_tail(done.stderr)}")
            try:
                out = json.loads(result.read_text(encoding="utf-8"))
                scores = [float(s) for s in out["scores"]]
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                raise CometError(f"COMET worker wrote an unreadable result ({err})") from None
        if len(scores) != len(data):
            raise CometError(f"COMET worker returned {len(scores)} scores for {len(data)} segments")
        self.version = out.get("comet_version")
        return scores
