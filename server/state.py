"""The state of the service, behind three interfaces: profile records, live interactions and
triggers. Each has its embedded implementation (one host, any number of worker processes):

  Records        server/store.py Store: LMDB, shared by the processes of the host
  LiveTable      server/interactions.py EmbeddedLiveTable: the live store beside it, or with
                 [cluster] server/cluster.py RedisLiveTable (every node's calls in one Redis)
  Triggers       server/triggers.py TriggerEngine, in the trigger owner (or the only process);
  TriggerSignals the workers' server/workers.py RemoteTriggers (batched signals to the owner)

Domain code (cards, feedback, interactions, reports) sees only these, so a cluster
implementation on Redis goes beside them (DESIGN.md "State and scale"): records keep the local
LMDB as read model and publish each commit's changes (Store on_commit) to a write log the other
nodes apply; live records are one Redis string key per interaction with expiry, updated by a
Lua compare-and-set (server/cluster.py, done); signals and reports go to a stream read by one
elected trigger leader. Key prefixes and record shapes: server/records.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

from server.hub import Subscription
from server.store import WriteTxn
from server.trigger_rules import ReportIn, ReportOutcome, TriggerParams

T = TypeVar("T")


class _Keep:
    """A LiveTable step's answer for "leave this record as it is"."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


class Records(Protocol):
    """Profiles, agents, idempotency keys, the reports journal and triggers, by sub-database
    and key (server/records.py). Every acknowledged write is committed before `write` returns."""

    def get(self, db: str, key: bytes) -> Any | None: ...

    def get_many(self, db: str, keys: list[bytes]) -> list[Any | None]: ...

    def scan(
        self,
        db: str,
        start: bytes = b"",
        stop: bytes | None = None,
        *,
        reverse: bool = False,
        limit: int = 1000,
    ) -> list[tuple[bytes, Any]]: ...

    def write(self, work: Callable[[WriteTxn], T]) -> T:
        """Runs `work` in one transaction and commits it; `work` may run more than once."""
        ...


class LiveTable(Protocol):
    """Where the running state of live interactions lives, shared by every process that may
    take an utterance: one record per interaction id (records.live_record shape).

    `update_many` is the one write: for each id it runs `step(id, record)` on the current
    record (None when absent) and stores the record `step` returns (None deletes, KEEP leaves
    the record as it is), all ids atomically
    against every other update of any process; `step` may run more than once and must touch
    nothing else. The embedded table is LMDB beside the store (one host); the cluster's table
    (server/cluster.py) is one Redis string key per interaction with expiry, read with MGET and
    written by a Lua script only if the records are still as read (compare-and-set). A table
    shared by several nodes also has `written(ids)` and `share_written({id: record})`: the
    interaction records of the cluster (server/interactions.py Interactions._stored).
    """

    def get(self, interaction_id: str) -> dict[str, Any] | None: ...

    def update(self, interaction_id: str, step: Callable[[dict | None], tuple[Any, Any]]) -> Any:
        """`step(record) -> (new record or None, result)`; returns the result."""
        ...

    def update_many(
        self, interaction_ids: list[str], step: Callable[[str, dict | None], tuple[Any, Any]]
    ) -> list[Any]:
        """`step(id, record) -> (new record, result)` per id; returns the results in order."""
        ...

    def records(self) -> list[tuple[str, dict[str, Any]]]: ...

    def __len__(self) -> int: ...


class TriggerSignals(Protocol):
    """What every server process needs of the triggers: count customer signals, show open
    incidents on cards. The TriggerEngine does it in process; a worker's stand-in
    (server/workers.py RemoteTriggers) sends the signals to the owner and reads incidents from
    the store; a cluster implementation would append to a shared log."""

    params: TriggerParams

    def observe(
        self,
        topics: list[str] | tuple[str, ...],
        combos: list[str] | tuple[str, ...],
        ts_ms: int,
        customer_id: str = "",
        now_ms: int | None = None,
    ) -> list[dict[str, Any]]:
        """Counts one customer signal; the P1 triggers it fired, when known at once."""
        ...

    def incidents_for(self, topics: list[str]) -> list[dict[str, Any]]: ...

    def end_streams(self) -> None:
        """Ends the trigger streams of this process now (at the start of a stop)."""
        ...

    def stop(self, timeout_s: float = 0.0) -> None:
        """After the last call: delivers what is queued (nothing counted is lost)."""
        ...


class Triggers(TriggerSignals, Protocol):
    """The whole trigger state: reports and their windows, acks, the audit list and the push
    streams. One owner per node (TriggerEngine); the others reach it over the Owner API."""

    def report(self, r: ReportIn) -> ReportOutcome: ...

    def ack(self, trigger_id: str, by: str, resolve: bool) -> dict[str, Any]: ...

    def list(
        self, state: str = "", since_ms: int = 0, limit: int = 100
    ) -> list[dict[str, Any]]: ...

    def subscribe(self, min_level: str = "") -> Subscription: ...

    def follow(self, sub: Subscription, since_ms: int = 0) -> Iterator[dict[str, Any] | None]: ...
