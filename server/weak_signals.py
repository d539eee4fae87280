"""Weak signals: trend counters for topics and combinations, and the P1 episode rule."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from kernels import TrendSketch, hash_key, is_anomalous
from server import records
from server.errors import VocError
from server.profiles import FUTURE_SLACK_MS
from server.store import Store, WriteTxn
from server.trigger_rules import SAMPLE, WeakSignalParams

log = logging.getLogger(__name__)


class WeakSignals:
    """The trend sketch and P1 episodes; the trigger engine calls it under its lock.

    `episodes` is the engine's episode table (keys "w:topic:x" / "w:combo:x" here), `make`
    builds a trigger dict and `opened` announces a persisted one.
    """

    def __init__(
        self,
        params: WeakSignalParams,
        store: Store,
        episodes: dict[str, dict[str, Any]],
        make: Callable[..., dict[str, Any]],
        opened: Callable[[dict[str, Any]], None],
    ) -> None:
        self.params = params
        self.store = store
        self.sketch = TrendSketch(params.depth, params.width)
        self._episodes = episodes
        self._make = make
        self._opened = opened
        self._hashes: dict[str, np.uint64] = {}
        self._customers: dict[str, OrderedDict[str, None]] = {}

    def observe(
        self,
        topics: list[str] | tuple[str, ...],
        combos: list[str] | tuple[str, ...],
        ts_ms: int,
        customer_id: str,
        now_ms: int | None,
    ) -> list[dict[str, Any]]:
        wp = self.params
        keys = [("topic", t) for t in dict.fromkeys(topics) if t]
        keys += [("combo", c) for c in dict.fromkeys(combos) if c]
        ts = ts_ms
        if now_ms is not None and not now_ms - wp.bucket_ms <= ts_ms <= now_ms + FUTURE_SLACK_MS:
            ts = now_ms
        bucket = ts // wp.bucket_ms
        fired = []
        for kind, key in keys:
            name = f"{kind}:{key}"
            recent, baseline = self.sketch.add(
                self._hash(name), ts, 1, wp.bucket_ms, wp.horizon_buckets
            )
            if customer_id:
                self._note_customer(name, customer_id)
            if recent < wp.min_count or bucket - int(self.sketch.origin[0]) < wp.warmup_buckets:
                continue
            if not is_anomalous(recent, baseline, wp.min_count, wp.growth_ratio, wp.floor):
                continue
            trigger = self._hot(name, kind, key, recent, baseline, bucket, ts)
            if trigger is not None:
                fired.append(trigger)
        return fired

    def _hot(
        self, name: str, kind: str, key: str, recent: int, baseline: float, bucket: int, ts: int
    ) -> dict[str, Any] | None:
        wp = self.params
        episode_name = "w:" + name
        episode_key = records.episode_key(episode_name)
        episode = self._episodes.get(episode_name)
        try:
            if episode is not None and bucket - episode["hot"] <= wp.rearm_buckets:
                if episode["hot"] < bucket:  # still the same episode: remember it is hot
                    episode = {**episode, "hot": bucket}
                    self.store.write(lambda tx: tx.put("meta", episode_key, episode))
                    self._episodes[episode_name] = episode
                return None
            trigger = self._make(
                "P1",
                "WEAK_SIGNAL",
                key,
                recent,
                wp.bucket_s,
                bucket * wp.bucket_ms,
                ts,
                (key,) if kind == "topic" else (),
                [],
                list(self._customers.get(name, ()))[-SAMPLE:],
                f"{kind} “{key}”: {recent} in {wp.bucket_s} s against a usual "
                f"{baseline:.1f} per {wp.bucket_s} s",
            )
            episode = {"id": trigger["id"], "hot": bucket}

            def work(tx: WriteTxn) -> None:
                tx.put("triggers", records.trigger_key(trigger["id"]), trigger)
                tx.put("meta", episode_key, episode)

            self.store.write(work)
        except VocError as exc:  # the feedback is committed already; a weak signal may wait
            log.warning("weak signal for %s not persisted: %s", name, exc)
            return None
        self._episodes[episode_name] = episode
        self._opened(trigger)
        return trigger

    def _hash(self, name: str) -> np.uint64:
        h = self._hashes.get(name)
        if h is None:
            if len(self._hashes) > 100_000:
                self._hashes.clear()
            h = self._hashes[name] = hash_key(name)
        return h

    def _note_customer(self, name: str, customer_id: str) -> None:
        ids = self._customers.get(name)
        if ids is None:
            if len(self._customers) > 50_000:
                self._customers.clear()
            ids = self._customers[name] = OrderedDict()
        ids.pop(customer_id, None)
        ids[customer_id] = None
        if len(ids) > SAMPLE:
            ids.popitem(last=False)
