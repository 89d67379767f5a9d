"""Score {src, mt, ref} triples with COMET, inside a Python that has unbabel-comet installed.

unbabel-comet pins transformers<5, so it cannot live in babelbridge's environment; babelbridge
(evaluate/comet.py) runs this file with that other interpreter:

    PYTHON comet_worker.py REQUEST.json RESULT.json

REQUEST  {"model": hub name, .ckpt file or downloaded model directory, "batch_size": int,
          "gpus": int or null (null: 1 if CUDA is available, else 0), "data": [{"src", "mt", "ref"}]}
RESULT   {"scores": [one float per triple], "model": ..., "comet_version": ...}, written atomically
Exit status 3: the comet package cannot be imported by this interpreter.

This file imports nothing from babelbridge (which is not installed in the COMET environment).
"""

import json
import os
import sys

NO_COMET = 3
# Python puts this file's folder first on sys.path, and babelbridge's own comet.py lives there:
# `import comet` must find unbabel-comet, not that module.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]


def resolve_model(name, download_model):
    if os.path.isfile(name):
        return name
    if os.path.isdir(name):  # what download_model leaves: <dir>/checkpoints/model.ckpt
        ckpt = os.path.join(name, "checkpoints", "model.ckpt")
        if not os.path.isfile(ckpt):
            raise SystemExit(f"comet_worker: {name} is a directory without checkpoints/model.ckpt")
        return ckpt
    return download_model(name)


def main(argv):
    if len(argv) != 3:
        print("usage: comet_worker.py REQUEST.json RESULT.json", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        request = json.load(f)
    try:
        import comet
        from comet import download_model, load_from_checkpoint
    except ImportError as err:
        print(f"comet_worker: cannot import comet in {sys.executable}: {err}", file=sys.stderr)
        return NO_COMET
    model = load_from_checkpoint(resolve_model(request["model"], download_model))
    gpus = request.get("gpus")
    if gpus is None:
        import torch

        gpus = 1 if torch.cuda.is_available() else 0
    output = model.predict(request["data"], batch_size=request.get("batch_size", 16), gpus=gpus,
                           progress_bar=False)
    result = {"scores": [float(s) for s in output.scores], "model": request["model"],
              "comet_version": getattr(comet, "__version__", None)}
    tmp = argv[2] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(result, f)
    os.replace(tmp, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
