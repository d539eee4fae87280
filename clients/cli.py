"""The `vocscore` command line: readable output by default, `--json` for scripts."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.descriptor import FieldDescriptor

from clients.client import (
    DEFAULT_TARGET,
    VocClient,
    profile_message,
    to_dict,
    utterance_message,
)
from clients.crmfile import CrmFile
from clients.pb import admin_pb2, voc_pb2

IMPORT_CHUNK = 5000
EXIT_REJECTED = 3
RECONNECT_MIN_S = 0.5  # vocscore watch --follow: first pause before reconnecting, doubling
RECONNECT_MAX_S = 10.0


# -- output: enum names, 64-bit ints as numbers, no terminal control from server text -------

# escape sequences (CSI, OSC, DCS/PM/APC strings, two-byte ESC x), then any control character
# left, C1 controls and the bidi overrides that make text display other than it reads
_ESCAPES = re.compile(
    r"(?:\x1b[\]P^_X]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS...
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI: cursor, colours, clear screen
    r"|\x1b[ -/]*[0-~]?"  # any other ESC sequence
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_JSON = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def safe_text(text: str) -> str:
    """Text from the server as a terminal may print it: escape sequences and control characters
    removed, tabs and line breaks made spaces (a stored comment cannot clear the screen, move
    the cursor or fake another line of output)."""
    text = _ESCAPES.sub("", text)
    return _CONTROLS.sub("", text.replace("\t", " ").replace("\r\n", " ").replace("\n", " "))


def _clean(msg: Any) -> Any:
    """A copy of `msg` with every string field (nested, repeated, map) passed through safe_text."""
    out = type(msg)()
    out.CopyFrom(msg)
    _clean_in_place(out)
    return out


def _clean_in_place(msg: Any) -> None:
    for fd, value in msg.ListFields():
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            vfd = fd.message_type.fields_by_name["value"]
            items = list(value.items())
            value.clear()
            for k, v in items:
                k = safe_text(k) if isinstance(k, str) else k
                if vfd.message_type is not None:
                    _clean_in_place(v)
                    value[k].CopyFrom(v)
                else:
                    value[k] = safe_text(v) if isinstance(v, str) else v
        elif fd.type == FieldDescriptor.TYPE_MESSAGE:
            for sub in value if _repeated(fd) else (value,):
                _clean_in_place(sub)
        elif fd.type == FieldDescriptor.TYPE_STRING:
            if _repeated(fd):
                value[:] = [safe_text(v) for v in value]
            else:
                setattr(msg, fd.name, safe_text(value))


def _repeated(fd: FieldDescriptor) -> bool:
    return fd.is_repeated


_dict = to_dict


def _json(value: Any, indent: int | None = 2) -> str:
    """JSON as the terminal gets it: json escapes C0 controls; C1 controls and bidi overrides
    are escaped here too (ensure_ascii=False would print them raw)."""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _UNSAFE_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _emit(args: argparse.Namespace, msg: Any, human: Callable[[Any], str]) -> None:
    if args.json:
        print(_json(_dict(msg)))
    else:
        print(human(_clean(msg)))


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
    """One line a figure; the server's processes one line each (pid, role, lexicon, reload)."""
    fields = _dict(s)
    processes = fields.pop("processes", [])
    lines = [f"{k:18} {v}" for k, v in fields.items()]
    for p in processes:
        lines.append(
            f"{'process':18} {p.get('pid')} {p.get('role', '-'):6} lexicon "
            f"{p.get('lexicon_version', '-')} reload {p.get('reload_seq', 0)}"
        )
    return "\n".join(lines)


# -- import ------------------------------------------------------------------------------


