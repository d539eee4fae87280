"""Customer signals for the trend counters, off the request path: queued (bounded) and sent in
batches by one thread; a clean stop sends what is queued before the process exits.

Delivery is at least once: a batch whose send raised after the owner applied it (the reply
lost, a timeout) is sent again, and the owner, which keeps no batch ids, counts it twice. The
trend counters are rates over minutes; a retried batch can only raise them, by that batch."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
S = TypeVar("S")
RETRY_S = 0.2  # the owner is restarting: try the batch again this soon


class SignalQueue(Generic[S]):
    """Signals in the order they were put, sent `batch` at a time by `send` (which raises to
    have the batch sent again), each batch at most `linger_s` after its first signal. At `capacity` the oldest signal is dropped and counted: a slow
    or absent owner costs trend counts, never a request's latency or the worker's memory."""

    def __init__(
        self,
        send: Callable[[list[S]], None],
        *,
        capacity: int = 20_000,
        batch: int = 512,
        linger_s: float = 0.05,
        name: str = "signals",
    ) -> None:
        self._send = send
        self._capacity = capacity
        self._batch = batch
        self._linger_s = linger_s
        self._items: deque[S] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._stopping = False
        self._in_flight = 0
        self.dropped = 0  # at capacity
        self.lost = 0  # at stop, the owner unreachable
        self.sent = 0
        self._deadline = 0.0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, signal: S) -> None:
        with self._cond:
            if len(self._items) >= self._capacity:
                self._items.popleft()
                self.dropped += 1
                if self.dropped & (self.dropped - 1) == 0:  # 1, 2, 4, ...: logged, not flooded
                    log.warning("signal queue full: %d trend signals dropped", self.dropped)
            self._items.append(signal)
            # the first signal wakes the sender; a full batch ends its linger
            if len(self._items) in (1, self._batch):
                self._cond.notify()

    def __len__(self) -> int:
        return len(self._items) + self._in_flight

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._stopping:
                    self._cond.wait()
                if not self._items:
                    return
                if len(self._items) < self._batch and not self._stopping:
                    # one call per batch, not per signal: let a few more arrive
                    self._cond.wait(self._linger_s)
                batch = [self._items.popleft() for _ in range(min(self._batch, len(self._items)))]
                self._in_flight = len(batch)
            while True:
                try:
                    self._send(batch)
                    self.sent += len(batch)
                    break
                except Exception as exc:  # noqa: BLE001 - kept and sent again
                    if self._stopping and self._give_up():
                        self.lost = len(self)
                        log.error("%d trend signals not delivered at stop: %s", self.lost, exc)
                        with self._cond:
                            self._items.clear()
                            self._in_flight = 0
                        return
                    log.debug("sending %d signals failed, retrying: %s", len(batch), exc)
                    time.sleep(RETRY_S)
            with self._cond:
                self._in_flight = 0
                self._cond.notify_all()

    def _give_up(self) -> bool:
        return time.monotonic() > self._deadline

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Sends every queued signal (for at most `timeout_s`); True when none was lost."""
        self._deadline = time.monotonic() + timeout_s
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout_s + 1.0)
        return not self._thread.is_alive() and not self.lost
