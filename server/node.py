"""The server processes of one node: each records the lexicon version it serves in the shared
store, and a reload over RPC reaches every process before it answers."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from typing import Any

from server import records
from server.engine import Engine, Scoring
from server.errors import FailedPrecondition, Unavailable
from server.store import Store, WriteTxn

log = logging.getLogger(__name__)
RELOAD_SIGNAL = signal.SIGUSR1  # supervisor -> every child: reload the lexicons now
RELOAD_WAIT_S = 60.0


class Node:
    """One process's view of its node: its role ("single", "worker" or "owner"), the versions
    its sibling processes serve, and lexicon reloads that reach all of them.

    With several processes, the one that takes the reload RPC bumps the node's reload counter
    in the store, asks the supervisor (its parent) to pass the reload to every child, loads the
    files itself meanwhile, and answers once every process recorded that counter with the same
    version. A broken file fails in every process alike: each keeps the version it serves.
    """

    def __init__(
        self,
        store: Store,
        engine: Engine,
        role: str,
        clock: Callable[[], int],
        *,
        siblings: Callable[[], list[int]] | None = None,
    ) -> None:
        self.store = store
        self.engine = engine
        self.role = role
        self.clock = clock
        self._siblings = siblings or (lambda: [os.getpid()])
        self._taken = 0  # the reload counter of the last RPC this process took

    def pids(self) -> list[int]:
        """Every server process of the node (this one included)."""
        return sorted(self._siblings()) if self.role != "single" else [os.getpid()]

    def record(self, seq: int, error: str = "") -> None:
        """Writes what this process serves now, as of the node's reload counter `seq`."""
        state = records.process_state(
            os.getpid(), self.role, self.engine.current.lexicon.version, seq, self.clock(), error
        )
        alive = {records.process_key(pid) for pid in self.pids()}
        end = records.PROCESS[:-1] + bytes([records.PROCESS[-1] + 1])
        gone = [k for k, _ in self.store.scan("meta", records.PROCESS, end) if k not in alive]

        def work(tx: WriteTxn) -> None:
            for key in gone:  # processes of earlier runs, or restarted since
                tx.delete("meta", key)
            tx.put("meta", records.process_key(os.getpid()), state)

        self.store.write(work)

    def processes(self) -> list[dict[str, Any]]:
        """The recorded state of every live process of the node (a starting one may lack one)."""
        pids = self.pids()
        found = self.store.get_many("meta", [records.process_key(pid) for pid in pids])
        return [state for state in found if state is not None]

    def reload(self, wait_s: float = RELOAD_WAIT_S) -> Scoring:
        """The reload RPC: every process serves the new version when this returns."""
        seq = self.store.write(lambda tx: tx.incr(records.RELOAD_COUNTER))
        if self.role != "single":
            self._taken = seq
            os.kill(os.getppid(), RELOAD_SIGNAL)  # the others load while this one does
        try:
            fresh = self.engine.reload()  # a LexiconError leaves this process as it was
        except ValueError as exc:
            self.record(seq, str(exc))
            raise
        self.record(seq)
        if self.role == "single":
            return fresh
        deadline = time.monotonic() + wait_s
        while True:
            pids = self.pids()
            states = {s["pid"]: s for s in self.processes()}
            pending = [pid for pid in pids if states.get(pid, {}).get("seq", -1) < seq]
            if not pending:
                break
            if time.monotonic() > deadline:
                raise Unavailable(
                    f"lexicon reload: processes {pending} did not confirm within {wait_s:.0f} s; "
                    "the others serve " + fresh.lexicon.version
                )
            time.sleep(0.02)
        version = fresh.lexicon.version
        other = [s for s in states.values() if s["version"] != version or s.get("error")]
        if other:
            raise FailedPrecondition(
                "lexicon reload: "
                + "; ".join(
                    f"pid {s['pid']} serves {s['version']}: {s.get('error')}" for s in other
                )
                + f" (this process serves {version}; fix the files and reload)"
            )
        return fresh

    def follow_reload(self, *, force: bool) -> None:
        """A reload signal: loads the files again unless this process already recorded the
        node's latest counter (it took the RPC); `force` (SIGHUP) always reloads."""
        seq = self.store.counter(records.RELOAD_COUNTER)
        mine = self.store.get("meta", records.process_key(os.getpid()))
        if not force and (seq <= self._taken or (mine is not None and mine["seq"] >= seq)):
            return
        try:
            self.engine.reload()
        except ValueError as exc:
            log.error("lexicon reload failed, keeping the current version: %s", exc)
            self.record(seq, str(exc))
            return
        self.record(seq)
