"""Cluster mode on Redis ([cluster] redis_url): the live interactions of every node in one Redis,
so the utterances of a call may arrive through any node (DESIGN.md "State and scale").

Imported only when a cluster is configured; `make run` needs no Redis. One key per interaction
(orjson, as the embedded table stores it) expiring `expire_s` after its last update, and a
sorted set of the ids by expiry that counts and lists them. Every update is optimistic: it
reads the records, and one Lua script writes the changes only if those records are still as
read (two round trips); when another process or node wrote one first, the update runs again. Redis unreachable: the call answers UNAVAILABLE (server/errors.py).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import redis
from redis.commands.core import Script

from server.config import Config, ConfigError, build_section
from server.errors import Unavailable
from server.interactions import InteractionLimits

LIVE_PREFIX = b"voc:live:"  # + interaction id: the live record
LIVE_INDEX = b"voc:live"  # sorted set: interaction id -> its key's expiry (wall-clock ms)


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

    def __init__(self, client: redis.Redis, *, expire_s: float, where: str = "") -> None:
        self.redis = client
        self.expire_ms = max(1, int(expire_s * 1000))
        self.where = where or _describe(client)
        self._commit = client.register_script(_COMMIT)

    @classmethod
    def from_config(cls, cfg: Config) -> RedisLiveTable | None:
        """The cluster's table when [cluster] redis_url is set, else None (embedded)."""
        params = ClusterParams.from_config(cfg)
        if not params.redis_url:
            return None
        return cls(connect(params), expire_s=live_expiry_s(cfg))

    @contextlib.contextmanager
    def _reachable(self) -> Iterator[None]:
        try:
            yield
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise Unavailable(
                f"cluster: Redis at {self.where} did not answer ({exc}); live interactions are "
                "held there, so this call cannot be taken now: retry when Redis is back"
            ) from None

    def get(self, interaction_id: str) -> dict[str, Any] | None:
        with self._reachable():
            raw = self.redis.get(_key(interaction_id.encode()))
        return None if raw is None else orjson.loads(raw)

    def update(self, interaction_id: str, step: Callable[[dict | None], tuple[Any, Any]]) -> Any:
        key = interaction_id.encode()

        def work(tx: _RedisTxn) -> Any:
            record, result = step(tx.get("live", key))
            if record is None:
                tx.delete("live", key)
            else:
                tx.put("live", key, record)
            return result

        return self.update_many(work)

    def update_many(self, step: Callable[[Any], Any]) -> Any:
        """Runs `step` on a transaction over the "live" records (get, put, delete by
        records.live_key) and commits what it wrote in one script, unless a record it read
        changed meanwhile: then `step` runs again on the new records. Exceptions of `step`
        leave everything as it was."""
        with self._reachable():
            while True:
                tx = _RedisTxn(self.redis)
                result = step(tx)
                if not tx.writes or tx.commit(self._commit, _wall_ms() + self.expire_ms):
                    return result

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


# Commits a transaction if every record it read is still as read (compare and set):
# KEYS = index, the keys read, the keys written; ARGV = expiry ms, how many were read, the raw
# records read ("" = absent), then per key written its new raw record ("" = delete) and its id.
_COMMIT = """
local nread = tonumber(ARGV[2])
for i = 1, nread do
  if (redis.call('GET', KEYS[1 + i]) or '') ~= ARGV[2 + i] then return 0 end
end
for i = 2 + nread, #KEYS do
  local at = 3 + nread + 2 * (i - 2 - nread)
  if ARGV[at] == '' then
    redis.call('DEL', KEYS[i])
    redis.call('ZREM', KEYS[1], ARGV[at + 1])
  else
    redis.call('SET', KEYS[i], ARGV[at], 'PXAT', ARGV[1])
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[at + 1])
  end
end
return 1
"""


class _RedisTxn:
    """The WriteTxn subset live updates use: reads go to Redis at once and are remembered,
    writes wait for the commit."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self.read: dict[bytes, bytes] = {}  # interaction id -> raw record read (b"" = absent)
        self.writes: dict[bytes, Any] = {}  # interaction id -> record, None = delete

    def get(self, db: str, key: bytes) -> Any | None:
        _only_live(db)
        if key in self.writes:
            return self.writes[key]
        raw = self.redis.get(_key(key)) or b""
        self.read.setdefault(key, raw)
        return orjson.loads(raw) if raw else None

    def put(self, db: str, key: bytes, value: Any) -> None:
        _only_live(db)
        self.writes[key] = value

    def delete(self, db: str, key: bytes) -> None:
        _only_live(db)
        self.writes[key] = None

    def commit(self, script: Script, expire_at_ms: int) -> bool:
        """False when a record read has changed since (nothing written)."""
        keys = [LIVE_INDEX, *map(_key, self.read), *map(_key, self.writes)]
        args: list[Any] = [expire_at_ms, len(self.read), *self.read.values()]
        for key, record in self.writes.items():
            args += [b"" if record is None else orjson.dumps(record), key]
        return bool(script(keys=keys, args=args))


def _only_live(db: str) -> None:
    if db != "live":
        raise ValueError(f"the Redis live table holds only live records, not {db!r}")


def _key(interaction_id: bytes) -> bytes:
    return LIVE_PREFIX + interaction_id


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _describe(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return str(kwargs["path"])
    return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
