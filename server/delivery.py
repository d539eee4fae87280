"""Delivery of fired triggers to their owners: a durable outbox in the store, retried HTTP posts.

Routes come from ``[[delivery.routes]]`` (``owner``, ``type``, ``url``, optional ``secret`` and
``locale``); a trigger goes to every route of its owner (``owner = "*"`` takes every trigger).
Types follow each receiver's own convention:

- ``webhook``: the trigger as JSON; with a secret, ``X-Voc-Signature-256: sha256=<hex>`` is the
  HMAC-SHA256 of the raw body (GitHub's scheme), ``X-Voc-Delivery`` the trigger id;
- ``wecom`` (企业微信群机器人), ``dingtalk`` (钉钉自定义机器人, signed with ``timestamp`` and
  ``sign`` query parameters when a secret is set), ``feishu`` (飞书自定义机器人, ``timestamp`` and
  ``sign`` in the body), ``slack`` (incoming-webhook JSON, also Mattermost and Rocket.Chat).

Durability: the process that owns the trigger engine scans the committed triggers from a cursor
and writes one outbox record per trigger and route, in one transaction with the cursor, so a
trigger fired before a crash is still delivered after the restart. Each record is posted until
the receiver accepts it (at least once: the trigger id is in every payload, for the receiver to
drop duplicates), retried with exponential backoff and full jitter on timeouts, connection
errors, 408, 429 and 5xx; any other refusal, or `max_attempts`, marks it FAILED with the error.
The outbox record is the delivery state that ListTriggers shows on the trigger.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import random
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from prometheus_client import CollectorRegistry, Counter

from server.config import ConfigError
from server.privacy import mask_pii
from server.sla import SlaParams, is_red
from server.store import SCHEMA_VERSION, Store, WriteTxn
from server.trigger_rules import LEVELS, level_rank, since_key

log = logging.getLogger(__name__)

TYPES = ("webhook", "wecom", "dingtalk", "feishu", "slack")
STATES = ("PENDING", "RETRYING", "DELIVERED", "FAILED")
_CURSOR = b"delivery:cursor"
# a trigger committed with a key just below the cursor (same millisecond, another thread) is
# still picked up: the scan starts this far before the cursor and skips what is queued already
_RESCAN_MS = 60_000
_SNIPPETS = 3
_SNIPPET_CHARS = 120
_RETRY_STATUS = frozenset({408, 425, 429})
_ESCALATE_HORIZON_MS = 30 * 86_400_000


@dataclass(frozen=True, slots=True)
class Route:
    owner: str
    type: str
    url: str
    secret: str = ""
    locale: str = "zh"

    @property
    def name(self) -> str:
        """What logs and ListTriggers show: the owner, type and host, never the url's secrets."""
        return f"{self.owner}:{self.type}:{urllib.parse.urlsplit(self.url).hostname}"


@dataclass(frozen=True, slots=True)
class DeliveryParams:
    routes: tuple[Route, ...] = ()
    board_url: str = ""  # link in every message, e.g. https://voc.example.com/board
    min_level: str = "P1"  # P0 only: "P0"
    timeout_s: float = 5.0
    backoff_s: float = 2.0
    max_backoff_s: float = 300.0
    max_attempts: int = 20
    poll_s: float = 0.2
    escalate_every_s: float = 5.0  # how often overdue triggers are looked for ([sla])

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> DeliveryParams:
        where = "[delivery]"
        known = {"routes", "board_url", "min_level", "timeout_s", "backoff_s", "max_backoff_s"}
        known |= {"max_attempts", "poll_s", "escalate_every_s"}
        unknown = set(section) - known
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}")
        routes = section.get("routes", [])
        if not isinstance(routes, list):
            raise ConfigError(f"{where} routes: expected [[delivery.routes]] tables")
        parsed = tuple(_route(i, r) for i, r in enumerate(routes))
        params = cls(
            routes=parsed,
            board_url=str(section.get("board_url", "")),
            min_level=str(section.get("min_level", "P1")),
            timeout_s=_number(section, "timeout_s", 5.0),
            backoff_s=_number(section, "backoff_s", 2.0),
            max_backoff_s=_number(section, "max_backoff_s", 300.0),
            max_attempts=int(_number(section, "max_attempts", 20)),
            poll_s=_number(section, "poll_s", 0.2),
            escalate_every_s=_number(section, "escalate_every_s", 5.0),
        )
        if params.min_level not in LEVELS:
            raise ConfigError(f"{where} min_level: must be one of {', '.join(LEVELS)}")
        if params.max_attempts < 1:
            raise ConfigError(f"{where} max_attempts: must be at least 1")
        return params


