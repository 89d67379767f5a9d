"""Load test for `babelbridge serve`: dynamic batching against one request at a time.

Starts the real server (`python -m babelbridge.cli.main serve`) on a free loopback port, runs
--clients concurrent clients for --duration seconds, then does the same against a server
started with --max-batch-size 1 (batching off: the model takes one request at a time). Prints
and saves JSON and markdown under --out: requests/s, p50/p99 latency, errors, mean batch
size, speed-up, and whether both servers gave the same translation for every text (greedy
decoding: they must).

    python benchmarks/serve_load.py --tiny --duration 5          # runs anywhere (tiny random bridge)
    python benchmarks/serve_load.py --bridge runs/hca-deu-eng/bridge --device cuda --clients 32
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BRIDGE = "pocket-hca-deu-eng"
SENTENCES = [
    "Guten Morgen.", "Wie geht es dir heute?", "Der Zug nach Berlin hat zwanzig Minuten Verspätung.",
    "Ja.", "Kannst du mir bitte das Salz geben?", "Wir treffen uns morgen um acht Uhr vor dem Kino.",
    "Das Wetter ist heute schöner als gestern.", "Danke!", "Ich habe meinen Schlüssel im Büro vergessen.",
    "Die Kinder spielen im Garten, während die Eltern kochen.", "Wo ist die nächste Apotheke?",
    "Nein, das glaube ich nicht.", "Im Sommer fahren wir ans Meer und bleiben zwei Wochen.",
    "Bitte schließen Sie die Tür.", "Der Hund schläft unter dem Tisch, weil es draußen regnet.",
    "Gute Nacht und schlaf gut.", "Wie viel kostet das Ticket?", "Sie liest jeden Abend ein Buch.",
    "Das Museum ist montags geschlossen.", "Ich verstehe die Frage nicht.",
    "Nach dem Essen gehen wir noch ein bisschen spazieren.", "Hallo", "Es ist schon spät.",
    "Morgen beginnt die neue Ausstellung im Rathaus, und der Eintritt ist frei.",
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group()
    src.add_argument("--bridge", default=DEFAULT_BRIDGE, help="bridge name or checkpoint directory "
                     "(default: %(default)s)")
    src.add_argument("--tiny", action="store_true", help="build and save a tiny random bridge and serve that")
    p.add_argument("--clients", type=int, default=16, help="concurrent clients (default: %(default)s)")
    p.add_argument("--duration", type=float, default=10.0, help="seconds of load per phase (default: %(default)s)")
    p.add_argument("--max-batch-size", type=int, default=16, help="batched phase (default: %(default)s)")
    p.add_argument("--batch-window-ms", type=float, default=5.0, help="batched phase (default: %(default)s)")
    p.add_argument("--max-new-tokens", type=int, default=16, help="per request (default: %(default)s)")
    p.add_argument("--src-lang", default="deu_Latn")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="(default: %(default)s)")
    p.add_argument("--startup-timeout", type=float, default=300.0, help="seconds to wait for the server")
    args = p.parse_args(argv)
    for name in ("clients", "duration", "max_batch_size", "max_new_tokens"):
        if getattr(args, name) <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    return args


def tiny_bridge(directory: Path) -> Path:
    import torch

    from babelbridge.backbones import load_decoder, load_encoder
    from babelbridge.bridges import build_bridge, save_bridge

    torch.manual_seed(0)
    bridge = build_bridge("hca", load_encoder("tiny-random:m2m100"), load_decoder("tiny-random:qwen3"),
                          {"bottleneck_dim": 16, "adapter_up_init": "default"})
    return save_bridge(bridge, directory / "bridge")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`babelbridge serve` in a subprocess; stopped with SIGTERM (graceful shutdown)."""

    def __init__(self, bridge: str, args, max_batch_size: int, window_ms: float):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [sys.executable, "-m", "babelbridge.cli.main", "serve", "--bridge", bridge,
                        "--port", str(self.port), "--device", args.device, "--dtype", args.dtype,
                        "--max-batch-size", str(max_batch_size), "--batch-window-ms", str(window_ms),
                        "--max-new-tokens", str(max(args.max_new_tokens, 512)),
                        "--max-queue", str(max(1024, 4 * args.clients)), "--log-level", "warning"]
        env = {k: v for k, v in os.environ.items() if k != "BABELBRIDGE_API_KEY"}
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.command, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + args.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with code {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"the server did not answer /health within {args.startup_timeout} s:\n{self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def percentile(values: list[float], q: float) -> float | None:
    from babelbridge.serve.metrics import percentile as nearest_rank

    return nearest_rank(sorted(values), q)


async def load(url: str, clients: int, duration: float, src_lang: str, max_new_tokens: int) -> dict:
    """Each client sends one sentence at a time, in its own order, until the time is up."""
    latencies, errors, translations = [], {}, {}
    deadline = time.monotonic() + duration

    async def client(i: int, http: httpx.AsyncClient) -> None:
        k = 0
        while time.monotonic() < deadline:
            text = SENTENCES[(i + k * clients) % len(SENTENCES)]
            k += 1
            started = time.perf_counter()
            try:
                r = await http.post("/v1/translate", json={"text": text, "source_lang": src_lang,
                                                           "options": {"max_new_tokens": max_new_tokens}})
            except httpx.TransportError as err:
                errors[type(err).__name__] = errors.get(type(err).__name__, 0) + 1
                continue
            if r.status_code != 200:
                errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            translations.setdefault(text, set()).add(r.json()["translations"][0])

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        await http.post("/v1/translate", json={"text": SENTENCES[0], "source_lang": src_lang,
                                               "options": {"max_new_tokens": max_new_tokens}})  # warm-up
        before = (await http.get("/metrics")).json()["batches"]
        started = time.perf_counter()
        await asyncio.gather(*(client(i, http) for i in range(clients)))
        elapsed = time.perf_counter() - started
        after = (await http.get("/metrics")).json()["batches"]
    calls, texts = after["calls"] - before["calls"], after["texts"] - before["texts"]
    return {
        "requests_ok": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 3),
        "requests_per_s": round(len(latencies) / elapsed, 2),
        "latency_ms": {"p50": _round(percentile(latencies, 0.5)), "p99": _round(percentile(latencies, 0.99)),
                       "mean": _round(sum(latencies) / len(latencies) if latencies else None)},
        "generate_calls": calls,
        "mean_batch_size": round(texts / calls, 2) if calls else None,
        "translations": {t: sorted(v) for t, v in translations.items()},
    }


