#!/usr/bin/env bash
# Create .venv and install babelbridge with its test tools.
# torch is installed first and pinned: on CPU machines a bare `torch` requirement would pull
# several GB of CUDA wheels; 2.13.0 is the local CPU build (any torch >= 2.4 works).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install --quiet "torch==${TORCH_VERSION:-2.13.0}"
.venv/bin/python -m pip install --quiet -e ".[test]"