def read_profiles(
    path: Path, encoding: str | None = None
) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, row) for each data line of a CSV (with header) or JSONL file, in line
    order; a str row is the reason the line was rejected (clients.crmfile)."""
    return CrmFile.open(path, encoding).rows()


def cmd_import(args: argparse.Namespace, client: VocClient) -> int:
    from tqdm import tqdm

    path = Path(args.file)
    if not path.is_file():
        print(f"FileNotFoundError: {path}", file=sys.stderr)
        return 1
    crm = CrmFile.open(path, args.encoding)
    if crm.detected and not args.quiet:
        print(f"{path}: not UTF-8; read as {crm.encoding} (detected)", file=sys.stderr)
    rejected: list[tuple[int, str]] = []
    upserted = 0
    chunk: list[admin_pb2.Profile] = []
    lines: list[int] = []

    def flush() -> None:
        nonlocal upserted
        if not chunk:
            return
        if args.dry_run:
            upserted += len(chunk)
        else:
            summary = client.upsert_profiles(chunk)
            upserted += summary.upserted
            for err in summary.errors:
                index, _, reason = err.partition(": ")
                rejected.append((lines[int(index.lstrip("#"))], safe_text(reason)))
        chunk.clear()
        lines.clear()

    total = len(crm._lines)
    with tqdm(total=total, unit="line", disable=args.quiet or not sys.stderr.isatty()) as bar:
        for lineno, row in crm.rows():
            bar.update(1)
            if isinstance(row, str):
                rejected.append((lineno, row))
                continue
            try:
                chunk.append(profile_message(row))
                lines.append(lineno)
            except ValueError as exc:
                rejected.append((lineno, str(exc)))
            if len(chunk) >= IMPORT_CHUNK:
                flush()
        flush()
    rejected.sort(key=lambda e: e[0])  # local and server errors, in line order
    errors = [f"line {n}: {reason}" for n, reason in rejected]
    verb = "would import" if args.dry_run else "imported"
    if args.json:
        result = {
            "lines": crm.data_lines,
            "upserted": upserted,
            "rejected": len(rejected),
            "errors": errors[:1000],
            "encoding": crm.encoding,
            "dry_run": bool(args.dry_run),
        }
        print(_json(result, indent=None))
    else:
        print(
            f"{verb} {upserted} profiles from {path}; rejected {len(rejected)} lines "
            f"(of {crm.data_lines} data lines, {crm.encoding})"
        )
        for line in errors[:50]:
            print(f"  {line}")
        if len(errors) > 50:
            print(f"  ... and {len(errors) - 50} more")
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


# -- live scoring and lexicons -------------------------------------------------------------


def format_score(r: voc_pb2.UtteranceScore) -> str:
    lines = [
        f"emotion   {_fmt_emotion(r.emotion)}",
        f"live      {_fmt_emotion(r.live)}" + ("   ESCALATION" if r.escalation else ""),
    ]
    for t in r.topics:
        lines.append(
            f"topic     {t.topic} {voc_pb2.Polarity.Name(t.polarity).lower()} ({t.score:.2f})"
        )
    for m in r.matches:
        neg = " negated" if m.negated else ""
        lines.append(
            f"  [{m.start}:{m.end}] {m.term!r} {m.kind}:{m.category} w={m.weight:.2f}{neg}"
        )
    if r.combos:
        lines.append("combos    " + ", ".join(r.combos))
    return "\n".join(lines)


def _utterance_text(args: argparse.Namespace) -> str:
    """The text argument, `-` for stdin, or --file."""
    if args.file:
        if args.text is not None:
            raise ValueError("give the text or --file, not both")
        return Path(args.file).read_text(encoding="utf-8").strip()
    if args.text is None:
        raise ValueError("give the text to score, - to read it from stdin, or --file FILE")
    return sys.stdin.read().strip() if args.text == "-" else args.text


def cmd_score(args: argparse.Namespace, client: VocClient) -> int:
    text = _utterance_text(args)
    interaction = args.interaction
    customer = args.customer
    if not interaction:  # a new interaction: its first utterance names the customer
        interaction = f"cli-{uuid.uuid4().hex[:12]}"
        customer = customer or "cli-customer"
    reply = client.score(interaction, text, customer_id=customer or "", speaker=args.speaker)
    _emit(args, reply, format_score)
    return 0


_SPEAKERS = {
    "AGENT": "AGENT",
    "客服": "AGENT",
    "坐席": "AGENT",
    "CUSTOMER": "CUSTOMER",
    "客户": "CUSTOMER",
    "顾客": "CUSTOMER",
}
_SPEAKER = re.compile(r"^\s*(" + "|".join(_SPEAKERS) + r")\s*[:：]\s*", re.IGNORECASE)


def read_conversation(path: Path) -> list[tuple[str, str]]:
    """(speaker, text) per line of a conversation file: one utterance a line, an optional
    `AGENT:` / `CUSTOMER:` prefix (default CUSTOMER), blank lines and `#` comments skipped."""
    out = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        speaker = "CUSTOMER"
        m = _SPEAKER.match(line)
        if m:
            speaker = _SPEAKERS[m.group(1).upper()]
            line = line[m.end() :]
        if line.strip():
            out.append((speaker, line.strip()))
    return out


def format_summary(s: voc_pb2.InteractionSummary) -> str:
    topics = ", ".join(
        f"{t.topic}:{voc_pb2.Polarity.Name(t.polarity).lower()} x{t.count}" for t in s.topics
    )
    esc = "; ESCALATED" if s.escalated else ""
    return (
        f"interaction {s.interaction_id} ended (customer {s.customer_id}): "
        f"{s.utterances} customer utterances; topics: {topics or '-'}; "
        f"peak emotion: {_fmt_emotion(s.peak_emotion)}{esc}"
    )


def cmd_call(args: argparse.Namespace, client: VocClient) -> int:
    """Streams a conversation file as one live interaction; closing the stream ends it."""
    lines = read_conversation(Path(args.file))
    if not lines:
        raise ValueError(f"{args.file}: no utterances")
    interaction = args.interaction or f"cli-{uuid.uuid4().hex[:12]}"
    messages = [
        utterance_message(
            interaction,
            text,
            customer_id=args.customer if i == 0 else "",
            agent_id=args.agent or "",
            speaker=speaker,
        )
        for i, (speaker, text) in enumerate(lines)
    ]
    for (speaker, text), reply in zip(lines, client.stream(messages), strict=False):
        if args.json:
            print(_json({"speaker": speaker, "text": text, **_dict(reply)}, indent=None))
        else:
            print(f"{speaker.lower()}: {text}\n" + format_score(_clean(reply)), flush=True)
    # the stream's close ends the interaction on the server; End fetches what was written (it
    # may still be writing for a moment, seen as NOT_FOUND between removal and commit)
    deadline = time.monotonic() + 5.0
    while True:
        try:
            summary = client.end_interaction(interaction)
            break
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    _emit(args, summary, format_summary)
    return 0


def cmd_end(args: argparse.Namespace, client: VocClient) -> int:
    summary = client.end_interaction(args.interaction_id, customer_id=args.customer or "")
    _emit(args, summary, format_summary)
    return 0


def cmd_lexicon(args: argparse.Namespace, client: VocClient) -> int:
    """Offline lexicon tools for lexicon authors; they load the server's lexicon code locally."""
    from server.lexicon import check_dirs, load_lexicon
    from server.scoring import Analyzer

    if args.action == "check":
        errors = check_dirs([Path(d) for d in args.args])
        for line in errors:
            print(line)
        if not errors:
            print("ok: " + ", ".join(args.args))
        return 1 if errors else 0
    lexicon = load_lexicon([Path(d) for d in args.dir])
    a = Analyzer(lexicon).analyze(" ".join(args.args))
    if args.json:
        print(
            json.dumps(
                {
                    "matches": [m._asdict() for m in a.matches],
                    "topics": [t._asdict() for t in a.topics],
                    "emotion": a.emotion._asdict(),
                    "combos": list(a.combos),
                    "lexicon_version": lexicon.version,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    e = a.emotion
    print(f"lexicon {lexicon.version}")
    print(
        f"emotion {e.label} (intensity {e.intensity:.2f}, valence {e.valence:+.2f}, arousal {e.arousal:.2f})"
    )
    for t in a.topics:
        print(f"topic   {t.topic} {t.polarity} ({t.score:.2f})")
    for m in a.matches:
        print(
            f"  [{m.start}:{m.end}] {m.term!r} {m.kind}:{m.category} w={m.weight:.2f}"
            + (" negated" if m.negated else "")
        )
    return 0


# -- one-click reports and triggers ------------------------------------------------------


def format_trigger(t: voc_pb2.Trigger) -> str:
    fired = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t.fired_ms / 1000))
    state = voc_pb2.TriggerState.Name(t.state)
    lines = [
        f"{voc_pb2.TriggerLevel.Name(t.level)} {voc_pb2.TriggerKind.Name(t.kind)}  {t.key}  "
        f"({t.count} in {t.window_s} s)  -> {t.owner}  {state}  {fired}  {t.trigger_id}",
        f"  {t.message}",
    ]
    if t.acked_by:
        lines.append(f"  {state.lower()} by {t.acked_by}")
    return "\n".join(lines)


def format_report_ack(ack: voc_pb2.ReportAck) -> str:
    dup = " (duplicate)" if ack.duplicate else ""
    line = (
        f"report {ack.report_id}{dup}: “{ack.tag}” {ack.distinct_agents}/{ack.threshold} "
        f"distinct agents in {ack.window_s} s"
    )
    if ack.HasField("trigger"):
        line += "\nFIRED " + format_trigger(ack.trigger)
    return line


def cmd_report(args: argparse.Namespace, client: VocClient) -> int:
    ack = client.report(
        args.id or f"cli-{uuid.uuid4().hex}",
        args.agent_id,
        args.tag,
        customer_id=args.customer or "",
        note=args.note or "",
    )
    _emit(args, ack, format_report_ack)
    return 0


def parse_duration(text: str) -> int:
    """`90s`, `10m`, `2h`, `1d` (or plain seconds) in milliseconds."""
    units = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
    text = text.strip().lower()
    unit = units.get(text[-1:], None)
    number = text[:-1] if unit else text
    try:
        value = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected a duration like 90s, 10m, 2h, 1d"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a duration cannot be negative")
    return int(value * (unit or 1_000))


