"""Trigger rules as plain data: config sections, tag normalisation, report checks and routing."""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from server import tags
from server.config import Config, ConfigError, build_section
from server.errors import InvalidArgument
from server.privacy import mask_pii
from server.profiles import check_event_time, check_id
from server.records import since_key, trigger_key  # noqa: F401 - the triggers db keys

LEVELS = ("P0", "P1", "P2")
STATES = ("OPEN", "ACKED", "RESOLVED")
SAMPLE = 10  # agent and customer ids shown on a trigger
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class ReportParams:
    """[reports]: P0 AGENT_REPORTS when `threshold` distinct agents report a tag in `window_s`.

    A tag's episode ends (the tag re-arms) when a report finds fewer than
    ``max(1, ceil(threshold * rearm_ratio))`` distinct agents left in the window; `tags` holds
    per-tag overrides of threshold and window_s, keyed by tag (normalised on load).
    """

    threshold: int = 10
    window_s: int = 300
    rearm_ratio: float = 0.5
    max_tag_chars: int = 64
    max_note_chars: int = 500
    max_tags: int = 256  # tags with a live window at once (kernel key slots)
    # New tags (no live window yet) one agent may open per window: one agent cannot fill the
    # tag slots, and past this its new tags are refused with RESOURCE_EXHAUSTED.
    max_new_tags_per_agent: int = 8
    agents_per_key: int = 1024  # most distinct agents held in one tag's window
    max_watchers: int = 512  # concurrent WatchTriggers streams, each a thread of their own pool
    watch_queue: int = 256  # triggers buffered per watcher before it is dropped as too slow
    tags: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TagRule:
    threshold: int = 10
    window_s: int = 300

    @property
    def window_ms(self) -> int:
        return self.window_s * 1000


@dataclass(frozen=True, slots=True)
class WeakSignalParams:
    """[weak_signals]: P1 WEAK_SIGNAL when a topic or combination grows against its own past.

    Fires when ``recent >= min_count and recent >= growth_ratio * max(baseline, floor)``, where
    `recent` is the key's events in the current `bucket_s` bucket and `baseline` its weighted
    mean per bucket over about `horizon_buckets` buckets. Nothing fires during the first
    `warmup_buckets` buckets the sketch has seen (no history yet, e.g. after a restart). An
    episode ends once `rearm_buckets` buckets pass in which the key never met the rule.
    """

    enabled: bool = True
    min_count: int = 5
    growth_ratio: float = 3.0
    floor: float = 1.0
    horizon_buckets: float = 60.0
    bucket_s: int = 60
    warmup_buckets: int = 3
    rearm_buckets: int = 10
    width: int = 1 << 16
    depth: int = 4

    @property
    def bucket_ms(self) -> int:
        return self.bucket_s * 1000


@dataclass(frozen=True, slots=True)
class RoutingParams:
    """[routing]: key prefix -> owning team; then the taxonomy owner of a topic; then `default`."""

    default: str = "cx-duty"
    owners: Mapping[str, Any] = field(
        default_factory=lambda: {"payment": "tech-oncall", "logistics": "logistics-ops"}
    )


@dataclass(frozen=True, slots=True)
class TriggerParams:
    reports: ReportParams
    weak: WeakSignalParams
    routing: RoutingParams
    tag_rules: Mapping[str, TagRule]

    @classmethod
    def from_config(cls, cfg: Config) -> TriggerParams:
        reports = build_section("reports", ReportParams, cfg.reports)
        weak = build_section("weak_signals", WeakSignalParams, cfg.weak_signals)
        routing = build_section("routing", RoutingParams, cfg.routing)
        default = TagRule(reports.threshold, reports.window_s)
        _check_rule("[reports]", default)
        if not 0 < reports.rearm_ratio <= 1:
            raise ConfigError("[reports] rearm_ratio: must be in (0, 1]")
        for name in (
            "max_tag_chars",
            "max_note_chars",
            "max_tags",
            "agents_per_key",
            "max_new_tags_per_agent",
        ):
            if getattr(reports, name) < 1:
                raise ConfigError(f"[reports] {name}: must be at least 1")
        if reports.max_watchers < 1 or reports.watch_queue < 1:
            raise ConfigError("[reports] max_watchers / watch_queue: must be at least 1")
        if not isinstance(reports.tags, Mapping):
            raise ConfigError("[reports] tags: expected a table of tag -> {threshold, window_s}")
        rules = {}
        for tag, table in reports.tags.items():
            where = f'[reports.tags."{tag}"]'
            if not isinstance(table, Mapping):
                raise ConfigError(f"{where}: expected a table with threshold and/or window_s")
            merged = {"threshold": default.threshold, "window_s": default.window_s, **table}
            rule = build_section(where[1:-1], TagRule, merged)
            _check_rule(where, rule)
            rules[normalize_tag(str(tag))] = rule
        if weak.min_count < 1 or weak.growth_ratio <= 0 or weak.floor < 0:
            raise ConfigError("[weak_signals] min_count >= 1, growth_ratio > 0, floor >= 0")
        if weak.bucket_s < 1 or weak.horizon_buckets < 1:
            raise ConfigError("[weak_signals] bucket_s and horizon_buckets: must be at least 1")
        if weak.width < 2 or weak.width & (weak.width - 1) or not 1 <= weak.depth <= 64:
            raise ConfigError("[weak_signals] width: a power of two; depth: 1-64")
        if not isinstance(routing.owners, Mapping) or not all(
            isinstance(v, str) and v for v in routing.owners.values()
        ):
            raise ConfigError("[routing] owners: expected a table of key prefix -> team name")
        return cls(reports, weak, routing, rules)

    def rule_for(self, tag: str) -> TagRule:
        rule = self.tag_rules.get(tag)
        if rule is None:
            rule = TagRule(self.reports.threshold, self.reports.window_s)
        return rule

    def rearm_below(self, rule: TagRule) -> int:
        return max(1, math.ceil(rule.threshold * self.reports.rearm_ratio))

    @property
    def longest_window_ms(self) -> int:
        windows = [self.reports.window_s, *(r.window_s for r in self.tag_rules.values())]
        return max(windows) * 1000


