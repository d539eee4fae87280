"""Fan-out of fired triggers to watchers: one bounded queue each; a full queue drops its watcher."""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

from server.errors import ResourceExhausted, Unavailable

log = logging.getLogger(__name__)
_OPEN, _DROPPED, _CLOSED = "open", "dropped", "closed"
# A watcher's RPC closes its subscription when it ends, so the idle poll is only a safety net: a
# 1 s poll woke 500 idle watchers at once every second and held cards and health up ~100 ms
# (bench/RESULTS.md, streams); the long, jittered wait spreads the wake-ups over minutes.
IDLE_POLL_S = 300.0


class Subscription:
    """One watcher's queue. Publishing never waits: when the queue is full the watcher is
    dropped (its stream ends with RESOURCE_EXHAUSTED) and may reconnect with since_ms."""

    __slots__ = ("max_rank", "_capacity", "_cond", "_items", "_state", "_hub")

    def __init__(self, hub: Hub, max_rank: int, capacity: int) -> None:
        self.max_rank = max_rank
        self._capacity = capacity
        self._cond = threading.Condition(threading.Lock())
        self._items: deque[dict[str, Any]] = deque()
        self._state = _OPEN
        self._hub = hub

    def offer(self, trigger: dict[str, Any]) -> bool:
        """Queues a trigger; False (and the watcher is dropped) when its queue is full."""
        with self._cond:
            if self._state != _OPEN:
                return True
            if len(self._items) >= self._capacity:
                self._state = _DROPPED
                self._items.clear()
                self._cond.notify_all()
                return False
            self._items.append(trigger)
            self._cond.notify_all()
            return True

    def stream(self, poll_s: float = IDLE_POLL_S) -> Iterator[dict[str, Any] | None]:
        """Triggers as they arrive, and None every `poll_s` without one (so the caller can check
        its connection); ends when closed; raises ResourceExhausted once dropped."""
        while True:
            with self._cond:
                if not self._items and self._state == _OPEN:
                    self._cond.wait(poll_s * random.uniform(0.5, 1.0))
                if self._state == _DROPPED:
                    raise ResourceExhausted(
                        "watcher too slow: trigger queue full; reconnect with since_ms"
                    )
                if self._state == _CLOSED:
                    return
                item = self._items.popleft() if self._items else None
            yield item

    def close(self) -> None:
        """Ends the stream; safe from any thread (e.g. the RPC's termination callback)."""
        with self._cond:
            if self._state == _OPEN:
                self._state = _CLOSED
            self._items.clear()
            self._cond.notify_all()
        self._hub.unsubscribe(self)


class Hub:
    """Many watchers, publishers that never block; the subscriber list is copy-on-write."""

    def __init__(self, *, capacity: int = 256, max_subscribers: int = 32) -> None:
        self._capacity = capacity
        self._max = max_subscribers
        self._lock = threading.Lock()
        self._subs: tuple[Subscription, ...] = ()
        self._closed = False

    def subscribe(self, max_rank: int) -> Subscription:
        with self._lock:
            if self._closed:
                raise Unavailable("server is shutting down")
            if len(self._subs) >= self._max:
                raise ResourceExhausted(f"too many trigger watchers (max {self._max})")
            sub = Subscription(self, max_rank, self._capacity)
            self._subs = (*self._subs, sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs = tuple(s for s in self._subs if s is not sub)

    def publish(self, trigger: dict[str, Any], rank: int) -> None:
        for sub in self._subs:
            if rank <= sub.max_rank and not sub.offer(trigger):
                log.warning("dropped a slow trigger watcher (queue of %d full)", self._capacity)
                self.unsubscribe(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def close(self) -> None:
        """Ends every stream and refuses new ones (graceful shutdown)."""
        with self._lock:
            self._closed = True
            subs = self._subs
        for sub in subs:
            sub.close()