def cmd_watch(args: argparse.Namespace, client: VocClient) -> int:
    """Prints triggers until stopped. The stream ending is an error (exit 1), so a supervisor
    restarts a watcher whose server went away; `--follow` reconnects by itself and resumes after
    the last trigger it printed."""
    since_ms = args.since_ms or (int(time.time() * 1000) - args.since if args.since else 0)
    seen_at: tuple[int, set[str]] = (0, set())  # the last fired_ms printed and its ids
    printed, pause = 0, RECONNECT_MIN_S
    while True:
        call = client.watch(min_level=args.level or "", since_ms=since_ms)
        try:
            for trigger in call:
                pause = RECONNECT_MIN_S
                if trigger.fired_ms == seen_at[0] and trigger.trigger_id in seen_at[1]:
                    continue  # replayed after a reconnect: printed already
                if args.json:
                    print(_json(_dict(trigger), indent=None), flush=True)
                else:
                    print(format_trigger(_clean(trigger)), flush=True)
                if trigger.fired_ms != seen_at[0]:
                    seen_at = (trigger.fired_ms, set())
                seen_at[1].add(trigger.trigger_id)
                printed += 1
                if args.count and printed >= args.count:
                    call.cancel()
                    return 0
            reason = "the server ended the stream"
        except KeyboardInterrupt:
            call.cancel()
            return 0
        except grpc.RpcError as exc:
            reason = f"{exc.code().name}: {exc.details()}"
        if not args.follow:
            print(f"vocscore: watch: {reason} (--follow reconnects)", file=sys.stderr)
            return 1
        print(f"vocscore: watch: {reason}; reconnecting in {pause:.1f} s", file=sys.stderr)
        try:
            time.sleep(pause)
        except KeyboardInterrupt:
            return 0
        pause = min(pause * 2, RECONNECT_MAX_S)
        since_ms = seen_at[0] or since_ms or int(time.time() * 1000) - int(pause * 1000) - 60_000


