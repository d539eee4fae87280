"""The outer loop's KPIs: per owner or topic, how many triggers were answered and closed in time.

On-time response: first acknowledged (or resolved while open) within the [sla] response deadline.
On-time closure: resolved within the [sla] resolution deadline. Closed loop: resolved at all.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from server.errors import InvalidArgument
from server.sla import SlaParams
from server.trigger_rules import since_key

GROUPS = ("owner", "topic")
DEFAULT_PERIOD_MS = 30 * 86_400_000
_MAX_TRIGGERS = 200_000


def groups_of(trigger: Mapping[str, Any], group_by: str) -> list[str]:
    if group_by == "owner":
        return [trigger["owner"]]
    return list(trigger.get("topics") or ()) or [trigger["key"]]


def kpis(
    triggers: Iterable[Mapping[str, Any]],
    sla: SlaParams,
    now_ms: int,
    group_by: str = "owner",
    red: Callable[[Mapping[str, Any]], bool] = lambda t: t["level"] == "P0",
) -> list[dict[str, Any]]:
    """One row per group, most triggers first."""
    rows: dict[str, dict[str, Any]] = {}
    for t in triggers:
        is_red = red(t)
        respond_by = t["fired_ms"] + sla.respond_ms(t, is_red)
        resolve_by = t["fired_ms"] + sla.resolve_ms(t, is_red)
        acked, resolved = t.get("acked_ms") or 0, t.get("resolved_ms") or 0
        if t["state"] == "RESOLVED" and not resolved:  # stored before resolved_ms existed
            resolved = acked
        for group in groups_of(t, group_by):
            row = rows.setdefault(
                group,
                {"group": group, "triggers": 0, "responded": 0, "responded_on_time": 0,
                 "resolved": 0, "resolved_on_time": 0, "overdue": 0, "_ack": [], "_res": []},
            )  # fmt: skip
            row["triggers"] += 1
            if acked:
                row["responded"] += 1
                row["responded_on_time"] += acked <= respond_by
                row["_ack"].append((acked - t["fired_ms"]) / 60_000)
            elif now_ms > respond_by:
                row["overdue"] += 1
            if resolved:
                row["resolved"] += 1
                row["resolved_on_time"] += resolved <= resolve_by
                row["_res"].append((resolved - t["fired_ms"]) / 60_000)
    out = []
    for row in rows.values():
        n = row["triggers"]
        ack, res = row.pop("_ack"), row.pop("_res")
        row["on_time_response"] = round(row["responded_on_time"] / n, 4)
        row["on_time_closure"] = round(row["resolved_on_time"] / n, 4)
        row["closed_loop"] = round(row["resolved"] / n, 4)
        row["median_min_to_ack"] = round(statistics.median(ack), 1) if ack else 0.0
        row["median_min_to_resolve"] = round(statistics.median(res), 1) if res else 0.0
        out.append(row)
    out.sort(key=lambda r: (-r["triggers"], r["group"]))
    return out


def period_kpis(
    store: Any,
    sla: SlaParams,
    now_ms: int,
    since_ms: int = 0,
    until_ms: int = 0,
    group_by: str = "",
) -> tuple[int, int, str, list[dict[str, Any]]]:
    """Checks a request's period and grouping, reads the period's triggers, returns the KPIs."""
    from server.sla import is_red  # a store lookup: kept out of kpis() so it stays pure

    group_by = group_by or "owner"
    if group_by not in GROUPS:
        raise InvalidArgument("group_by", f"must be one of {', '.join(GROUPS)}")
    if since_ms < 0 or until_ms < 0:
        raise InvalidArgument("since_ms" if since_ms < 0 else "until_ms", "must be >= 0")
    until_ms = until_ms or now_ms
    since_ms = since_ms or until_ms - DEFAULT_PERIOD_MS
    if since_ms >= until_ms:
        raise InvalidArgument("since_ms", "must be before until_ms")
    found = store.scan("triggers", since_key(since_ms), since_key(until_ms), limit=_MAX_TRIGGERS)
    triggers = [t for _, t in found]
    rows = kpis(triggers, sla, now_ms, group_by, lambda t: t["level"] == "P0" or is_red(store, t))
    return since_ms, until_ms, group_by, rows
