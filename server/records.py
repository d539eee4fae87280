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
Live store (server/store.py LiveStore, not synced, shared by the processes of a host):
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
    `lease` is the wall-clock ms until which a writer holds it (0: free)."""
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
    }
