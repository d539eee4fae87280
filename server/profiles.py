"""Customer profiles: the record's shape, its bounded event history, CRM upserts and their checks."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from server import records
from server.errors import InvalidArgument
from server.store import MAX_ID_BYTES, Store, WriteTxn

TIERS = ("STANDARD", "VIP", "VVIP")
LOCALES = ("zh", "en")
DAY_MS = 86_400_000
MAX_ATTRIBUTES = 32
MAX_ATTRIBUTE_CHARS = 256
MAX_NAME_CHARS = 128
FUTURE_SLACK_MS = 5 * 60_000  # how far ahead of ours a caller's clock may be
# Names and attribute keys are printed on agents' screens and terminals: no C0 or C1 controls
# (ESC opens terminal escape sequences), no DEL, no line or paragraph separators, and none of
# the bidi marks, embeddings, overrides and isolates that reorder what the agent reads.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


@dataclass(frozen=True, slots=True)
class ProfileIn:
    """A CRM profile as the CRM sends it (tier, name, preferred locale, free attributes)."""

    customer_id: str
    tier: str
    name: str = ""
    locale: str = ""
    attributes: Mapping[str, str] = field(default_factory=dict)


def check_event_time(ts_ms: int, now_ms: int) -> int:
    """An event's time: 0 means now; clocks may drift a little ahead, never further."""
    ts = ts_ms or now_ms
    if ts < 0 or ts > now_ms + FUTURE_SLACK_MS:
        raise InvalidArgument("ts_ms", "is in the future")
    return ts


def check_id(field_name: str, value: str, max_chars: int, *, required: bool = True) -> str:
    """Ids are trimmed, non-empty when required, printable, at most max_chars long and at most
    MAX_ID_BYTES in UTF-8 (they become store keys)."""
    value = value.strip()
    if not value:
        if required:
            raise InvalidArgument(field_name, "is required")
        return value
    if len(value) > max_chars:
        raise InvalidArgument(field_name, f"longer than {max_chars} characters")
    if len(value.encode()) > MAX_ID_BYTES:  # ids are store keys: LMDB counts bytes
        raise InvalidArgument(field_name, f"longer than {MAX_ID_BYTES} bytes in UTF-8")
    if not value.isprintable():
        raise InvalidArgument(field_name, "contains control characters")
    return value


def check_no_controls(field_name: str, value: str) -> None:
    """Raises InvalidArgument naming the field when the text holds a control character."""
    if _CONTROLS.search(value) is not None:
        raise InvalidArgument(field_name, "contains control characters")


def check_profile(profile: ProfileIn, max_id_chars: int = 128) -> ProfileIn:
    """Validates one CRM profile; raises InvalidArgument naming the field."""
    cid = check_id("customer_id", profile.customer_id, max_id_chars)
    tier = profile.tier.strip().upper()
    if tier not in TIERS:
        raise InvalidArgument("tier", f"must be one of {', '.join(TIERS)}, got {profile.tier!r}")
    if len(profile.name) > MAX_NAME_CHARS:
        raise InvalidArgument("name", f"longer than {MAX_NAME_CHARS} characters")
    check_no_controls("name", profile.name)
    locale = profile.locale.strip().lower()
    if locale and locale not in LOCALES:
        raise InvalidArgument("locale", f"must be zh or en, got {profile.locale!r}")
    if len(profile.attributes) > MAX_ATTRIBUTES:
        raise InvalidArgument("attributes", f"more than {MAX_ATTRIBUTES} entries")
    for key, value in profile.attributes.items():
        if not key or len(key) > 64 or len(str(value)) > MAX_ATTRIBUTE_CHARS:
            raise InvalidArgument(f"attributes[{key!r}]", "empty key or value too long")
        check_no_controls(f"attributes[{ascii(key)}]", key)
    return ProfileIn(cid, tier, profile.name.strip(), locale, dict(profile.attributes))


new_profile = records.profile_record  # a customer first heard of (the shape is in records)


def load_for_update(tx: WriteTxn, customer_id: str, now_ms: int) -> dict[str, Any]:
    """The customer's record inside a write transaction, created if this is the first we hear."""
    key = records.customer_key(customer_id)
    return tx.get("customers", key) or records.profile_record(customer_id, now_ms)


def add_event(
    profile: dict[str, Any],
    event: dict[str, Any],
    *,
    now_ms: int,
    history_days: int,
    max_events: int,
) -> None:
    """Appends an event in time order and drops what is older than history_days or over the cap."""
    events: list[dict[str, Any]] = profile["events"]
    events.append(event)
    if len(events) > 1 and events[-2]["t"] > event["t"]:
        events.sort(key=lambda e: e["t"])
    horizon = now_ms - history_days * DAY_MS
    drop = 0
    while drop < len(events) and events[drop]["t"] < horizon:
        drop += 1
    excess = len(events) - drop - max_events
    if excess > 0:
        drop += excess
    if drop:
        del events[:drop]
    profile["updated_ms"] = now_ms


def put_profile(tx: WriteTxn, profile: dict[str, Any]) -> None:
    tx.put("customers", records.customer_key(profile["id"]), profile)


def upsert_profiles(store: Store, profiles: Iterable[ProfileIn], now_ms: int) -> int:
    """Writes already-checked CRM profiles in one transaction; keeps each customer's history."""
    batch = list(profiles)

    def work(tx: WriteTxn) -> int:
        for p in batch:
            record = load_for_update(tx, p.customer_id, now_ms)
            record["tier"] = p.tier
            if p.name:
                record["name"] = p.name
            if p.locale:
                record["locale"] = p.locale
            if p.attributes:
                record["attrs"] = {**record["attrs"], **p.attributes}
            record["updated_ms"] = now_ms
            put_profile(tx, record)
        return len(batch)

    return store.write(work)


def nps_category(score: int | None) -> str:
    if score is None:
        return "UNKNOWN"
    if score <= 6:
        return "DETRACTOR"
    if score <= 8:
        return "PASSIVE"
    return "PROMOTER"
