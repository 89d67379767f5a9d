"""Counters for /metrics: requests by status, latency percentiles, batch sizes.

Written from two threads (the event loop records requests, the model worker records batches),
so every update holds one lock. Latency percentiles come from the most recent WINDOW
requests: exact, bounded memory, and they follow the current load rather than all history.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, deque

WINDOW = 10_000
QUANTILES = (0.5, 0.9, 0.99)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)  # texts per generate call, upper bounds


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = math.ceil(q * len(sorted_values) - 1e-9)  # the epsilon: 0.9 * 10 is 9.000000000000002
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started = time.time()
        self.requests: Counter[tuple[str, int]] = Counter()  # (path, status) -> count
        self.latency_ms: deque[float] = deque(maxlen=WINDOW)  # successful translations only
        self.queue_ms: deque[float] = deque(maxlen=WINDOW)   # time from queued to generate start
        self.batches = 0
        self.batch_texts = 0
        self.batch_requests = 0
        self.batch_hist: Counter[int] = Counter()  # bucket upper bound (0: over the last) -> calls
        self.failed_batches = 0
        self.source_tokens = 0

    def record_request(self, path: str, status: int, seconds: float | None = None) -> None:
        with self._lock:
            self.requests[(path, status)] += 1
            if seconds is not None:
                self.latency_ms.append(seconds * 1000)

    def record_batch(self, texts: int, requests: int, source_tokens: int, queue_seconds: list[float],
                     ok: bool) -> None:
        bucket = next((b for b in BATCH_BUCKETS if texts <= b), 0)
        with self._lock:
            self.batches += 1
            self.batch_texts += texts
            self.batch_requests += requests
            self.batch_hist[bucket] += 1
            self.failed_batches += not ok
            self.source_tokens += source_tokens
            self.queue_ms.extend(s * 1000 for s in queue_seconds)

    def snapshot(self, queue_depth: int = 0) -> dict:
        with self._lock:
            latency, queued = sorted(self.latency_ms), sorted(self.queue_ms)
            by_status: Counter[str] = Counter()
            for (_, status), n in self.requests.items():
                by_status[str(status)] += n
            return {
                "uptime_s": round(time.time() - self.started, 3),
                "requests": {
                    "total": sum(self.requests.values()),
                    "by_status": dict(sorted(by_status.items())),
                    "by_path": {f"{path} {status}": n for (path, status), n in sorted(self.requests.items())},
                },
                "latency_ms": _summary(latency),
                "queue_wait_ms": _summary(queued),
                "batches": {
                    "calls": self.batches,
                    "failed": self.failed_batches,
                    "texts": self.batch_texts,
                    "mean_texts": round(self.batch_texts / self.batches, 3) if self.batches else None,
                    "mean_requests": round(self.batch_requests / self.batches, 3) if self.batches else None,
                    "histogram_texts": {(f"<={b}" if b else f">{BATCH_BUCKETS[-1]}"): self.batch_hist[b]
                                        for b in (*BATCH_BUCKETS, 0) if self.batch_hist[b]},
                },
                "source_tokens": self.source_tokens,
                "queue_depth": queue_depth,
            }


def _summary(sorted_ms: list[float]) -> dict:
    out: dict = {"count": len(sorted_ms)}
    for q in QUANTILES:
        value = percentile(sorted_ms, q)
        out[f"p{round(q * 100)}"] = None if value is None else round(value, 3)
    out["mean"] = round(sum(sorted_ms) / len(sorted_ms), 3) if sorted_ms else None
    return out


def prometheus_text(snapshot: dict) -> str:
    """The same snapshot in the Prometheus text format (counters, gauges, one summary)."""
    lines = ["# TYPE babelbridge_requests_total counter"]
    for key, n in snapshot["requests"]["by_path"].items():
        path, status = key.rsplit(" ", 1)
        lines.append(f'babelbridge_requests_total{{path="{path}",status="{status}"}} {n}')
    lines.append("# TYPE babelbridge_translate_latency_ms summary")
    latency = snapshot["latency_ms"]
    for q in QUANTILES:
        value = latency[f"p{round(q * 100)}"]
        if value is not None:
            lines.append(f'babelbridge_translate_latency_ms{{quantile="{q}"}} {value}')
    lines.append(f"babelbridge_translate_latency_ms_count {latency['count']}")
    batches = snapshot["batches"]
    for name, value, kind in (("batches_total", batches["calls"], "counter"),
                              ("failed_batches_total", batches["failed"], "counter"),
                              ("batch_texts_total", batches["texts"], "counter"),
                              ("source_tokens_total", snapshot["source_tokens"], "counter"),
                              ("queue_depth", snapshot["queue_depth"], "gauge")):
        lines += [f"# TYPE babelbridge_{name} {kind}", f"babelbridge_{name} {value}"]
    return "\n".join(lines) + "\n"