def cmd_triggers(args: argparse.Namespace, client: VocClient) -> int:
    found = client.list_triggers(state=args.state or "", since_ms=args.since_ms, limit=args.limit)
    if args.json:
        print(_json([_dict(t) for t in found]))
    else:
        print("\n".join(format_trigger(_clean(t)) for t in found) if found else "no triggers")
    return 0


def format_kpis(report: voc_pb2.KpiReport) -> str:
    days = (report.until_ms - report.since_ms) / 86_400_000
    head = f"{report.group_by:<24} {'triggers':>8} {'on-time resp':>12} {'on-time close':>13}"
    head += f" {'closed loop':>11} {'overdue':>7} {'min to ack':>10} {'min to resolve':>14}"
    lines = [f"KPIs of the last {days:g} days by {report.group_by}", head]
    for r in report.rows:
        lines.append(
            f"{r.group[:24]:<24} {r.triggers:>8} {r.on_time_response:>12.0%} "
            f"{r.on_time_closure:>13.0%} {r.closed_loop:>11.0%} {r.overdue:>7} "
            f"{r.median_min_to_ack if r.responded else '-':>10} "
            f"{r.median_min_to_resolve if r.resolved else '-':>14}"
        )
    if not report.rows:
        lines.append("no triggers in the period")
    return "\n".join(lines)


