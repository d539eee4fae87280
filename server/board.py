"""The ops board: open P0/P1 triggers with SLA timers and delivery state, trends, agents' CSAT, KPIs.

A Starlette app served by uvicorn on its own port (``[board] listen``, default 127.0.0.1:8080;
"" turns it off), in the process that owns the trigger engine. The page is plain HTML and
JavaScript (no build step); it gets its data from one server-sent event stream, pushed whenever
the triggers change, so nothing in the browser polls. Charts are SVG drawn here.

With ``[[auth.tokens]]`` configured, the board asks for a token with the ``ops`` or ``admin`` role
once and keeps it in an HttpOnly, SameSite=Strict cookie; without tokens (a loopback server) it
is open, as the gRPC port is.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import logging
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route

from server.auth import Token
from server.config import ConfigError
from server.delivery import deliveries_of
from server.errors import VocError, http_status
from server.http import HttpThread
from server.kpi import period_kpis
from server.privacy import mask_pii
from server.sla import SlaParams, is_red
from server.trigger_rules import since_key

log = logging.getLogger(__name__)

COOKIE = "voc_board"
BOARD_ROLES = frozenset({"ops", "admin"})
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
_OPEN_HORIZON_MS = 30 * DAY_MS  # open triggers older than this are not on the board
_PUSH_CHECK_S = 0.5  # how often each event stream looks for a change to push
_AGENTS_EVERY_S = 10.0
_HEARTBEAT_S = 15.0


@dataclass(frozen=True, slots=True)
class BoardParams:
    listen: str = "127.0.0.1:8080"
    agents: int = 20  # agents' CSAT dashboards shown, most recently rated first

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> BoardParams:
        unknown = set(section) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"[board]: unknown key(s) {sorted(unknown)}")
        params = cls(**section)
        if not isinstance(params.listen, str):
            raise ConfigError('[board] listen: expected "HOST:PORT" or "" (off)')
        value = params.agents
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError("[board] agents: expected a whole number >= 1")
        return params


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.strip().encode("utf-8")).digest()


class BoardState:
    """What the page shows, read from the store and the trigger engine."""

    def __init__(self, service: Any, params: BoardParams, sla: SlaParams) -> None:
        self.service = service
        self.params = params
        self.sla = sla

    def triggers(self, now: int) -> list[dict[str, Any]]:
        store = self.service.store
        found = store.scan("triggers", since_key(now - _OPEN_HORIZON_MS), limit=10_000)
        out = []
        for _, t in reversed(found):
            if t["state"] == "RESOLVED" or t["level"] not in ("P0", "P1"):
                continue
            red = t["level"] == "P0" or is_red(store, t)
            due = t["fired_ms"] + self.sla.respond_ms(t, red)
            out.append(
                {
                    "id": t["id"],
                    "level": t["level"],
                    "kind": t["kind"],
                    "key": mask_pii(t["key"]),
                    "count": t["count"],
                    "owner": t["owner"],
                    "message": mask_pii(t["message"]),
                    "state": t["state"],
                    "fired_ms": t["fired_ms"],
                    "respond_by_ms": due,
                    "overdue": t["state"] == "OPEN" and now > due,
                    "red": red,
                    "acked_by": t.get("acked_by", ""),
                    "deliveries": [
                        {k: d[k] for k in ("owner", "type", "state", "attempts", "last_error")}
                        for d in deliveries_of(store, t["id"])
                    ],
                }
            )
        return out

    def history(self, now: int, days: int = 30) -> list[dict[str, Any]]:
        found = self.service.store.scan("triggers", since_key(now - days * DAY_MS), limit=50_000)
        return [t for _, t in found]

    def kpis(self, now: int) -> list[dict[str, Any]]:
        """Per owner over the last 30 days (server/kpi.py, as `vocscore kpi` shows them)."""
        return period_kpis(self.service.store, self.sla, now)[3]

    def trend_svg(self, now: int) -> str:
        """Triggers fired per hour over the last 24 h, weak signals (P1) in orange, P0 in red."""
        hours = [[0, 0] for _ in range(24)]
        for t in self.history(now, days=1):
            slot = 23 - (now - t["fired_ms"]) // HOUR_MS
            if 0 <= slot < 24:
                hours[slot][0 if t["level"] == "P0" else 1] += 1
        top = max((p0 + p1 for p0, p1 in hours), default=0) or 1
        w, h, bar = 480, 80, 18
        parts = [
            f'<svg class="trend" viewBox="0 0 {w} {h + 14}" role="img" aria-label="triggers per hour">'
        ]
        for i, (p0, p1) in enumerate(hours):
            x = i * 20 + 1
            y1 = h - round(h * p1 / top)
            y0 = y1 - round(h * p0 / top)
            if p1:
                parts.append(
                    f'<rect class="weak" x="{x}" y="{y1}" width="{bar}" height="{h - y1}"><title>{p1} weak signal(s)</title></rect>'
                )
            if p0:
                parts.append(
                    f'<rect class="p0" x="{x}" y="{y0}" width="{bar}" height="{y1 - y0}"><title>{p0} P0</title></rect>'
                )
        parts.append(
            f'<text x="0" y="{h + 12}">-24 h</text><text x="{w - 24}" y="{h + 12}">now</text></svg>'
        )
        return "".join(parts)

    def topic_trends(self, now: int, open_triggers: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The day's top topics, counts per hour as a small server-drawn SVG; a topic with an
        open weak-signal (P1) trigger is flagged."""
        engine = self.service.triggers
        trends = getattr(engine, "trends", None)
        if trends is None:
            return []
        _, table = trends.table(now)
        weak = {
            topic
            for t in open_triggers
            if t["kind"] == "WEAK_SIGNAL"
            for topic in (*t.get("topics", ()), t["key"])
        }
        rows = []
        for topic, counts in table.items():
            top = max(counts) or 1
            bars = "".join(
                f'<rect x="{i * 5}" y="{20 - round(20 * c / top)}" width="4" '
                f'height="{round(20 * c / top)}"><title>{c}</title></rect>'
                for i, c in enumerate(counts)
                if c
            )
            flag = topic in weak
            svg = (
                f'<svg class="spark{" weak" if flag else ""}" viewBox="0 0 120 20" '
                f'role="img" aria-label="{html.escape(topic)} per hour">{bars}</svg>'
            )
            rows.append({"topic": topic, "total": sum(counts), "weak": flag, "svg": svg})
        return rows

    def agents(self, now: int) -> list[dict[str, Any]]:
        rows = []
        for key, record in self.service.store.scan("agents", limit=100_000):
            last = record["csat"][-1][0] if record.get("csat") else 0
            rows.append((last, key.decode()))
        rows.sort(reverse=True)
        out = []
        for _, agent_id in rows[: self.params.agents]:
            board = self.service.dashboard(agent_id, 3)
            out.append(
                {
                    "agent_id": agent_id,
                    "csat": {w.window: [w.count, w.average] for w in board.csat},
                    "comments": [mask_pii(c.text)[:140] for c in board.comments],
                }
            )
        return out

    def snapshot(self, now: int, with_agents: bool) -> dict[str, Any]:
        triggers = self.triggers(now)
        state: dict[str, Any] = {
            "now_ms": now,
            "triggers": triggers,
            "topics": self.topic_trends(now, triggers),
            "kpis": self.kpis(now),
            "trend_svg": self.trend_svg(now),
        }
        if with_agents:
            state["agents"] = self.agents(now)
        return state