def _number(section: Mapping[str, Any], key: str, default: float) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"[delivery] {key}: expected a positive number")
    return float(value)


def _route(i: int, entry: Any) -> Route:
    where = f"[[delivery.routes]] #{i + 1}"
    if not isinstance(entry, Mapping):
        raise ConfigError(f"{where}: expected a table")
    unknown = set(entry) - {"owner", "type", "url", "secret", "locale"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}")
    owner, kind, url = entry.get("owner"), entry.get("type"), entry.get("url")
    if not isinstance(owner, str) or not owner.strip():
        raise ConfigError(f"{where} owner: expected a team name, or * for every trigger")
    if kind not in TYPES:
        raise ConfigError(f"{where} type: must be one of {', '.join(TYPES)}")
    parts = urllib.parse.urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where} url: expected an http:// or https:// address")
    secret, locale = entry.get("secret", ""), entry.get("locale", "zh")
    if not isinstance(secret, str):
        raise ConfigError(f"{where} secret: expected a string")
    if locale not in ("zh", "en"):
        raise ConfigError(f"{where} locale: must be zh or en")
    return Route(owner.strip(), kind, url, secret, locale)


# -- messages -------------------------------------------------------------------------------


def outbox_key(trigger_id: str, route: int, escalation: bool = False) -> bytes:
    return f"{trigger_id}/{'e' if escalation else ''}{route:03d}".encode()


def message_text(
    trigger: Mapping[str, Any],
    snippets: Sequence[str],
    route: Route,
    board: str,
    escalation: bool = False,
) -> str:
    """The owner's message: level, tag, distinct agents, window, examples, id and board link;
    an escalation (no response by the deadline) says so first."""
    text = _message(trigger, snippets, route, board)
    if escalation:
        text = _TEXTS[route.locale]["overdue"] + text
    return text


# the owner's message, one set of phrases per route locale
_TEXTS = {
    "zh": {
        "AGENT_REPORTS": "{count} 名坐席在 {minutes} 分钟内上报“{key}”",
        "WEAK_SIGNAL": "“{key}”异常增长：{count} 次（{minutes} 分钟窗口）",
        "head": "【{level}】{what}",
        "owner": "负责人：{}",
        "example": "示例：{}",
        "id": "触发 ID：{}",
        "board": "看板：{}",
        "overdue": "【超时未响应，已升级】",
    },
    "en": {
        "AGENT_REPORTS": "{count} agents reported “{key}” within {minutes} min",
        "WEAK_SIGNAL": "“{key}” is growing: {count} in a {minutes} min window",
        "head": "[{level}] {what}",
        "owner": "Owner: {}",
        "example": "Example: {}",
        "id": "Trigger id: {}",
        "board": "Board: {}",
        "overdue": "[OVERDUE, escalated] ",
    },
}