def _round(value):
    return None if value is None else round(value, 1)


def environment() -> dict:
    import fastapi
    import torch
    import transformers
    import uvicorn

    from babelbridge.provenance import cpu_model

    cpu = cpu_model()
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "machine": {"platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count(),
                    "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                    "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS")},
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "fastapi": fastapi.__version__,
                     "uvicorn": uvicorn.__version__},
    }


def markdown(report: dict) -> str:
    b, u, env = report["batched"], report["unbatched"], report["environment"]
    rows = [("requests/s", "requests_per_s"), ("p50 latency (ms)", ("latency_ms", "p50")),
            ("p99 latency (ms)", ("latency_ms", "p99")), ("requests ok", "requests_ok"),
            ("errors", "errors"), ("generate calls", "generate_calls"), ("mean batch size", "mean_batch_size")]

    def get(d, key):
        return d[key[0]][key[1]] if isinstance(key, tuple) else d[key]

    s = report["settings"]
    lines = [
        f"# babelbridge serve load test ({report['bridge']})", "",
        f"{s['clients']} concurrent clients, {s['duration_s']} s per phase, max_new_tokens {s['max_new_tokens']}, "
        f"device {s['device']} ({s['dtype']}); batched: max batch {s['max_batch_size']}, window "
        f"{s['batch_window_ms']} ms; one at a time: max batch 1.", "",
        "| | batched | one at a time |", "|---|---|---|",
        *[f"| {name} | {get(b, key) or 0} | {get(u, key) or 0} |" for name, key in rows],
        "", f"**Speed-up (requests/s): {report['speedup']}x.** Texts whose translation differed between the "
        f"two servers: {report['mismatches']} (greedy decoding: must be 0).", "",
        f"- date: {env['date']}", f"- command: `{env['command']}`",
        f"- machine: {env['machine']['cpu']} ({env['machine']['cpu_count']} CPUs), GPU: {env['machine']['gpu']}, "
        f"{env['machine']['platform']}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()),
        "- clients and server share this machine's CPUs.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))  # run from a checkout without installing
    with tempfile.TemporaryDirectory() as tmp:
        if args.tiny:
            bridge, label = str(tiny_bridge(Path(tmp))), "tiny"
        else:
            from babelbridge.cli.translate_cmd import resolve_bridge_path
            from babelbridge.errors import BabelBridgeError

            try:
                bridge = str(resolve_bridge_path(args.bridge))
            except BabelBridgeError as err:
                raise SystemExit(f"serve_load: {err} (or pass --tiny)") from None
            label = Path(args.bridge).name if Path(args.bridge).name != "bridge" else Path(args.bridge).parent.name

        phases = {}
        for phase, size, window in (("batched", args.max_batch_size, args.batch_window_ms), ("unbatched", 1, 0.0)):
            server = Server(bridge, args, size, window)
            try:
                print(f"{phase}: {args.clients} clients for {args.duration} s against {server.url} "
                      f"(max batch {size})", file=sys.stderr)
                phases[phase] = asyncio.run(load(server.url, args.clients, args.duration, args.src_lang,
                                                 args.max_new_tokens))
            finally:
                server.stop()

    batched, unbatched = phases["batched"], phases["unbatched"]
    common = set(batched["translations"]) & set(unbatched["translations"])
    mismatches = sum(batched["translations"][t] != unbatched["translations"][t]
                     or len(batched["translations"][t]) != 1 for t in common)
    report = {
        "bridge": "tiny-random HCA (m2m100 + qwen3)" if args.tiny else args.bridge,
        "settings": {"clients": args.clients, "duration_s": args.duration, "max_batch_size": args.max_batch_size,
                     "batch_window_ms": args.batch_window_ms, "max_new_tokens": args.max_new_tokens,
                     "src_lang": args.src_lang, "device": args.device, "dtype": args.dtype},
        "batched": {k: v for k, v in batched.items() if k != "translations"},
        "unbatched": {k: v for k, v in unbatched.items() if k != "translations"},
        "speedup": round(batched["requests_per_s"] / unbatched["requests_per_s"], 2)
        if unbatched["requests_per_s"] else None,
        "texts_compared": len(common),
        "mismatches": mismatches,
        "environment": environment(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"serve_load-{label}"
    Path(f"{stem}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    text = markdown(report)
    Path(f"{stem}.md").write_text(text)
    print(text)
    print(f"saved {stem}.json and {stem}.md", file=sys.stderr)
    return 0 if mismatches == 0 and not batched["errors"] and not unbatched["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
