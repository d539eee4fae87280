"""The `vocscore` command line: readable output by default, `--json` for scripts."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.json_format import MessageToDict

from clients.client import DEFAULT_TARGET, VocClient, profile_message
from clients.pb import admin_pb2, voc_pb2

IMPORT_CHUNK = 5000
EXIT_REJECTED = 3


def _dict(msg: Any) -> dict[str, Any]:
    return MessageToDict(
        msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def _emit(args: argparse.Namespace, msg: Any, human: Callable[[Any], str]) -> None:
    if args.json:
        print(json.dumps(_dict(msg), ensure_ascii=False, indent=2))
    else:
        print(human(msg))


def _fmt_emotion(e: voc_pb2.Emotion) -> str:
    if not e.label:
        return "-"
    return f"{e.label} (intensity {e.intensity:.2f}, valence {e.valence:+.2f}, arousal {e.arousal:.2f})"


def format_card(card: voc_pb2.SummaryCard) -> str:
    if not card.known:
        return f"customer {card.customer_id}: unknown (no VoC history)"
    nps_cat = voc_pb2.NpsCategory.Name(card.nps.category)
    nps = f"{card.nps.score} {nps_cat}" if nps_cat != "UNKNOWN" else "-"
    csat = (
        f"{card.last_csat.score}/5 (agent {card.last_csat.agent_id})"
        if card.last_csat.score
        else "-"
    )
    lines = [
        f"customer  {card.customer_id}  {card.name}".rstrip(),
        f"tier      {voc_pb2.Tier.Name(card.tier)}    priority {voc_pb2.Priority.Name(card.priority)}",
        f"NPS       {nps}",
        f"last CSAT {csat}",
        f"emotion   {_fmt_emotion(card.emotion)}",
    ]
    if card.topics:
        lines.append("topics (30 days):")
        for t in card.topics:
            pol = voc_pb2.Polarity.Name(t.polarity).lower()
            lines.append(f"  - {t.label} [{t.topic}] {pol} x{t.count}")
    if card.alerts:
        lines.append("alerts:")
        lines.extend(f"  ! {a}" for a in card.alerts)
    for inc in card.active_incidents:
        lines.append(f"  incident {voc_pb2.TriggerLevel.Name(inc.level)} {inc.key} -> {inc.owner}")
    lines.append(f"opening   {card.opening_line}")
    return "\n".join(lines)


def format_dashboard(board: voc_pb2.AgentDashboard) -> str:
    lines = [f"agent {board.agent_id}"]
    for w in board.csat:
        avg = f"{w.average:.2f}" if w.count else "-"
        lines.append(f"  CSAT {w.window:>3}: {avg} ({w.count} answers)")
    if board.comments:
        lines.append("recent comments:")
        for c in board.comments:
            lines.append(
                f"  [{c.score}/5] {c.text}  ({c.emotion.label or '-'}, customer {c.customer_id})"
            )
    return "\n".join(lines)


def format_ack(ack: voc_pb2.FeedbackAck) -> str:
    status = "duplicate (already recorded)" if ack.duplicate else "recorded"
    topics = ", ".join(f"{t.topic}:{voc_pb2.Polarity.Name(t.polarity).lower()}" for t in ack.topics)
    return f"feedback {ack.feedback_id}: {status}; topics: {topics or '-'}; emotion: {_fmt_emotion(ack.emotion)}"


def format_stats(s: admin_pb2.Stats) -> str:
    return "\n".join(f"{k:18} {v}" for k, v in _dict(s).items())


# -- import ------------------------------------------------------------------------------


def read_profiles(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, row) for each data line of a CSV (with header) or JSONL file; a str row
    is the reason the line could not be parsed."""
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        with path.open(encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield lineno, f"invalid JSON: {exc.msg}"
                    continue
                yield lineno, row if isinstance(row, dict) else "expected a JSON object"
    else:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "customer_id" not in reader.fieldnames:
                yield 1, "CSV header must name customer_id and tier"
                return
            for row in reader:
                if None in row:
                    yield reader.line_num, "more fields than the header"
                    continue
                yield reader.line_num, row


def cmd_import(args: argparse.Namespace, client: VocClient) -> int:
    from tqdm import tqdm

    path = Path(args.file)
    if not path.is_file():
        print(f"FileNotFoundError: {path}", file=sys.stderr)
        return 1
    with path.open("rb") as fh:
        total = sum(1 for _ in fh)
    rejected: list[str] = []
    upserted = 0
    chunk: list[admin_pb2.Profile] = []
    lines: list[int] = []

    def flush() -> None:
        nonlocal upserted
        if not chunk:
            return
        summary = client.upsert_profiles(chunk)
        upserted += summary.upserted
        for err in summary.errors:
            index, _, reason = err.partition(": ")
            rejected.append(f"line {lines[int(index.lstrip('#'))]}: {reason}")
        chunk.clear()
        lines.clear()

    with tqdm(total=total, unit="line", disable=args.quiet or not sys.stderr.isatty()) as bar:
        for lineno, row in read_profiles(path):
            bar.update(1)
            if isinstance(row, str):
                rejected.append(f"line {lineno}: {row}")
                continue
            try:
                chunk.append(profile_message(row))
                lines.append(lineno)
            except ValueError as exc:
                rejected.append(f"line {lineno}: {exc}")
            if len(chunk) >= IMPORT_CHUNK:
                flush()
        flush()
    if args.json:
        print(
            json.dumps(
                {"upserted": upserted, "rejected": len(rejected), "errors": rejected[:1000]},
                ensure_ascii=False,
            )
        )
    else:
        print(f"imported {upserted} profiles from {path}; rejected {len(rejected)} lines")
        for line in rejected[:50]:
            print(f"  {line}")
        if len(rejected) > 50:
            print(f"  ... and {len(rejected) - 50} more")
    return EXIT_REJECTED if rejected else 0


# -- commands ----------------------------------------------------------------------------


def cmd_card(args: argparse.Namespace, client: VocClient) -> int:
    card = client.card(
        args.customer_id, interaction_id=args.interaction or "", locale=args.locale or ""
    )
    _emit(args, card, format_card)
    return 0


def cmd_feedback(args: argparse.Namespace, client: VocClient) -> int:
    ack = client.feedback(
        args.id or f"cli-{uuid.uuid4().hex}",
        args.customer_id,
        args.kind,
        score=args.score,
        text=args.text or "",
        agent_id=args.agent or "",
        channel=args.channel,
    )
    _emit(args, ack, format_ack)
    return 0


def cmd_dashboard(args: argparse.Namespace, client: VocClient) -> int:
    _emit(args, client.dashboard(args.agent_id, comments_limit=args.limit), format_dashboard)
    return 0


def cmd_health(args: argparse.Namespace, client: VocClient) -> int:
    status = client.health(args.service)
    print(json.dumps({"status": status}) if args.json else status)
    return 0 if status == "SERVING" else 1


def cmd_stats(args: argparse.Namespace, client: VocClient) -> int:
    _emit(args, client.stats(), format_stats)
    return 0


def cmd_reload(args: argparse.Namespace, client: VocClient) -> int:
    _emit(
        args,
        client.reload_lexicons(),
        lambda r: (
            f"lexicons {r.version}: " + ", ".join(f"{k} {v}" for k, v in sorted(r.terms.items()))
        ),
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vocscore", description="vocscore client")
    parser.add_argument(
        "--target",
        default=os.environ.get("VOC_TARGET", DEFAULT_TARGET),
        help=f"server HOST:PORT (default $VOC_TARGET or {DEFAULT_TARGET})",
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="deadline per call, seconds")
    parser.add_argument(
        "--token", default=os.environ.get("VOC_TOKEN"), help="bearer token (default $VOC_TOKEN)"
    )
    parser.add_argument(
        "--ca-file",
        default=os.environ.get("VOC_CA_FILE"),
        help="CA certificate for TLS (default $VOC_CA_FILE)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("card", help="the screen-pop card of a customer")
    p.add_argument("customer_id")
    p.add_argument("--interaction", help="live interaction id (shows its running emotion)")
    p.add_argument("--locale", choices=("zh", "en"))
    p.set_defaults(run=cmd_card)

    p = sub.add_parser("feedback", help="record NPS, CSAT, complaint, praise or a comment")
    p.add_argument("customer_id")
    p.add_argument("kind", choices=("nps", "csat", "complaint", "praise", "comment"))
    p.add_argument("--score", type=int, default=0)
    p.add_argument("--text")
    p.add_argument("--agent")
    p.add_argument(
        "--channel", default="SURVEY", choices=("VOICE", "CHAT", "EMAIL", "SOCIAL", "SURVEY")
    )
    p.add_argument("--id", help="idempotency key (default: a new UUID)")
    p.set_defaults(run=cmd_feedback)

    p = sub.add_parser("dashboard", help="an agent's CSAT dashboard")
    p.add_argument("agent_id")
    p.add_argument("--limit", type=int, default=10, help="recent comments to show")
    p.set_defaults(run=cmd_dashboard)

    p = sub.add_parser("import", help="bulk-load CRM profiles from CSV (with header) or JSONL")
    p.add_argument("file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=cmd_import)

    p = sub.add_parser("health", help="gRPC health status (exit 0 when SERVING)")
    p.add_argument("--service", default="")
    p.set_defaults(run=cmd_health)

    sub.add_parser("stats", help="store and server statistics").set_defaults(run=cmd_stats)
    sub.add_parser("reload", help="reload lexicons on the server").set_defaults(run=cmd_reload)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with VocClient(
            args.target, timeout=args.timeout, token=args.token, ca_file=args.ca_file
        ) as client:
            return args.run(args, client)
    except grpc.RpcError as exc:
        print(f"{exc.code().name}: {exc.details()}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
