"""Response deadlines for triggers and who is next when one is missed ([sla]).

Defaults follow the seeds: a red trigger (a P0, or any trigger about a VVIP customer) is answered
within 2 hours; other triggers (weak signals, product issues) within 48 hours. A trigger still OPEN
(not acknowledged) past its deadline is overdue: the board shows it in red, and delivery notifies
the owner's routes again and the next owner's (``[sla.escalate_to]``, e.g. tech-oncall -> cto).

The matrix is severity (P0 / P1 / P2) x customer tier (red: a VVIP among the trigger's
customers) x owner: ``[sla.owners.<owner>]`` overrides any of the deadline keys for one owner
(product-eng answering product bugs within 48 h, the contact-center supervisor within 8 h, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from server.config import ConfigError

_KEYS = (
    "respond_p0_s",
    "respond_p1_s",
    "respond_p2_s",
    "respond_red_s",
    "resolve_p0_s",
    "resolve_p1_s",
    "resolve_p2_s",
    "resolve_red_s",
)


@dataclass(frozen=True, slots=True)
class SlaParams:
    respond_p0_s: int = 7200
    respond_p1_s: int = 172_800
    respond_p2_s: int = 604_800
    respond_red_s: int = 7200  # any trigger with a VVIP customer among its samples
    resolve_p0_s: int = 86_400  # closure deadlines, for the KPIs' on-time closure
    resolve_p1_s: int = 172_800  # product issues closed within 48 h
    resolve_p2_s: int = 1_209_600
    resolve_red_s: int = 86_400
    escalate_to: Mapping[str, str] = field(default_factory=dict)
    owners: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # per-owner overrides

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> SlaParams:
        unknown = set(section) - {*_KEYS, "escalate_to", "owners"}
        if unknown:
            raise ConfigError(f"[sla]: unknown key(s) {sorted(unknown)}")
        _check_deadlines("[sla]", section)
        escalate = section.get("escalate_to", {})
        if not isinstance(escalate, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in escalate.items()
        ):
            raise ConfigError("[sla.escalate_to]: expected a table of owner -> next owner")
        owners = section.get("owners", {})
        if not isinstance(owners, Mapping):
            raise ConfigError("[sla.owners]: expected tables [sla.owners.<owner>]")
        for owner, table in owners.items():
            where = f"[sla.owners.{owner}]"
            if not isinstance(table, Mapping) or set(table) - set(_KEYS):
                raise ConfigError(f"{where}: expected deadline keys only ({', '.join(_KEYS)})")
            _check_deadlines(where, table)
        return cls(
            **{k: section[k] for k in _KEYS if k in section},
            escalate_to=dict(escalate),
            owners={str(k): dict(v) for k, v in owners.items()},
        )

    def respond_ms(self, trigger: Mapping[str, Any], red: bool = False) -> int:
        """The trigger's response deadline, in ms after it fired."""
        return self._deadline_ms("respond", trigger, red)

    def resolve_ms(self, trigger: Mapping[str, Any], red: bool = False) -> int:
        """The trigger's resolution deadline, in ms after it fired."""
        return self._deadline_ms("resolve", trigger, red)

    def _deadline_ms(self, kind: str, trigger: Mapping[str, Any], red: bool) -> int:
        level = trigger["level"]
        name = f"{kind}_{level.lower()}_s" if level in ("P0", "P1") else f"{kind}_p2_s"
        own = self.owners.get(trigger.get("owner", ""), {})
        seconds = own.get(name, getattr(self, name))
        if red:
            seconds = min(seconds, own.get(f"{kind}_red_s", getattr(self, f"{kind}_red_s")))
        return seconds * 1000

    def overdue(self, trigger: Mapping[str, Any], now_ms: int, red: bool = False) -> bool:
        return trigger["state"] == "OPEN" and now_ms > trigger["fired_ms"] + self.respond_ms(
            trigger, red
        )


def is_red(store: Any, trigger: Mapping[str, Any]) -> bool:
    """A VVIP customer among the trigger's sample customers (their CRM tier in the store)."""
    customers = [c.encode() for c in trigger.get("customers", ()) if c]
    if not customers:
        return False
    return any(p and p.get("tier") == "VVIP" for p in store.get_many("customers", customers))


def _check_deadlines(where: str, table: Mapping[str, Any]) -> None:
    for name in _KEYS:
        value = table.get(name, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where} {name}: expected a whole number of seconds >= 1")
