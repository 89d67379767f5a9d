"""`babelbridge serve --bridge NAME_OR_PATH`: the bridge behind HTTP (FastAPI + uvicorn).

Like `translate`, every option is checked before torch, FastAPI or the model is loaded, and
--bridge is resolved by the same function, so both commands accept the same names and paths.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from ..errors import BabelBridgeError, InputError
from ..serve.limits import BatchConfig, ServeLimits
from ..pretrained import resolve_bridge_path
from .checks import DTYPES, check_device, check_device_name, check_positive

API_KEY_ENV = "BABELBRIDGE_API_KEY"
LOOPBACK = ("127.0.0.1", "localhost", "::1")

EPILOG = f"""examples:
  babelbridge serve --bridge runs/hca-deu-eng/bridge
  {API_KEY_ENV}=secret babelbridge serve --bridge runs/hca-deu-eng/bridge --host 0.0.0.0 --port 9000 \\
      --device cuda --dtype bfloat16 --max-batch-size 32

  curl -s localhost:8080/v1/translate -H 'Content-Type: application/json' \\
       -d '{{"texts": ["Guten Morgen.", "Wie geht es dir?"], "source_lang": "de"}}'

endpoints: POST /v1/translate, GET /v1/languages, GET /health, GET /metrics (?format=prometheus),
and the LibreTranslate API (POST /translate, POST /detect, GET /languages) for its clients.
With an API key, every endpoint but /health needs 'Authorization: Bearer KEY' (or 'X-API-Key: KEY');
LibreTranslate's take it as their api_key parameter too, and its /languages needs none.
Requests arriving within --batch-window-ms that share languages and options run as one batch.
On Ctrl-C / SIGTERM the server stops accepting, then finishes the requests it has."""


def add_parser(sub) -> None:
    import argparse

    p = sub.add_parser("serve", help="serve a bridge over HTTP with dynamic batching (FastAPI + uvicorn)",
                       description="Serve a saved bridge: POST /v1/translate, GET /v1/languages, /health, "
                                   "/metrics. Binds to localhost unless --host says otherwise.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bridge", required=True, metavar="NAME_OR_PATH",
                   help="a shipped bridge name (pocket-hca-deu-eng) or a checkpoint directory, as for `translate`")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s, this machine only)")
    p.add_argument("--port", type=int, default=8080, help="TCP port (default: %(default)s; 0 picks a free one)")
    p.add_argument("--api-key", metavar="KEY",
                   help=f"require this key from clients (default: ${API_KEY_ENV} if set; prefer the "
                        "variable: a command line is visible to other users of the machine)")
    p.add_argument("--model-name", metavar="NAME", help="the \"model\" reported to clients (default: --bridge)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps, ... (default: %(default)s)")
    p.add_argument("--dtype", default="float32", choices=DTYPES, help="dtype of the backbones (default: %(default)s)")
    g = p.add_argument_group("batching")
    g.add_argument("--max-batch-size", type=int, default=BatchConfig.max_batch_size, metavar="N",
                   help="texts per generate call; 1 turns batching off (default: %(default)s)")
    g.add_argument("--max-batch-tokens", type=int, default=BatchConfig.max_batch_tokens, metavar="N",
                   help="source tokens per generate call (default: %(default)s)")
    g.add_argument("--batch-window-ms", type=float, default=BatchConfig.window_ms, metavar="MS",
                   help="how long a request waits for others to share its batch (default: %(default)s)")
    g = p.add_argument_group("limits (over them: a 4xx JSON error)")
    g.add_argument("--max-texts", type=int, default=ServeLimits.max_texts, metavar="N",
                   help="texts per request (default: %(default)s)")
    g.add_argument("--max-chars", type=int, default=ServeLimits.max_chars, metavar="N",
                   help="characters per text (default: %(default)s)")
    g.add_argument("--max-new-tokens", type=int, default=ServeLimits.max_new_tokens, metavar="N",
                   help="the highest options.max_new_tokens a client may ask for (default: %(default)s)")
    g.add_argument("--default-max-new-tokens", type=int, default=ServeLimits.default_max_new_tokens, metavar="N",
                   help="options.max_new_tokens when a request gives none (default: %(default)s)")
    g.add_argument("--max-beam", type=int, default=ServeLimits.max_beam, metavar="N",
                   help="the highest options.beam (default: %(default)s)")
    g.add_argument("--max-target-langs", type=int, default=ServeLimits.max_target_langs, metavar="N",
                   help="languages in one \"target_langs\" request (default: %(default)s)")
    g.add_argument("--max-queue", type=int, default=ServeLimits.max_queue, metavar="N",
                   help="requests waiting for the model before new ones get 503 (default: %(default)s)")
    g.add_argument("--graceful-timeout", type=float, default=30.0, metavar="S",
                   help="on shutdown, how long to wait for open requests; 0: no limit (default: %(default)s)")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(func=run)


def settings(args) -> tuple[ServeLimits, BatchConfig, str | None]:
    """Checked limits, batching and API key; raises InputError naming the option."""
    check_positive(args, "--max-batch-size", "--max-batch-tokens", "--max-texts", "--max-chars",
                   "--max-new-tokens", "--default-max-new-tokens", "--max-beam", "--max-target-langs",
                   "--max-queue")
    if args.batch_window_ms < 0 or args.graceful_timeout < 0:
        raise InputError("--batch-window-ms and --graceful-timeout must be >= 0")
    if args.default_max_new_tokens > args.max_new_tokens:
        raise InputError(f"--default-max-new-tokens {args.default_max_new_tokens} is over --max-new-tokens "
                         f"{args.max_new_tokens}")
    if not 0 <= args.port <= 65535:
        raise InputError(f"--port {args.port}: accepted: 0 (any free port) to 65535")
    if not args.host.strip():
        raise InputError("--host is empty; accepted: an address such as 127.0.0.1 or 0.0.0.0")
    check_device_name(args.device)
    api_key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_ENV)
    if api_key is not None and not api_key.strip():
        raise InputError(f"the API key ({'--api-key' if args.api_key is not None else API_KEY_ENV}) is empty; "
                         "give a non-empty key or none")
    limits = ServeLimits(max_texts=args.max_texts, max_chars=args.max_chars, max_new_tokens=args.max_new_tokens,
                         default_max_new_tokens=args.default_max_new_tokens, max_beam=args.max_beam,
                         max_target_langs=args.max_target_langs, max_queue=args.max_queue)
    batch = BatchConfig(max_batch_size=args.max_batch_size, max_batch_tokens=args.max_batch_tokens,
                        window_ms=args.batch_window_ms)
    return limits, batch, api_key


def build_app(args):
    """Validate, load the bridge, and return the FastAPI app (what `run` serves; tests call it)."""
    limits, batch, api_key = settings(args)
    path = resolve_bridge_path(args.bridge)
    # python-multipart: Starlette reads forms with it (LibreTranslate clients send forms)
    packages = {"fastapi": "fastapi", "uvicorn": "uvicorn", "python_multipart": "python-multipart"}
    missing = [name for module, name in packages.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise BabelBridgeError(f"babelbridge serve needs {' and '.join(missing)}: pip install 'babelbridge[serve]'")
    check_device(args.device)
    from .. import bridges

    bridge = bridges.load_bridge(path, device=args.device, dtype=args.dtype)

    from ..serve.app import create_app
    from ..serve.engine import BridgeEngine

    engine = BridgeEngine(bridge, batch_size=batch.max_batch_size)
    return create_app(engine, model=args.model_name or args.bridge, limits=limits, batch=batch, api_key=api_key)


def run(args) -> None:
    app = build_app(args)
    if args.host not in LOOPBACK and not (args.api_key or os.environ.get(API_KEY_ENV)):
        print(f"babelbridge serve: warning: listening on {args.host} without an API key: anyone who can reach "
              f"this port can use the model (set {API_KEY_ENV})", file=sys.stderr)
    import uvicorn

    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level,
                timeout_graceful_shutdown=args.graceful_timeout or None)
