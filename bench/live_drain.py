"""Live interactions at the cap: new calls past it, and the drain on shutdown against grace_s.

    PYTHONPATH=. python -m bench.live_drain [--live 20000] [--past 2000]

Fills a real server (in-process, temporary store) with `--live` live interactions of one
customer utterance each, scores `--past` new interactions past the cap (each writes out a batch
of the least recently active instead of being refused), then stops the server and reports how
long the drain of the live interactions took against [server] grace_s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from server.app import build_server
from server.interactions import UtteranceIn
from tests.conftest import make_config

TEXTS = (
    "我的快递一周了还没到",
    "退款申请了十天还没到账",
    "This is ridiculous, I was charged twice!!!",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", type=int, default=20_000)
    parser.add_argument("--past", type=int, default=2_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = make_config(Path(tmp), live={"max_live": args.live})
        running = build_server(cfg)
        live = running.service.interactions

        def say(i: int) -> None:
            text = TEXTS[i % len(TEXTS)]
            live.score(UtteranceIn(f"drain-{i}", f"drain-c{i}", "a1", "CUSTOMER", "VOICE", text))

        t0 = time.perf_counter()
        for i in range(args.live):
            say(i)
        fill_s = time.perf_counter() - t0
        past = []
        for i in range(args.live, args.live + args.past):
            t = time.perf_counter()
            say(i)
            past.append((time.perf_counter() - t) * 1000)
        held = len(live)
        drain = []
        stop_interactions = live.stop

        def timed_stop() -> int:
            t = time.perf_counter()
            written = stop_interactions()
            drain.append((time.perf_counter() - t, written))
            return written

        live.stop = timed_stop  # type: ignore[method-assign]
        t0 = time.perf_counter()
        running.stop()
        stop_s = time.perf_counter() - t0
        grace = cfg.server.grace_s
    slowest = sorted(range(len(past)), key=past.__getitem__)[-3:]
    past.sort()
    print(f"filled {args.live} live interactions in {fill_s:.1f} s")
    print(
        f"{args.past} new calls past the cap: none refused; ms per call p50 "
        f"{statistics.median(past):.2f}, p99 {past[int(len(past) * 0.99)]:.2f}, "
        f"max {past[-1]:.1f} (calls {slowest} past the cap); {held} held after"
    )
    ((drain_s, written),) = drain
    print(
        f"stop with {held} live: server stop {stop_s:.2f} s, of which the drain wrote "
        f"{written} in {drain_s:.2f} s (grace_s {grace:g})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
