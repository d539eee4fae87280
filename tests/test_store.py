"""The LMDB store: atomic writes, growth instead of MapFull, schema checks, stale readers."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from server.errors import StoreUnavailableError
from server.store import Store


def test_write_is_atomic(tmp_path: Path) -> None:
    store = Store(tmp_path, map_size_mb=4)

    def work(tx):
        tx.put("customers", b"c1", {"v": 1})
        raise RuntimeError("half-way")

    with pytest.raises(RuntimeError):
        store.write(work)
    assert store.get("customers", b"c1") is None
    store.write(lambda tx: tx.put("customers", b"c1", {"v": 1, "n": "x"}))
    assert store.get("customers", b"c1") == {"v": 1, "n": "x"}
    store.close()


def test_map_grows_instead_of_failing(tmp_path: Path) -> None:
    store = Store(tmp_path, map_size_mb=1, sync=False)
    blob = "x" * 4000
    for i in range(0, 2000, 100):
        store.write(
            lambda tx, i=i: [
                tx.put("customers", f"c{j}".encode(), {"b": blob}) for j in range(i, i + 100)
            ]
        )
    assert store.entries("customers") == 2000
    assert store.usage()[1] > 1 << 20
    store.close()


def test_growth_while_readers_run(tmp_path: Path) -> None:
    store = Store(tmp_path, map_size_mb=1, sync=False)
    store.write(lambda tx: tx.put("customers", b"hot", {"n": 1}))
    stop = threading.Event()
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not stop.is_set():
                assert store.get("customers", b"hot") == {"n": 1}
                time.sleep(0.0002)  # let the writer have the GIL on a busy machine
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    blob = "y" * 30000
    try:
        for i in range(100):
            store.write(lambda tx, i=i: tx.put("customers", f"k{i}".encode(), {"b": blob}))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors
    assert store.entries("customers") == 101
    store.close()


def test_scan_ranges_and_reverse(tmp_path: Path) -> None:
    store = Store(tmp_path, map_size_mb=4)
    store.write(lambda tx: [tx.put("reports", f"{i:03d}".encode(), i) for i in range(20)])
    assert [v for _, v in store.scan("reports", b"005", b"009")] == [5, 6, 7, 8]
    assert [v for _, v in store.scan("reports", b"005", b"009", reverse=True)] == [8, 7, 6, 5]
    assert [v for _, v in store.scan("reports", reverse=True, limit=3)] == [19, 18, 17]
    store.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path, map_size_mb=4)
    store.write(lambda tx: tx.put("meta", b"schema", {"v": 99}))
    store.close()
    with pytest.raises(StoreUnavailableError, match="schema 99"):
        Store(tmp_path, map_size_mb=4)


def test_unwritable_path_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnavailableError, match="cannot open store"):
        Store(blocker / "store")