class Board:
    """The board's HTTP server on a thread of its own; `stop()` ends it."""

    def __init__(
        self,
        params: BoardParams,
        sla: SlaParams,
        service: Any,
        tokens: Callable[[], Sequence[Token]],
    ) -> None:
        """`tokens` returns the server's current tokens (a SIGHUP may have replaced them); none
        at start means auth is off, on the board as on the gRPC port."""
        self.params = params
        self.service = service
        self.state = BoardState(service, params, sla)
        self._all_tokens = tokens
        self._auth = bool(tokens())
        self._changed = threading.Event()
        self.app = Starlette(
            routes=[
                Route("/", self.page),
                Route("/login", self.login, methods=["GET", "POST"]),
                Route("/logout", self.logout, methods=["POST"]),
                Route("/api/state", self.api_state),
                Route("/api/events", self.events),
                Route("/api/triggers/{trigger_id}/{action}", self.act, methods=["POST"]),
            ]
        )
        self.http = HttpThread(self.app, params.listen, "board")
        self.port = self.http.port

    def start(self) -> Board:
        self.http.start()
        return self

    def stop(self) -> None:
        self.http.stop()

    # -- auth --------------------------------------------------------------------------------

    def _tokens(self) -> tuple[Token, ...]:
        return tuple(t for t in self._all_tokens() if BOARD_ROLES & set(t.roles))

    def _allowed(self, request: Request) -> bool:
        if not self._auth:
            return True
        secret = request.cookies.get(COOKIE, "")
        if not secret:
            return False
        digest = _hash(secret)
        found = False
        for token in self._tokens():  # every hash compared: timing tells nothing
            found |= hmac.compare_digest(token.digest, digest)
        return found

    async def login(self, request: Request) -> Response:
        error = ""
        if request.method == "POST":
            form = urllib.parse.parse_qs((await request.body()).decode("utf-8", "replace"))
            secret = (form.get("token") or [""])[0].strip()
            digest = _hash(secret) if secret else b""
            if secret and any(hmac.compare_digest(t.digest, digest) for t in self._tokens()):
                response = RedirectResponse("/", status_code=303)
                response.set_cookie(
                    COOKIE, secret, httponly=True, samesite="strict", max_age=12 * 3600
                )
                return response
            error = "That token is not valid for the board (it needs the ops or admin role)."
        page = _LOGIN.replace("{error}", html.escape(error))
        return HTMLResponse(page, status_code=401 if error else 200)

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    # -- pages and data ----------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        if not self._allowed(request):
            return RedirectResponse("/login", status_code=303)
        return HTMLResponse(_page())

    async def api_state(self, request: Request) -> Response:
        if not self._allowed(request):
            return JSONResponse({"error": "log in first"}, status_code=401)
        snapshot = await asyncio.to_thread(self.state.snapshot, self.service.clock(), True)
        return Response(orjson.dumps(snapshot), media_type="application/json")

    async def events(self, request: Request) -> Response:
        if not self._allowed(request):
            return JSONResponse({"error": "log in first"}, status_code=401)
        return StreamingResponse(
            self._stream(request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _stream(self, request: Request) -> AsyncIterator[bytes]:
        """Pushes a snapshot when the triggers change (checked every half second on the server,
        at once after an action on this board), the agents every ten seconds, and heartbeats."""
        last_digest, last_agents, last_sent = b"", 0.0, time.monotonic()
        while not self.http.stopping:
            if await request.is_disconnected():
                return
            now = time.monotonic()
            with_agents = now - last_agents >= _AGENTS_EVERY_S
            snapshot = await asyncio.to_thread(
                self.state.snapshot, self.service.clock(), with_agents
            )
            body = dict(snapshot)
            body.pop("now_ms")
            digest = hashlib.sha256(orjson.dumps(body.get("triggers"))).digest()
            if digest != last_digest or with_agents:
                last_digest, last_sent = digest, now
                if with_agents:
                    last_agents = now
                yield b"event: state\ndata: " + orjson.dumps(snapshot) + b"\n\n"
            elif now - last_sent >= _HEARTBEAT_S:
                last_sent = now
                yield b": heartbeat\n\n"
            await asyncio.to_thread(self._changed.wait, _PUSH_CHECK_S)

    async def act(self, request: Request) -> Response:
        if not self._allowed(request):
            return JSONResponse({"error": "log in first"}, status_code=401)
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return JSONResponse({"error": "expected application/json"}, status_code=415)
        action = request.path_params["action"]
        if action not in ("ack", "resolve"):
            return JSONResponse({"error": "action: ack or resolve"}, status_code=404)
        try:
            body = orjson.loads(await request.body() or b"{}")
        except orjson.JSONDecodeError:
            return JSONResponse({"error": "body: not JSON"}, status_code=400)
        by = str(body.get("by") or "board").strip()
        try:
            trigger = await asyncio.to_thread(
                self.service.require_triggers().ack,
                request.path_params["trigger_id"],
                by,
                action == "resolve",
            )
        except VocError as exc:
            return JSONResponse({"error": str(exc)}, status_code=http_status(exc))
        self._changed.set()
        self._changed.clear()
        return JSONResponse({"id": trigger["id"], "state": trigger["state"]})


def _page() -> str:
    return resources.files("server").joinpath("board.html").read_text(encoding="utf-8")


_LOGIN = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>vocscore board: log in</title><meta name="viewport" content="width=device-width">
<style>body{font:15px system-ui,sans-serif;margin:4em auto;max-width:28em}
input{font:inherit;width:100%;padding:.4em;margin:.4em 0}.error{color:#b00}</style></head>
<body><h1>vocscore board</h1><p class="error">{error}</p>
<form method="post" action="/login"><label>Token (ops or admin role)
<input type="password" name="token" autofocus autocomplete="current-password"></label>
<button type="submit">Log in</button></form></body></html>"""
