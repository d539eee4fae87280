"""Cluster mode on Redis ([cluster] redis_url): the live interactions of every node in one Redis,
so the utterances of a call may arrive through any node (DESIGN.md "State and scale").

Imported only when a cluster is configured; `make run` needs no Redis. One key per interaction
(orjson, as the embedded table stores it) expiring `expire_s` after its last update, and a
sorted set of the ids by expiry that counts and lists them. Every update is optimistic: it
reads the records (MGET), and one Lua script writes the changes only if those records are
still as read, so two round trips; when another process or node wrote one first, the update
runs again. Redis unreachable: the call answers UNAVAILABLE (server/errors.py).

One life per call across nodes: the node that writes a call's part (written out, or ended) puts
the interaction record under voc:done:<id> for [store] idempotency_days, and every node merges
the next part over that record: a call ended on one node is refused on every node, an End
retried on another node returns its summary, and End on node B of a call written out on node A
sums both parts. The profile event of each part goes to the store of the node that wrote it
(profiles are per node so far). Limit: a node that dies between its store commit and sharing
the record leaves the cluster's summary without that part.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from server.config import Config, ConfigError, build_section
from server.errors import Unavailable
from server.interactions import InteractionLimits
from server.state import KEEP

LIVE_PREFIX = b"voc:live:"  # + interaction id: the live record
LIVE_INDEX = b"voc:live"  # sorted set: interaction id -> its key's expiry (wall-clock ms)
DONE_PREFIX = b"voc:done:"  # + interaction id: its record (written parts, ended), for retain_s


@dataclass(frozen=True, slots=True)
class ClusterParams:
    """[cluster]: the Redis every node of the service shares ("" = no cluster)."""

    redis_url: str = ""
    timeout_s: float = 2.0

    @classmethod
    def from_config(cls, cfg: Config) -> ClusterParams:
        params = build_section("cluster", cls, cfg.cluster)
        if params.timeout_s <= 0:
            raise ConfigError("[cluster] timeout_s: must be more than 0 seconds")
        return params


def connect(params: ClusterParams) -> redis.Redis:
    """A client of the cluster's Redis (a thread-safe pool; hiredis parses when installed)."""
    try:
        return redis.Redis.from_url(
            params.redis_url,
            socket_timeout=params.timeout_s,
            socket_connect_timeout=params.timeout_s,
        )
    except ValueError as exc:
        raise ConfigError(f"[cluster] redis_url: {exc}") from None


def live_expiry_s(cfg: Config) -> float:
    """How long a live record outlives its last update: twice the [live] idle time, plus a
    sweep, so a node's sweeper writes an idle call to the profile well before Redis drops it;
    the expiry only frees calls every node forgot (all of them stopped with no drain)."""
    limits = build_section(
        "live",
        InteractionLimits,
        {k: v for k, v in cfg.live.items() if k in InteractionLimits.__slots__},
    )
    return 2 * limits.idle_s + limits.sweep_s


