"""`make bench`: the pytest-benchmark micro-benchmarks, then a short load comparison, in one summary.

Writes bench/out/micro.json (pytest-benchmark), bench/out/load_compare.{md,json,png} (bench.load),
bench/out/accuracy.{log,json} (bench.accuracy: held-out labelled data, skipped when absent) and
bench/out/summary.md with all. Bounded: each step runs in a subprocess with a time limit.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MICRO_TIMEOUT_S = 600  # the first run also builds the 1M-profile stores (about 2 minutes)
LOAD_TIMEOUT_S = 150
SCALING_TIMEOUT_S = 150
STREAMS_TIMEOUT_S = 400  # 5,000 live streams + 500 watchers opened, three 15 s phases
POLARITY_TIMEOUT_S = 600  # the first run trains snownlp on DEV (about 3 minutes, then cached)
ACCURACY_TIMEOUT_S = 600  # bench.accuracy: about 2 minutes at its default sample size


def run_step(argv: list[str], timeout_s: float, log: Path) -> tuple[int, float]:
    """Runs `python argv...` from the repository root; output goes to log. (exit code, seconds)."""
    env = dict(os.environ)
    env.setdefault("NUMBA_CACHE_DIR", str(REPO / ".numba_cache"))
    t0 = time.monotonic()
    with log.open("wb") as out:
        try:
            code = subprocess.run(
                [sys.executable, *argv],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout_s,
            ).returncode
        except subprocess.TimeoutExpired:
            code = -1
    return code, time.monotonic() - t0


def micro_table(path: Path) -> list[str]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ["(no micro-benchmark results)"]
    lines = [
        "| group | benchmark | median us | mean us | rounds | extra |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    rows = sorted(
        data.get("benchmarks", []), key=lambda b: (b.get("group") or "", b["stats"]["median"])
    )
    for b in rows:
        stats = b["stats"]
        extra = ", ".join(f"{k} {v}" for k, v in (b.get("extra_info") or {}).items())
        lines.append(
            f"| {b.get('group') or '-'} | {b['name']} | {stats['median'] * 1e6:,.1f} | "
            f"{stats['mean'] * 1e6:,.1f} | {stats['rounds']} | {extra or '-'} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", default=str(REPO / "bench" / "out"))
    parser.add_argument("--skip-micro", action="store_true", help="only the load comparison")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps: list[str] = []

    micro_code = None
    if not args.skip_micro:
        micro_argv = ["-m", "pytest", "bench/", "--benchmark-only", "-q", "-p", "no:cacheprovider"]
        micro_argv += ["-n", "0"]  # timings in one process (pytest-benchmark is off under xdist)
        micro_argv += [f"--benchmark-json={out / 'micro.json'}"]
        micro_code, seconds = run_step(micro_argv, MICRO_TIMEOUT_S, out / "micro.log")
        steps.append(f"micro-benchmarks: exit {micro_code} in {seconds:.0f} s (log: micro.log)")
        print(steps[-1], file=sys.stderr)

    load_argv = ["-m", "bench.load", "--out", str(out), "--quick"]
    load_code, seconds = run_step(load_argv, LOAD_TIMEOUT_S, out / "load.log")
    steps.append(f"load comparison: exit {load_code} in {seconds:.0f} s (log: load.log)")
    print(steps[-1], file=sys.stderr)

    scaling_argv = ["-m", "bench.scaling", "--out", str(out), "--seconds", "5"]
    scaling_code, seconds = run_step(scaling_argv, SCALING_TIMEOUT_S, out / "scaling.log")
    steps.append(f"scaling 1..N workers: exit {scaling_code} in {seconds:.0f} s (log: scaling.log)")
    print(steps[-1], file=sys.stderr)

    streams_argv = ["-m", "bench.streams", "--out", str(out)]
    streams_code, seconds = run_step(streams_argv, STREAMS_TIMEOUT_S, out / "streams.log")
    steps.append(f"5,000 open streams: exit {streams_code} in {seconds:.0f} s (log: streams.log)")
    print(steps[-1], file=sys.stderr)

    polarity_runs = []
    for pack in ((), ("reviews",)):
        name = "-".join(("polarity", *pack))
        argv = ["-m", "bench.polarity", "--limit", "2000", "--json", str(out / f"{name}.json")]
        argv += [a for p in pack for a in ("--pack", p)]
        code, seconds = run_step(argv, POLARITY_TIMEOUT_S, out / f"{name}.log")
        steps.append(f"{name}: exit {code} in {seconds:.0f} s (log: {name}.log)")
        print(steps[-1], file=sys.stderr)
        polarity_runs.append((name, code))

    accuracy_argv = ["-m", "bench.accuracy", "--json", str(out / "accuracy.json")]
    accuracy_code, seconds = run_step(accuracy_argv, ACCURACY_TIMEOUT_S, out / "accuracy.log")
    steps.append(
        f"accuracy on held-out data: exit {accuracy_code} in {seconds:.0f} s (log: accuracy.log)"
    )
    print(steps[-1], file=sys.stderr)

    lines = ["# vocscore benchmarks", "", *(f"- {s}" for s in steps), ""]
    if not args.skip_micro:
        lines += [
            "## Micro-benchmarks (pytest-benchmark)",
            "",
            *micro_table(out / "micro.json"),
            "",
        ]
    compare = out / "load_compare.md"
    if load_code == 0 and compare.is_file():
        text = compare.read_text(encoding="utf-8")
        lines += ["#" + line if line.startswith("#") else line for line in text.splitlines()]
    else:
        lines.append("## Load comparison failed; see load.log")
    scaling = out / "scaling.md"
    if scaling_code == 0 and scaling.is_file():
        lines += ["", "#" + scaling.read_text(encoding="utf-8")]
    streams = out / "streams.md"
    if streams_code == 0 and streams.is_file():
        lines += ["", "#" + streams.read_text(encoding="utf-8")]
    for name, code in polarity_runs:
        log = out / f"{name}.log"
        if code == 0 and log.is_file():
            table = [
                ln
                for ln in log.read_text(encoding="utf-8").splitlines()
                if ln.startswith(("|", "lexicon packs", "4000", "2000"))
            ]
            lines += ["", f"### Polarity accuracy ({name})", "", *table]
    accuracy_log = out / "accuracy.log"
    if accuracy_code == 0 and accuracy_log.is_file():
        lines += ["", "### Accuracy on held-out labelled data (bench.accuracy)", ""]
        lines += accuracy_log.read_text(encoding="utf-8").splitlines()
    summary = out / "summary.md"
    summary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(summary.read_text(encoding="utf-8"))
    print(f"wrote {summary}", file=sys.stderr)
    ok = load_code == 0 and scaling_code == 0 and streams_code == 0 and micro_code in (None, 0)
    ok = ok and accuracy_code == 0
    return 0 if ok and all(code == 0 for _, code in polarity_runs) else 1


if __name__ == "__main__":
    sys.exit(main())
