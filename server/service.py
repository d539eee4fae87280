"""The service's domain facade: what each RPC does, over plain data, with no gRPC in sight."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from server import __version__
from server.card import Card, assemble_card
from server.config import Config
from server.engine import Engine
from server.errors import InvalidArgument, Unavailable
from server.feedback import (
    Dashboard,
    FeedbackIn,
    FeedbackResult,
    agent_dashboard,
    check_feedback,
    record_feedback,
)
from server.profiles import ProfileIn, check_id, check_profile, upsert_profiles
from server.state import Triggers
from server.store import Store
from server.trigger_rules import ReportIn, ReportOutcome, check_report

if TYPE_CHECKING:
    from server.interactions import Interactions


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class UpsertOutcome:
    upserted: int
    rejected: int
    errors: list[str]


class VocService:
    """Cards, feedback, dashboards and profile sync over one store and one scoring engine."""

    def __init__(
        self,
        cfg: Config,
        store: Store,
        engine: Engine,
        clock: Callable[[], int] = wall_ms,
        *,
        triggers: Triggers | None = None,
        interactions: Interactions | None = None,
    ) -> None:
        self.cfg = cfg
        self.store = store
        self.engine = engine
        self.clock = clock
        self.started = time.monotonic()
        self.triggers = triggers
        self.interactions = interactions

    def card(self, customer_id: str, interaction_id: str, locale: str) -> Card:
        s = self.cfg.server
        cid = check_id("customer_id", customer_id, s.max_id_chars)
        iid = check_id("interaction_id", interaction_id, s.max_id_chars, required=False)
        profile = self.store.get("customers", cid.encode())
        live, threat = None, ""
        if iid and self.interactions is not None:
            live = self.interactions.live_emotion(iid)
            threat = self.interactions.live_threat(iid)
        return assemble_card(
            cid,
            profile,
            now_ms=self.clock(),
            locale=locale,
            texts=self.engine.current.lexicon,
            cfg=self.cfg.card,
            live_emotion=live,
            incidents=self.triggers.incidents_for if self.triggers is not None else None,
            escalation_phrase=threat,
        )

    def feedback(self, fb: FeedbackIn) -> FeedbackResult:
        s = self.cfg.server
        now = self.clock()
        fb = check_feedback(
            fb,
            now_ms=now,
            max_id_chars=s.max_id_chars,
            max_text_chars=s.max_text_chars,
            history_days=self.cfg.store.history_days,
        )
        analyzer = self.engine.current.analyzer
        analysis = analyzer.analyze_document(fb.text) if fb.text else None
        result = record_feedback(self.store, fb, analysis, self.cfg.store, now)
        if self.triggers is not None and analysis is not None and not result.duplicate:
            # after the commit: complaint topics and entity+symptom combos feed the trends
            complaints = [t.topic for t in result.topics if t.polarity == "complaint"]
            combos = analysis.combos if fb.kind != "PRAISE" else ()
            self.triggers.observe(complaints, combos, fb.ts_ms, fb.customer_id, now_ms=now)
        return result

    def dashboard(self, agent_id: str, comments_limit: int) -> Dashboard:
        aid = check_id("agent_id", agent_id, self.cfg.server.max_id_chars)
        if comments_limit < 0 or comments_limit > 100:
            raise InvalidArgument("comments_limit", "must be 0-100")
        record = self.store.get("agents", aid.encode())
        return agent_dashboard(aid, record, self.clock(), comments_limit or 10)

    def upsert(
        self, profiles: Iterable[ProfileIn | InvalidArgument], batch: int = 1000
    ) -> UpsertOutcome:
        """Checks each profile; writes the good ones in batches; reports the bad by index."""
        outcome = UpsertOutcome(0, 0, [])
        pending: list[ProfileIn] = []
        for index, item in enumerate(profiles):
            try:
                if isinstance(item, InvalidArgument):
                    raise item
                pending.append(check_profile(item, self.cfg.server.max_id_chars))
            except InvalidArgument as exc:
                outcome.rejected += 1
                if len(outcome.errors) < 100:
                    outcome.errors.append(f"#{index}: {exc}")
            if len(pending) >= batch:
                outcome.upserted += upsert_profiles(self.store, pending, self.clock())
                pending = []
        if pending:
            outcome.upserted += upsert_profiles(self.store, pending, self.clock())
        return outcome

    # -- one-click reports and triggers (server/triggers.py) ------------------------------

    def report(self, report: ReportIn) -> ReportOutcome:
        triggers = self.require_triggers()
        checked = check_report(
            report, triggers.params, now_ms=self.clock(), max_id_chars=self.cfg.server.max_id_chars
        )
        return triggers.report(checked)

    def require_triggers(self) -> Triggers:
        if self.triggers is None:
            raise Unavailable("triggers are not enabled on this server")
        return self.triggers

    def stats(self) -> dict:
        used, map_size = self.store.usage()
        scoring = self.engine.current
        return {
            "customers": self.store.entries("customers"),
            "agents": self.store.entries("agents"),
            "feedback": self.store.counter("feedback"),
            "reports": self.store.entries("reports"),
            "triggers": self.store.entries("triggers"),
            "store_bytes": used,
            "map_size": map_size,
            "lexicon_version": scoring.lexicon.version,
            "uptime_s": time.monotonic() - self.started,
            # -1: the cluster's Redis did not answer
            "live_interactions": (
                self.interactions.live_count() if self.interactions is not None else 0
            ),
            "version": __version__,
            "pid": os.getpid(),
        }