class RedisLiveTable:
    """LiveTable (server/state.py) in Redis, shared by every process of every node."""

    # a stopping node leaves the live calls to the others (its keeper does not write them out)
    drain_at_stop = False

    def __init__(
        self, client: redis.Redis, *, expire_s: float, where: str = "", retain_s: float = 30 * 86400
    ) -> None:
        self.redis = client
        self.expire_ms = max(1, int(expire_s * 1000))
        self.retain_ms = max(1, int(retain_s * 1000))
        self.where = where or _describe(client)
        self._commit = client.register_script(_COMMIT)

    @classmethod
    def from_config(cls, cfg: Config) -> RedisLiveTable | None:
        """The cluster's table when [cluster] redis_url is set, else None (embedded)."""
        params = ClusterParams.from_config(cfg)
        if not params.redis_url:
            return None
        retain_s = cfg.store.idempotency_days * 86400.0  # as the node's own interaction records
        return cls(connect(params), expire_s=live_expiry_s(cfg), retain_s=retain_s)

    @contextlib.contextmanager
    def _reachable(self) -> Iterator[None]:
        try:
            yield
        # unreachable, timed out, loading its data set (BusyLoadingError is a ConnectionError),
        # or a replica that just became read-only in a failover: not available now
        except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError) as exc:
            raise Unavailable(
                f"cluster: Redis at {self.where} did not answer ({exc}); live interactions are "
                "held there, so this call cannot be taken now: retry when Redis is back"
            ) from None
        except redis.ResponseError as exc:
            if "OOM " not in str(exc):  # at the start, or inside a script's error
                raise
            raise Unavailable(
                f"cluster: Redis at {self.where} is out of memory (maxmemory) and refuses "
                "writes; live interactions cannot be updated until it has room: raise its "
                "maxmemory or free keys, then retry"
            ) from None

    def written(self, interaction_ids: list[str]) -> list[dict[str, Any] | None]:
        """The interaction records (written parts, ended) any node shared, None where none."""
        if not interaction_ids:
            return []
        with self._reachable():
            raws = self.redis.mget([DONE_PREFIX + iid.encode() for iid in interaction_ids])
        return [None if raw is None else orjson.loads(raw) for raw in raws]

    def share_written(self, written: dict[str, dict[str, Any]]) -> None:
        """Shares the interaction records a node just committed, for every node."""
        with self._reachable():
            pipe = self.redis.pipeline(transaction=False)
            for iid, record in written.items():
                pipe.set(DONE_PREFIX + iid.encode(), orjson.dumps(record), px=self.retain_ms)
            pipe.execute()

    def close(self) -> None:
        """Closes the connections (a later call opens them again)."""
        self.redis.connection_pool.disconnect()

    def get(self, interaction_id: str) -> dict[str, Any] | None:
        with self._reachable():
            raw = self.redis.get(_key(interaction_id.encode()))
        return None if raw is None else orjson.loads(raw)

    def update(self, interaction_id: str, step: Callable[[dict | None], tuple[Any, Any]]) -> Any:
        return self.update_many([interaction_id], lambda _iid, record: step(record))[0]

    def update_many(
        self, interaction_ids: list[str], step: Callable[[str, dict | None], tuple[Any, Any]]
    ) -> list[Any]:
        """Reads the records at once, runs `step` on each, and commits what changed in one
        script unless one of them changed meanwhile: then everything runs again on the new
        records. An exception of `step` leaves every record as it was."""
        ids = [iid.encode() for iid in interaction_ids]
        keys = [_key(i) for i in ids]
        with self._reachable():
            while True:
                raws = self.redis.mget(keys) if keys else []
                results, writes = [], {}
                for iid, raw in zip(ids, raws, strict=True):
                    record, result = step(iid.decode(), orjson.loads(raw) if raw else None)
                    if record is None:
                        if raw is not None:
                            writes[iid] = b""
                    elif record is not KEEP:
                        writes[iid] = orjson.dumps(record)
                    results.append(result)
                if not writes or self._commit_if_unchanged(keys, raws, writes):
                    return results

    def _commit_if_unchanged(
        self, keys: list[bytes], raws: list[bytes | None], writes: dict[bytes, bytes]
    ) -> bool:
        expire_at_ms = _wall_ms() + self.expire_ms
        args: list[Any] = [
            expire_at_ms, len(keys), self.expire_ms, *(raw or b"" for raw in raws)
        ]  # fmt: skip
        for iid, raw in writes.items():
            args += [raw, iid]
        return bool(self._commit(keys=[LIVE_INDEX, *keys, *map(_key, writes)], args=args))

    def records(self) -> list[tuple[str, dict[str, Any]]]:
        now = _wall_ms()
        with self._reachable():
            self.redis.zremrangebyscore(LIVE_INDEX, "-inf", now)
            ids = self.redis.zrangebyscore(LIVE_INDEX, now, "+inf")
            raws = self.redis.mget([_key(i) for i in ids]) if ids else []
        found = zip(ids, raws, strict=True)
        return [(i.decode(), orjson.loads(raw)) for i, raw in found if raw is not None]

    def __len__(self) -> int:
        with self._reachable():
            return int(self.redis.zcount(LIVE_INDEX, f"({_wall_ms()}", "+inf"))


# Commits an update if every record it read is still as read (compare and set): KEYS = the
# index, the keys read, the keys written; ARGV = expiry (wall-clock ms, the index's score), how
# many were read, the time to live in ms (relative PX: PXAT needs Redis 6.2), the raw records
# read ("" = absent), then per key written its new raw record ("" = delete) and its id.
_COMMIT = """
local nread = tonumber(ARGV[2])
for i = 1, nread do
  if (redis.call('GET', KEYS[1 + i]) or '') ~= ARGV[3 + i] then return 0 end
end
for i = 2 + nread, #KEYS do
  local at = 4 + nread + 2 * (i - 2 - nread)
  if ARGV[at] == '' then
    redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[1], ARGV[at + 1])
  else
    redis.call('SET', KEYS[i], ARGV[at], 'PX', ARGV[3])
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[at + 1])
  end
end
return 1
"""


def _key(interaction_id: bytes) -> bytes:
    return LIVE_PREFIX + interaction_id


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _describe(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return str(kwargs["path"])
    return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
