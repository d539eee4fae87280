"""`python -m server` with probes and run-time knobs, to find where a server holding streams waits.

    STREAMS_PROBE_CTL=ctl.json STREAMS_PROBE_OUT=probe.jsonl \\
        python -m bench.streams_probe --listen 127.0.0.1:50061 --demo --workers 1

Probes: every collection's pause (`gc.callbacks`; pauses over 20 ms also logged with their time
to `<OUT>.pauses`) and the oversleep of a thread sleeping 1 ms (any stall of the process shows
there). Knobs, read from the JSON control file whenever it changes, so variants can be
interleaved A, B, A, B in one server while the same streams stay open: `gc` (thresholds),
`freeze`/`unfreeze`, `disable` (the collector), `switch` (sys.setswitchinterval), `futex` (slots
of the process's futex hash, Linux 6.16+). Each change first appends the figures of the interval
that just ended, tagged with the control file's `prev`, to STREAMS_PROBE_OUT.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import runpy
import sys
import threading
import time
from typing import Any

PAUSE_LOGGED_MS = 20.0
_pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
_lag: list[float] = []
_started = [0.0]


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    ms = (time.perf_counter() - _started[0]) * 1e3
    _pauses[info["generation"]].append(ms)
    if ms > PAUSE_LOGGED_MS:
        with open(os.environ["STREAMS_PROBE_OUT"] + ".pauses", "a", encoding="utf-8") as f:
            f.write(json.dumps({"t": time.time(), "gen": info["generation"], "ms": ms}) + "\n")


def _sleeper() -> None:
    while True:
        t0 = time.perf_counter()
        time.sleep(0.001)
        _lag.append((time.perf_counter() - t0 - 0.001) * 1e3)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


def _report(tag: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {"tag": tag, "threads": threading.active_count()}
    for gen, pauses in _pauses.items():
        figures[f"gc{gen}"] = {
            "n": len(pauses),
            "sum_ms": sum(pauses),
            "max_ms": max(pauses, default=0),
        }
        pauses.clear()
    figures["lag_ms"] = {
        "p50": _percentile(_lag, 0.5),
        "p99": _percentile(_lag, 0.99),
        "max": max(_lag, default=0.0),
    }
    _lag.clear()
    return figures


def _apply(knobs: dict[str, Any]) -> None:
    if "gc" in knobs:
        gc.set_threshold(*knobs["gc"])
    if knobs.get("unfreeze"):
        gc.unfreeze()
    if knobs.get("freeze"):
        gc.collect()
        gc.freeze()
    if "switch" in knobs:
        sys.setswitchinterval(knobs["switch"])
    if "futex" in knobs:
        ctypes.CDLL(None, use_errno=True).prctl(78, 1, knobs["futex"], 0, 0)  # PR_FUTEX_HASH
    if knobs.get("disable"):
        gc.disable()
    else:
        gc.enable()


def _control(path: str, out: str) -> None:
    seen = None
    while True:
        time.sleep(0.2)
        try:
            with open(path, encoding="utf-8") as f:
                raw = f.read()
        except OSError:
            continue
        if raw == seen:
            continue
        seen = raw
        knobs = json.loads(raw)
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps(_report(knobs.get("prev"))) + "\n")
        _apply(knobs)


def main() -> None:
    gc.callbacks.append(_on_gc)
    threading.Thread(target=_sleeper, name="probe-sleeper", daemon=True).start()
    control = (os.environ["STREAMS_PROBE_CTL"], os.environ["STREAMS_PROBE_OUT"])
    threading.Thread(target=_control, args=control, name="probe-control", daemon=True).start()
    sys.argv = ["server", *sys.argv[1:]]
    runpy.run_module("server", run_name="__main__")


if __name__ == "__main__":
    main()
