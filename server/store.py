"""The one module that owns LMDB: customers, agents, idempotency keys, reports journal, triggers."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import lmdb
import orjson

from server.errors import StoreFullError, StoreUnavailableError
from server.records import SCHEMA_VERSION  # the store's schema (the records' shapes)

log = logging.getLogger(__name__)

DATABASES = ("customers", "agents", "idem", "reports", "triggers", "meta", "outbox")
LIVE_DATABASES = ("live", "meta")  # the live store: running state of live interactions
MAX_KEY_BYTES = 511  # LMDB's key limit (Environment.max_key_size() of the default build)
# Ids become keys behind at most this many bytes of prefix (the reports journal's big-endian
# time; "i:", "r:", "f:" are shorter), so an id of MAX_ID_BYTES in UTF-8 fits every key.
KEY_PREFIX_BYTES = 8
MAX_ID_BYTES = MAX_KEY_BYTES - KEY_PREFIX_BYTES
_MAX_MAP_BYTES = 1 << 40
T = TypeVar("T")


class _ResizeGate:
    """Many readers at once, or one map resize with no transaction open in this process.

    A waiting resize stops new readers from entering, so a busy read load cannot starve it.
    """

    __slots__ = ("_cond", "_readers", "_resizing")

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._resizing = False

    def enter(self) -> None:
        with self._cond:
            while self._resizing:
                self._cond.wait()
            self._readers += 1

    def leave(self) -> None:
        with self._cond:
            self._readers -= 1
            if self._readers == 0 and self._resizing:  # only a resize waits for none
                self._cond.notify_all()

    def exclusive(self, action: Callable[[], None]) -> None:
        with self._cond:
            self._resizing = True
            try:
                while self._readers:
                    self._cond.wait()
                action()
            finally:
                self._resizing = False
                self._cond.notify_all()


Change = tuple[str, bytes, bytes | None]  # (sub-database, key, value bytes or None: deleted)


class WriteTxn:
    """One write transaction: orjson values by sub-database name, committed as a whole or not at all.

    With `changes`, every put and delete is also appended there (for Store's on_commit)."""

    __slots__ = ("_txn", "_dbs", "_changes")

    def __init__(
        self, txn: lmdb.Transaction, dbs: dict[str, Any], changes: list[Change] | None = None
    ) -> None:
        self._txn = txn
        self._dbs = dbs
        self._changes = changes

    def get(self, db: str, key: bytes) -> Any | None:
        raw = self._txn.get(key, db=self._dbs[db])
        return None if raw is None else orjson.loads(raw)

    def put(self, db: str, key: bytes, value: Any, *, overwrite: bool = True) -> bool:
        raw = orjson.dumps(value)
        done = self._txn.put(key, raw, db=self._dbs[db], overwrite=overwrite)
        if done and self._changes is not None:
            self._changes.append((db, key, raw))
        return done

    def delete(self, db: str, key: bytes) -> bool:
        done = self._txn.delete(key, db=self._dbs[db])
        if done and self._changes is not None:
            self._changes.append((db, key, None))
        return done

    def incr(self, counter: str, by: int = 1) -> int:
        key = counter.encode()
        raw = self._txn.get(key, db=self._dbs["meta"])
        value = (int(raw) if raw is not None else 0) + by
        self._txn.put(key, str(value).encode(), db=self._dbs["meta"])
        if self._changes is not None:
            self._changes.append(("meta", key, str(value).encode()))
        return value

    def cursor(self, db: str) -> lmdb.Cursor:
        return self._txn.cursor(db=self._dbs[db])


class Store:
    """An LMDB environment with named sub-databases; open once per process, after any fork."""

    def __init__(
        self,
        path: str | Path,
        *,
        map_size_mb: int = 1024,
        max_readers: int = 1024,
        sync: bool = True,
        max_map_size_mb: int = 0,
        databases: tuple[str, ...] = DATABASES,
        writemap: bool = False,
        on_commit: Callable[[list[Change]], None] | None = None,
    ) -> None:
        """`on_commit` gets the puts and deletes of each committed write, in commit order,
        before `write` returns (a cluster publishes them to the other nodes' read models)."""
        self.path = Path(path)
        self.max_map_bytes = min(max_map_size_mb << 20, _MAX_MAP_BYTES) or _MAX_MAP_BYTES
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            if not os.access(self.path, os.W_OK):
                raise PermissionError(f"{self.path}: not writable")
            self._env = lmdb.open(
                str(self.path),
                map_size=min(map_size_mb << 20, self.max_map_bytes),
                max_dbs=len(databases) + 2,
                max_readers=max_readers,
                max_spare_txns=64,
                readahead=False,
                sync=sync,
                metasync=sync,
                writemap=writemap,
            )
        except (OSError, lmdb.Error) as exc:
            raise StoreUnavailableError(f"cannot open store at {self.path}: {exc}") from exc
        stale = self._env.reader_check()
        if stale:
            log.warning("cleared %d stale LMDB reader slots", stale)
        self._dbs = {name: self._env.open_db(name.encode()) for name in databases}
        self._gate = _ResizeGate()
        self._write_lock = threading.Lock()
        self._max_readers = max_readers
        self._on_commit = on_commit
        self._live: Store | None = None
        self._ensure_schema()

    # -- reads -----------------------------------------------------------------------------

    def get(self, db: str, key: bytes) -> Any | None:
        """One value, decoded; None when absent."""
        gate = self._gate
        gate.enter()
        try:
            with self._env.begin(db=self._dbs[db], buffers=True) as txn:
                raw = txn.get(key)
                return None if raw is None else orjson.loads(raw)
        finally:
            gate.leave()

    def get_many(self, db: str, keys: list[bytes]) -> list[Any | None]:
        gate = self._gate
        gate.enter()
        try:
            with self._env.begin(db=self._dbs[db], buffers=True) as txn:
                out = []
                for key in keys:
                    raw = txn.get(key)
                    out.append(None if raw is None else orjson.loads(raw))
                return out
        finally:
            gate.leave()

    def scan(
        self,
        db: str,
        start: bytes = b"",
        stop: bytes | None = None,
        *,
        reverse: bool = False,
        limit: int = 1000,
    ) -> list[tuple[bytes, Any]]:
        """Up to `limit` items with start <= key < stop, in key order or reversed; one snapshot."""
        out: list[tuple[bytes, Any]] = []
        gate = self._gate
        gate.enter()
        try:
            with self._env.begin(db=self._dbs[db]) as txn:
                cur = txn.cursor()
                if reverse:
                    ok = cur.last() if stop is None else cur.set_range(stop)
                    if stop is not None:
                        ok = cur.prev() if ok else cur.last()
                    while ok and len(out) < limit:
                        key = cur.key()
                        if key < start:
                            break
                        out.append((key, orjson.loads(cur.value())))
                        ok = cur.prev()
                else:
                    ok = cur.set_range(start)
                    while ok and len(out) < limit:
                        key = cur.key()
                        if stop is not None and key >= stop:
                            break
                        out.append((key, orjson.loads(cur.value())))
                        ok = cur.next()
        finally:
            gate.leave()
        return out

    def counter(self, name: str) -> int:
        gate = self._gate
        gate.enter()
        try:
            with self._env.begin(db=self._dbs["meta"]) as txn:
                raw = txn.get(name.encode())
                return int(raw) if raw is not None else 0
        finally:
            gate.leave()

    def entries(self, db: str) -> int:
        gate = self._gate
        gate.enter()
        try:
            with self._env.begin() as txn:
                return txn.stat(self._dbs[db])["entries"]
        finally:
            gate.leave()

    def usage(self) -> tuple[int, int]:
        """(bytes in use, current map size)."""
        info = self._env.info()
        return (info["last_pgno"] + 1) * self._env.stat()["psize"], info["map_size"]

    # -- writes ----------------------------------------------------------------------------

    def write(self, work: Callable[[WriteTxn], T]) -> T:
        """Runs `work` in one write transaction and commits it before returning.

        `work` may run more than once (after the map grows), so it must touch nothing but the
        transaction. A full map is grown (doubled) and the work retried; a full disk raises
        StoreFullError and leaves the store as it was.
        """
        with self._write_lock:
            for _ in range(8):
                adopt = False
                changes: list[Change] | None = [] if self._on_commit is not None else None
                self._gate.enter()
                try:
                    with self._env.begin(write=True) as txn:
                        result = work(WriteTxn(txn, self._dbs, changes))
                    if changes:
                        self._on_commit(changes)  # type: ignore[misc]
                    return result
                except lmdb.MapFullError:
                    pass
                except lmdb.MapResizedError:
                    adopt = True
                except (lmdb.DiskError, OSError) as exc:
                    raise StoreFullError(f"store at {self.path}: write failed: {exc}") from exc
                finally:
                    self._gate.leave()
                if adopt:
                    # another process grew the map: take its size
                    self._gate.exclusive(lambda: self._env.set_mapsize(0))
                else:
                    self._grow()
            raise StoreFullError(
                f"store at {self.path}: map could not be grown enough for one transaction"
            )

    def _grow(self) -> None:
        current = self._env.info()["map_size"]
        if current >= self.max_map_bytes:
            raise StoreFullError(
                f"store at {self.path} is full: its map is at the {current >> 20} MiB limit "
                "(raise [store] max_map_size_mb or free disk); reads go on"
            )
        new = min(current * 2, self.max_map_bytes)
        log.warning("store map full at %d MiB, growing to %d MiB", current >> 20, new >> 20)
        self._gate.exclusive(lambda: self._env.set_mapsize(new))

    def _ensure_schema(self) -> None:
        def check(tx: WriteTxn) -> int:
            meta = tx.get("meta", b"schema")
            if meta is None:
                tx.put("meta", b"schema", {"v": SCHEMA_VERSION})
                return SCHEMA_VERSION
            return int(meta["v"])

        version = self.write(check)
        if version > SCHEMA_VERSION:
            raise StoreUnavailableError(
                f"store at {self.path} has schema {version}; this server knows {SCHEMA_VERSION}"
            )

    def live(self) -> Store:
        """The live store beside this one, opened on first use and closed with it: a second
        environment in its folder, shared by the processes of the host like the store, and
        never synced (it holds state that lives for the length of a call; a clean stop writes
        it into the store). Written through a writable memory map: no page copy per update."""
        with self._write_lock:
            if self._live is None:
                self._live = Store(
                    self.path / "live",
                    map_size_mb=256,
                    max_readers=self._max_readers,
                    sync=False,
                    databases=LIVE_DATABASES,
                    writemap=True,
                )
            return self._live

    def sync(self) -> None:
        self._env.sync(True)

    def close(self) -> None:
        if self._live is not None:
            self._live.close()
        self._env.close()