def cmd_kpi(args: argparse.Namespace, client: VocClient) -> int:
    now = int(time.time() * 1000)
    report = client.trigger_kpis(since_ms=now - args.since, until_ms=now, group_by=args.by)
    _emit(args, report, format_kpis)
    return 0


def cmd_ack(args: argparse.Namespace, client: VocClient) -> int:
    _emit(args, client.ack_trigger(args.trigger_id, args.by, resolve=args.resolve), format_trigger)
    return 0


def _add_trigger_commands(sub: Any) -> None:
    p = sub.add_parser("report", help="one-click report of an issue tag by an agent")
    p.add_argument("agent_id")
    p.add_argument("tag")
    p.add_argument("--id", help="idempotency key (default: a new UUID)")
    p.add_argument("--customer", help="the customer on the line")
    p.add_argument("--note")
    p.set_defaults(run=cmd_report)

    p = sub.add_parser("watch", help="print triggers as they fire (Ctrl-C to stop)")
    p.add_argument("--level", choices=("P0", "P1", "P2"), help="this level or more urgent")
    p.add_argument("--since-ms", type=int, default=0, help="replay triggers fired since then")
    p.add_argument(
        "--since", type=parse_duration, default=0, help="replay the last 10m, 2h, 1d first"
    )
    p.add_argument("--count", type=int, default=0, help="stop after this many triggers")
    p.add_argument(
        "--follow",
        action="store_true",
        help="reconnect when the stream ends, resuming after "
        "the last trigger printed (without it, the end of the stream exits with status 1)",
    )
    p.set_defaults(run=cmd_watch)

    p = sub.add_parser("kpi", help="on-time response and closure per owner or topic")
    p.add_argument("--since", type=parse_duration, default=30 * 86_400_000, help="default 30d")
    p.add_argument("--by", choices=("owner", "topic"), default="owner")
    p.set_defaults(run=cmd_kpi)

    p = sub.add_parser("triggers", help="list triggers, newest first")
    p.add_argument("--state", choices=("OPEN", "ACKED", "RESOLVED"))
    p.add_argument("--since-ms", type=int, default=0)
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(run=cmd_triggers)

    p = sub.add_parser("ack", help="acknowledge (or --resolve) a trigger")
    p.add_argument("trigger_id")
    p.add_argument("--by", required=True, help="who acknowledges it")
    p.add_argument("--resolve", action="store_true")
    p.set_defaults(run=cmd_ack)


# -- bench: the CTI load simulator (clients/load.py) --------------------------------------


def cmd_bench(args: argparse.Namespace, client: VocClient) -> int:
    from clients import load

    return load.main(["--target", args.target, *args.load_args])