def _check_rule(where: str, rule: TagRule) -> None:
    if rule.threshold < 1:
        raise ConfigError(f"{where} threshold: must be at least 1")
    if not 1 <= rule.window_s <= 86_400:
        raise ConfigError(f"{where} window_s: must be 1-86400 seconds")


def normalize_tag(tag: str) -> str:
    """One spelling per tag (server.tags: scripts, width, case and spacing)."""
    return tags.normalize_tag(tag)


@dataclass(frozen=True, slots=True)
class ReportIn:
    report_id: str
    agent_id: str
    tag: str
    customer_id: str = ""
    interaction_id: str = ""
    note: str = ""
    ts_ms: int = 0


@dataclass(frozen=True, slots=True)
class ReportOutcome:
    report_id: str
    duplicate: bool
    distinct_agents: int
    threshold: int
    window_s: int
    tag: str
    trigger: dict[str, Any] | None = None


def check_report(r: ReportIn, params: TriggerParams, *, now_ms: int, max_id_chars: int) -> ReportIn:
    """Validates every field and returns the report with its tag normalised and time set."""
    rid = check_id("report_id", r.report_id, max_id_chars)
    aid = check_id("agent_id", r.agent_id, max_id_chars)
    cid = check_id("customer_id", r.customer_id, max_id_chars, required=False)
    iid = check_id("interaction_id", r.interaction_id, max_id_chars, required=False)
    p = params.reports
    if len(r.tag) > p.max_tag_chars * 4:
        raise InvalidArgument("tag", f"longer than {p.max_tag_chars} characters")
    tag = mask_pii(normalize_tag(r.tag))
    if not tag:
        raise InvalidArgument("tag", "is required")
    if len(tag) > p.max_tag_chars:
        raise InvalidArgument("tag", f"longer than {p.max_tag_chars} characters")
    if not tag.isprintable():
        raise InvalidArgument("tag", "contains control characters")
    if len(r.note) > p.max_note_chars:
        raise InvalidArgument("note", f"longer than {p.max_note_chars} characters")
    ts = check_event_time(r.ts_ms, now_ms)
    window_ms = params.rule_for(tag).window_ms
    if ts <= now_ms - window_ms:
        raise InvalidArgument("ts_ms", f"is older than the tag's {window_ms // 1000} s window")
    return ReportIn(rid, aid, tag, cid, iid, mask_pii(r.note.strip()), ts)


def level_rank(level: str) -> int:
    """0 for P0 (most urgent); an empty or unspecified level ranks after every level."""
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


def new_trigger_id(fired_ms: int) -> str:
    """Sortable by firing time (the triggers db key), unique by a random suffix."""
    return f"T{fired_ms:013d}-{secrets.token_hex(4)}"


class Router:
    """Routes a trigger key to its owning team: config prefixes, taxonomy owner, default."""

    def __init__(self, params: RoutingParams, taxonomy_owner: Any) -> None:
        self._prefixes = sorted(
            ((normalize_tag(str(k)), str(v)) for k, v in params.owners.items()),
            key=lambda kv: -len(kv[0]),
        )
        self._default = params.default
        self._taxonomy_owner = taxonomy_owner

    def owner(self, key: str, topics: tuple[str, ...]) -> str:
        for candidate in (*topics, key):
            for prefix, owner in self._prefixes:
                if candidate.startswith(prefix):
                    return owner
        for topic in topics:
            owner = self._taxonomy_owner(topic)
            if owner:
                return owner
        return self._default
