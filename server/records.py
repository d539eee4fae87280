"""Every store key and the shape of the records this package owns, in one place: the embedded
store (LMDB) and any other implementation of the state interfaces use these names.

Sub-databases of the store (server/store.py) and their keys:
  customers  customer id                     profile (server/profiles.py)
  agents     agent id                        CSAT history (server/feedback.py)
  idem       "f:" feedback id                feedback idempotency
             "r:" report id                  report idempotency (trigger id it fired)
             "i:" interaction id             interaction record: summary of its written parts
  reports    big-endian ts_ms + report id    reports journal
  triggers   trigger id                      trigger (server/trigger_rules.py)
  meta       "schema"                        {"v": schema version}
             "ep:" episode name              open trigger episode {"id"}
             "proc:" pid                     a server process's lexicon version (process_state)
             counter names                   "feedback", RELOAD_COUNTER
  outbox     (server/delivery.py)            trigger deliveries
Live store (server/store.py Store.live(), a Store beside the main one, not synced, shared by
the processes of a host; with [cluster] the same records are in Redis, server/cluster.py):
  live       interaction id                  running state of a live interaction (live_record)
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 1
FEEDBACK_IDEM = b"f:"
REPORT_IDEM = b"r:"
INTERACTION_IDEM = b"i:"
EPISODE = b"ep:"
EPISODES_END = b"ep;"  # the first key after every "ep:" key
PROCESS = b"proc:"
RELOAD_COUNTER = "reload_seq"


def customer_key(customer_id: str) -> bytes:
    return customer_id.encode()


def trigger_key(trigger_id: str) -> bytes:
    """Trigger ids sort by firing time (trigger_rules.new_trigger_id), so keys do too."""
    return trigger_id.encode()


def since_key(since_ms: int) -> bytes:
    """The first trigger key at or after `since_ms`."""
    return f"T{max(0, since_ms):013d}".encode()


def feedback_idem_key(feedback_id: str) -> bytes:
    return FEEDBACK_IDEM + feedback_id.encode()


def report_idem_key(report_id: str) -> bytes:
    return REPORT_IDEM + report_id.encode()


def interaction_key(interaction_id: str) -> bytes:
    return INTERACTION_IDEM + interaction_id.encode()


def journal_key(ts_ms: int, report_id: str) -> bytes:
    return ts_ms.to_bytes(8, "big") + report_id.encode()


def episode_key(name: str) -> bytes:
    return EPISODE + name.encode()


def profile_record(customer_id: str, now_ms: int) -> dict[str, Any]:
    """A customer first heard of: CRM attributes, latest NPS/CSAT/emotion, bounded events."""
    return {
        "v": SCHEMA_VERSION,
        "id": customer_id,
        "tier": "STANDARD",
        "name": "",
        "locale": "",
        "attrs": {},
        "created_ms": now_ms,
        "updated_ms": now_ms,
        "nps": None,
        "csat": None,
        "emotion": None,
        "events": [],
    }


def report_record(
    report_id: str,
    agent_id: str,
    tag: str,
    customer_id: str,
    interaction_id: str,
    note: str,
    ts_ms: int,
    sent_ms: int,
) -> dict[str, Any]:
    """One report in the journal, counted at `ts_ms`; `sent` keeps a different claimed time."""
    record = {
        "v": SCHEMA_VERSION,
        "id": report_id,
        "a": agent_id,
        "tag": tag,
        "c": customer_id,
        "i": interaction_id,
        "n": note,
        "t": ts_ms,
    }
    if sent_ms != ts_ms:
        record["sent"] = sent_ms  # the time the client claimed, kept for the audit
    return record


def report_idem_record(fingerprint: str, tag: str, trigger_id: str) -> dict[str, Any]:
    """A report id's idempotency record: what was reported and the trigger it fired, if any."""
    return {"v": SCHEMA_VERSION, "fp": fingerprint, "tag": tag, "trigger": trigger_id}


def trigger_record(
    trigger_id: str,
    level: str,
    kind: str,
    key: str,
    count: int,
    window_s: int,
    first_ms: int,
    fired_ms: int,
    owner: str,
    message: str,
    agents: list[str],
    customers: list[str],
    topics: tuple[str, ...],
) -> dict[str, Any]:
    """A fired trigger, OPEN; acks add acked_by/acked_ms, resolving resolved_by/resolved_ms."""
    return {
        "v": SCHEMA_VERSION,
        "id": trigger_id,
        "level": level,
        "kind": kind,
        "key": key,
        "count": int(count),
        "window_s": window_s,
        "first_ms": first_ms,
        "fired_ms": fired_ms,
        "owner": owner,
        "message": message,
        "agents": agents,
        "customers": customers,
        "topics": list(topics),
        "state": "OPEN",
        "acked_by": "",
        "acked_ms": 0,
    }


def interaction_record(
    interaction_id: str,
    customer_id: str,
    agent_id: str,
    at_ms: int,
    topics: list[list[Any]],
    peak: list[Any],
    utterances: int,
    customer_utterances: int,
    escalated: bool,
    last_ms: int,
    ended: bool,
    part: str,
    part_utterances: int = 0,
    base: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The summary of an interaction's written parts: topics [topic, polarity, count, score],
    peak emotion [label, intensity, valence, arousal]; `part` is the last part merged in,
    `part_utterances` how many of its utterances were merged, and `base` the summary of the
    parts before it (the same fields), so a later write of the same part (one that went on
    after a slow writer's lease expired) is merged again over `base` rather than skipped."""
    return {
        "v": SCHEMA_VERSION,
        "id": interaction_id,
        "customer": customer_id,
        "agent": agent_id,
        "at": at_ms,
        "topics": topics,
        "peak": peak,
        "utterances": utterances,
        "customer_utterances": customer_utterances,
        "escalated": escalated,
        "last": last_ms,
        "ended": ended,
        "part": part,
        "pn": part_utterances,
        "base": base,
    }


def process_key(pid: int) -> bytes:
    return PROCESS + str(pid).encode()


def process_state(
    pid: int, role: str, version: str, seq: int, at_ms: int, error: str = ""
) -> dict[str, Any]:
    """What one server process serves: its lexicon version as of the node's reload counter."""
    state = {"v": SCHEMA_VERSION, "pid": pid, "role": role, "version": version, "seq": seq}
    state["at"] = at_ms
    if error:
        state["error"] = error
    return state


def live_key(interaction_id: str) -> bytes:
    return interaction_id.encode()


def live_record(
    customer_id: str, agent_id: str, touched_ms: int, state: list[Any], part: str
) -> dict[str, Any]:
    """A live interaction's running state (server/live.py InteractionState.to_record) with
    what the card and the write-out need; `part` names this live part of the interaction,
    `lease` is the wall-clock ms until which a writer holds it (0: free), `lk` that writer's
    token (a writer whose lease expired must not drop what others scored after it), `n` the
    utterances scored in this part."""
    return {
        "v": SCHEMA_VERSION,
        "c": customer_id,
        "a": agent_id,
        "t": touched_ms,
        "st": state,
        "sn": "",  # the first customer words with a topic, masked, for the profile event
        "cs": False,  # the customer spoke
        "th": "",  # the customer's first escalation threat
        "p": part,
        "lease": 0,
        "lk": "",
        "n": 0,
    }