def _add_bench_command(sub: Any) -> None:
    # "+" as the prefix leaves every "--option" after `bench` to clients.load's own parser.
    p = sub.add_parser(
        "bench",
        prefix_chars="+",
        add_help=False,
        help="load-test a local server (options: vocscore bench --help)",
    )
    p.add_argument("load_args", nargs="*")
    p.set_defaults(run=cmd_bench)


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
    parser.add_argument(
        "--cert",
        default=os.environ.get("VOC_CLIENT_CERT"),
        help="client certificate for mutual TLS, with --key (default $VOC_CLIENT_CERT)",
    )
    parser.add_argument(
        "--key",
        default=os.environ.get("VOC_CLIENT_KEY"),
        help="private key of --cert (default $VOC_CLIENT_KEY)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("card", help="the screen-pop card of a customer")
    p.add_argument("customer_id")
    p.add_argument("--interaction", help="live interaction id (shows its running emotion)")
    p.add_argument("--locale", help="zh, en, or zh-TW / zh-HK / zh-Hant for traditional characters")
    p.set_defaults(run=cmd_card)

    p = sub.add_parser("feedback", help="record NPS, CSAT, complaint, praise or a comment")
    p.add_argument("customer_id")
    p.add_argument("kind", choices=("nps", "csat", "complaint", "praise", "comment"))
    p.add_argument("--score", type=int, help="NPS 0-10 or CSAT 1-5 (required for those kinds)")
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
    p.add_argument(
        "--encoding",
        help="the file's encoding, e.g. gb18030 (default: UTF-8, detected when the file is not)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="check every line and report; send nothing"
    )
    p.set_defaults(run=cmd_import)

    p = sub.add_parser("health", help="gRPC health status (exit 0 when SERVING)")
    p.add_argument("--service", default="")
    p.set_defaults(run=cmd_health)

    sub.add_parser("stats", help="store and server statistics").set_defaults(run=cmd_stats)
    sub.add_parser("reload", help="reload lexicons on the server").set_defaults(run=cmd_reload)
    p = sub.add_parser("score", help="score one utterance of a live interaction")
    p.add_argument("text", nargs="?", help="the utterance, or - to read it from stdin")
    p.add_argument("--file", help="read the utterance from this file (UTF-8)")
    p.add_argument("--interaction", help="interaction id (default: a new one)")
    p.add_argument(
        "--customer",
        help="customer id: needed on an interaction's first utterance only "
        "(default for a new interaction: cli-customer)",
    )
    p.add_argument("--speaker", default="CUSTOMER", choices=("CUSTOMER", "AGENT"))
    p.set_defaults(run=cmd_score)

    p = sub.add_parser(
        "call",
        help="stream a whole conversation file as one live interaction "
        "(a line per utterance, AGENT: / CUSTOMER: prefixes); ends it at the end of the file",
    )
    p.add_argument("file")
    p.add_argument("--customer", required=True, help="the customer on the line")
    p.add_argument("--agent", help="the agent's id")
    p.add_argument("--interaction", help="interaction id (default: a new one)")
    p.set_defaults(run=cmd_call)

    p = sub.add_parser("end", help="end a live interaction and print its summary")
    p.add_argument("interaction_id")
    p.add_argument("--customer", help="checked against the interaction's customer if given")
    p.set_defaults(run=cmd_end)

    p = sub.add_parser("lexicon", help="offline lexicon tools: check DIR..., test TEXT")
    p.add_argument("action", choices=("check", "test"))
    p.add_argument("args", nargs="+", help="directories to check, or the text to test")
    p.add_argument("--dir", action="append", default=[], help="extra lexicon directory (test)")
    p.set_defaults(run=cmd_lexicon)

    _add_trigger_commands(sub)
    _add_bench_command(sub)
    return parser


def _hint(exc: grpc.RpcError, args: argparse.Namespace) -> str:
    """What to do about a status the server did not choose (the connection failed)."""
    code, details = exc.code(), (exc.details() or "")
    low = details.lower()
    if code == grpc.StatusCode.UNAVAILABLE:
        if "refused" in low or "failed to connect" in low and "closed" not in low:
            return (
                f"no server answers at {args.target}: start one (make run) or point "
                "--target HOST:PORT (or $VOC_TARGET) at it"
            )
        if not args.ca_file:
            return (
                "the server closed the connection: if it uses TLS, pass --ca-file CA.pem "
                "(or $VOC_CA_FILE), and --cert/--key for mutual TLS"
            )
        if any(w in low for w in ("ssl", "tls", "handshake", "certificate")):
            return (
                "the TLS handshake failed: is the server using TLS, and is --ca-file the CA "
                "that signed its certificate?"
            )
    if code == grpc.StatusCode.UNAUTHENTICATED and not args.token:
        return "pass --token TOKEN (or $VOC_TOKEN): the server requires one"
    return ""


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if bool(args.cert) != bool(args.key):
        print("ValueError: --cert and --key go together (mutual TLS)", file=sys.stderr)
        return 2
    try:
        with VocClient(
            args.target,
            timeout=args.timeout,
            token=args.token,
            ca_file=args.ca_file,
            client_cert=(args.cert, args.key) if args.cert else None,
        ) as client:
            return args.run(args, client)
    except grpc.RpcError as exc:
        print(f"{exc.code().name}: {safe_text(exc.details() or '')}", file=sys.stderr)
        hint = _hint(exc, args)
        if hint:
            print(f"  hint: {hint}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`vocscore ... | head`): stop quietly, as Unix tools do, and
        # point stdout at /dev/null so the flush at exit does not fail again.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (AttributeError, OSError, ValueError):
            pass
        return 1
    except (OSError, ValueError) as exc:
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