def _message(trigger: Mapping[str, Any], snippets: Sequence[str], route: Route, board: str) -> str:
    texts = _TEXTS[route.locale]
    what = texts["AGENT_REPORTS" if trigger["kind"] == "AGENT_REPORTS" else "WEAK_SIGNAL"].format(
        count=trigger["count"],
        minutes=max(1, round(trigger["window_s"] / 60)),
        key=mask_pii(trigger["key"]),
    )
    lines = [texts["head"].format(level=trigger["level"], what=what)]
    lines.append(texts["owner"].format(trigger["owner"]))
    lines += [texts["example"].format(s) for s in snippets]
    lines.append(texts["id"].format(trigger["id"]))
    if board:
        lines.append(texts["board"].format(board))
    return "\n".join(lines)


def sign(secret: str, body: bytes) -> str:
    """The generic webhook's signature header value: sha256=<hex HMAC-SHA256 of the body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def build_request(
    route: Route, trigger: Mapping[str, Any], text: str, now_ms: int
) -> tuple[str, dict[str, str], bytes]:
    """(url, headers, body) for one route, in its receiver's format."""
    headers = {"Content-Type": "application/json", "X-Voc-Delivery": trigger["id"]}
    url = route.url
    if route.type == "webhook":
        payload: dict[str, Any] = {"trigger": dict(trigger), "text": text}
        payload["trigger"]["key"] = mask_pii(trigger["key"])
        payload["trigger"]["message"] = mask_pii(trigger["message"])
        body = orjson.dumps(payload)
        if route.secret:
            headers["X-Voc-Signature-256"] = sign(route.secret, body)
        return url, headers, body
    if route.type == "wecom":
        payload = {"msgtype": "text", "text": {"content": text}}
    elif route.type == "dingtalk":
        payload = {"msgtype": "text", "text": {"content": text}}
        if route.secret:
            to_sign = f"{now_ms}\n{route.secret}".encode()
            digest = hmac.new(route.secret.encode(), to_sign, hashlib.sha256).digest()
            query = urllib.parse.urlencode(
                {"timestamp": now_ms, "sign": base64.b64encode(digest).decode()}
            )
            url += ("&" if urllib.parse.urlsplit(url).query else "?") + query
    elif route.type == "feishu":
        payload = {"msg_type": "text", "content": {"text": text}}
        if route.secret:
            ts = str(now_ms // 1000)
            key = f"{ts}\n{route.secret}".encode()
            digest = hmac.new(key, b"", hashlib.sha256).digest()
            payload |= {"timestamp": ts, "sign": base64.b64encode(digest).decode()}
    else:  # slack
        payload = {"text": text}
    return url, headers, orjson.dumps(payload)


def accepted(route: Route, response: httpx.Response) -> str:
    """ "" when the receiver took the message, else why not. Robot webhooks answer 200 with an
    error code in the body (errcode for WeCom and DingTalk, code for Feishu)."""
    if route.type in ("wecom", "dingtalk", "feishu"):
        try:
            reply = response.json()
        except ValueError:
            return f"HTTP {response.status_code}: not JSON: {response.text[:120]!r}"
        code = reply.get("errcode", reply.get("code", reply.get("StatusCode", 0)))
        if code:
            return f"{route.type} error {code}: {reply.get('errmsg') or reply.get('msg', '')}"
    return ""


# -- the outbox ------------------------------------------------------------------------------


class Delivery:
    """Moves committed triggers into the outbox and posts due outbox records, on one thread."""

    def __init__(
        self,
        params: DeliveryParams,
        store: Store,
        *,
        sla: SlaParams | None = None,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], int] = lambda: int(time.time() * 1000),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.params = params
        self.store = store
        self.sla = sla or SlaParams()
        self.clock = clock
        self._escalated_at = 0.0
        self._client = httpx.Client(timeout=params.timeout_s, transport=transport)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._rng = random.Random()
        self._sent = Counter(
            "voc_deliveries",
            "Trigger deliveries by route type and outcome (delivered, retry, failed)",
            ("type", "outcome"),
            registry=registry,
        )

    def start(self) -> Delivery:
        self._thread = threading.Thread(target=self._run, name="delivery", daemon=True)
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.enqueue()
                if time.monotonic() - self._escalated_at >= self.params.escalate_every_s:
                    self._escalated_at = time.monotonic()
                    self.escalate()
                self.send_due()
            except Exception:  # the loop must outlive one bad record or a store hiccup
                log.exception("delivery loop failed; retrying")
            self._wake.wait(self.params.poll_s)
            self._wake.clear()

    def enqueue(self) -> int:
        """Outbox records for triggers committed since the cursor; returns how many were added."""
        params = self.params
        max_rank = level_rank(params.min_level)

        def work(tx: WriteTxn) -> int:
            cursor = tx.get("meta", _CURSOR) or {"ms": 0}
            start = since_key(max(0, cursor["ms"] - _RESCAN_MS))
            added, last = 0, cursor["ms"]
            for trigger in _scan(tx, "triggers", start):
                last = max(last, trigger["fired_ms"])
                if level_rank(trigger["level"]) > max_rank:
                    continue
                for i, route in enumerate(params.routes):
                    if route.owner not in ("*", trigger["owner"]):
                        continue
                    okey = outbox_key(trigger["id"], i)
                    if tx.get("outbox", okey) is not None:
                        continue
                    tx.put("outbox", okey, _record(trigger, i, route, self.clock()))
                    added += 1
            if last != cursor["ms"]:
                tx.put("meta", _CURSOR, {"ms": last})
            return added

        return self.store.write(work)

    def escalate(self) -> int:
        """Outbox records for triggers still OPEN past their response deadline: the owner's
        routes again and the next owner's (`[sla.escalate_to]`), once each."""
        params, sla, now = self.params, self.sla, self.clock()
        max_rank = level_rank(params.min_level)
        found = self.store.scan("triggers", since_key(now - _ESCALATE_HORIZON_MS), limit=50_000)
        overdue = []
        for _, t in found:
            if t["state"] != "OPEN" or level_rank(t["level"]) > max_rank:
                continue
            red = t["level"] == "P0" or is_red(self.store, t)
            if sla.overdue(t, now, red):
                overdue.append(t)
        if not overdue:
            return 0

        def work(tx: WriteTxn) -> int:
            added = 0
            for t in overdue:
                owners = {t["owner"], sla.escalate_to.get(t["owner"], t["owner"])}
                for i, route in enumerate(params.routes):
                    if route.owner != "*" and route.owner not in owners:
                        continue
                    okey = outbox_key(t["id"], i, escalation=True)
                    if tx.get("outbox", okey) is None:
                        record = _record(t, i, route, now) | {"escalation": True}
                        if route.owner == "*":
                            record["owner"] = sla.escalate_to.get(t["owner"], t["owner"])
                        tx.put("outbox", okey, record)
                        added += 1
            return added

        added = self.store.write(work)
        if added:
            log.warning("overdue triggers escalated", extra={"deliveries": added})
        return added

    def send_due(self) -> int:
        """Posts every record whose time has come; returns how many were attempted."""
        now = self.clock()
        due = [
            (key, rec)
            for key, rec in self.store.scan("outbox", limit=100_000)
            if rec["state"] in ("PENDING", "RETRYING") and rec["next_ms"] <= now
        ]
        for key, rec in due:
            if self._stop.is_set():
                break
            self._attempt(key, rec)
        return len(due)

    def _attempt(self, key: bytes, rec: dict[str, Any]) -> None:
        params = self.params
        index = rec["route"]
        if index >= len(params.routes) or params.routes[index].name != rec["route_name"]:
            self._save(key, rec | {"state": "FAILED", "last_error": "route no longer configured"})
            return
        route = params.routes[index]
        trigger = self.store.get("triggers", rec["trigger_key"].encode())
        if trigger is None:
            self._save(key, rec | {"state": "FAILED", "last_error": "trigger no longer stored"})
            return
        escalation = bool(rec.get("escalation"))
        text = message_text(trigger, self._snippets(trigger), route, params.board_url, escalation)
        url, headers, body = build_request(route, trigger, text, self.clock())
        retry, error = False, ""
        try:
            response = self._client.post(url, content=body, headers=headers)
            if response.is_success:
                error = accepted(route, response)
                retry = bool(error)  # a robot's error code: rate limits mostly
            else:
                status = response.status_code
                error = f"HTTP {status}: {response.text[:200]}"
                retry = status >= 500 or status in _RETRY_STATUS
        except httpx.TimeoutException:
            error, retry = f"timed out after {params.timeout_s:g} s", True
        except httpx.HTTPError as exc:
            error, retry = f"{type(exc).__name__}: {exc}", True
        attempts = rec["attempts"] + 1
        now = self.clock()
        if not error:
            update = {"state": "DELIVERED", "delivered_ms": now, "last_error": ""}
            outcome = "delivered"
            log.info("trigger delivered", extra={"trigger": rec["trigger_id"], "route": route.name})
        elif retry and attempts < params.max_attempts:
            ceiling = min(params.max_backoff_s, params.backoff_s * 2 ** (attempts - 1))
            delay_ms = int(1000 * ceiling * (0.5 + 0.5 * self._rng.random()))
            update = {"state": "RETRYING", "next_ms": now + delay_ms, "last_error": error}
            outcome = "retry"
            log.warning(
                "trigger delivery failed; retrying",
                extra={"trigger": rec["trigger_id"], "route": route.name, "error": error},
            )
        else:
            update = {"state": "FAILED", "last_error": error}
            outcome = "failed"
            log.error(
                "trigger delivery failed",
                extra={"trigger": rec["trigger_id"], "route": route.name, "error": error},
            )
        self._sent.labels(route.type, outcome).inc()
        self._save(key, rec | update | {"attempts": attempts, "last_ms": now})

    def _save(self, key: bytes, rec: dict[str, Any]) -> None:
        self.store.write(lambda tx: tx.put("outbox", key, rec))

    def _snippets(self, trigger: Mapping[str, Any]) -> list[str]:
        """Notes of the reports behind an agent-report trigger, PII-masked before any cut."""
        if trigger["kind"] != "AGENT_REPORTS":
            return []
        start = max(0, trigger["first_ms"]).to_bytes(8, "big")
        stop = (trigger["fired_ms"] + 1).to_bytes(8, "big")
        out: list[str] = []
        for _, report in self.store.scan("reports", start, stop, reverse=True, limit=2000):
            note = report.get("n", "").strip()
            if report.get("tag") == trigger["key"] and note:
                masked = mask_pii(" ".join(note.split()))
                if masked not in out:
                    out.append(masked[:_SNIPPET_CHARS])
                if len(out) == _SNIPPETS:
                    break
        return out


def _scan(tx: WriteTxn, db: str, start: bytes):
    cur = tx.cursor(db)
    ok = cur.set_range(start)
    while ok:
        yield orjson.loads(cur.value())
        ok = cur.next()


def _record(trigger: Mapping[str, Any], index: int, route: Route, now: int) -> dict[str, Any]:
    return {
        "v": SCHEMA_VERSION,
        "trigger_id": trigger["id"],
        "trigger_key": trigger["id"],
        "route": index,
        "route_name": route.name,
        "owner": route.owner if route.owner != "*" else trigger["owner"],
        "type": route.type,
        "state": "PENDING",
        "attempts": 0,
        "next_ms": now,
        "created_ms": now,
        "last_ms": 0,
        "delivered_ms": 0,
        "last_error": "",
        "escalation": False,
    }


def deliveries_of(store: Store, trigger_id: str) -> list[dict[str, Any]]:
    """The delivery records of one trigger, one per route, for ListTriggers and the board."""
    prefix = f"{trigger_id}/".encode()
    return [rec for _, rec in store.scan("outbox", prefix, prefix + b"\xff", limit=64)]
