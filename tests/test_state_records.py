"""The state interfaces in one process: the store's commit feed (the seam of a cluster's write
log), the live table's records, and the process table behind Stats.processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clients.client import VocClient
from server import records
from server.app import build_server
from server.engine import Engine
from server.interactions import Interactions, UtteranceIn
from server.store import Change, Store
from tests.conftest import make_config


def test_on_commit_gets_each_committed_write_and_nothing_of_a_failed_one(tmp_path: Path) -> None:
    feed: list[list[Change]] = []
    store = Store(tmp_path / "s", map_size_mb=1, on_commit=feed.append)
    try:
        feed.clear()  # the schema record of a new store
        store.write(lambda tx: tx.put("customers", b"C1", {"id": "C1"}))
        with pytest.raises(RuntimeError):

            def fails(tx) -> None:
                tx.put("customers", b"C2", {"id": "C2"})
                raise RuntimeError("rolled back")

            store.write(fails)
        # a write larger than the map is retried after the map grows: reported once
        store.write(lambda tx: [tx.put("meta", b"big%d" % i, "x" * 4000) for i in range(600)])
        store.write(lambda tx: tx.delete("customers", b"C1"))
        assert feed[0] == [("customers", b"C1", b'{"id":"C1"}')]
        assert len(feed[1]) == 600 and feed[1][0][:2] == ("meta", b"big0")
        assert feed[2] == [("customers", b"C1", None)]
        assert len(feed) == 3 and store.get("customers", b"C2") is None
    finally:
        store.close()


def test_stats_lists_the_process_and_a_reload_counts(tmp_path: Path) -> None:
    running = build_server(make_config(tmp_path / "store"))
    try:
        with VocClient(f"127.0.0.1:{running.port}", timeout=30) as client:
            before = client.stats().processes
            assert [(p.pid, p.role) for p in before] == [(os.getpid(), "single")]
            version = client.reload_lexicons().version
            after = client.stats().processes
            assert after[0].lexicon_version == version
            assert after[0].reload_seq == before[0].reload_seq + 1
        assert running.store.counter(records.RELOAD_COUNTER) == after[0].reload_seq
    finally:
        running.stop(grace=0.5)


_OTHER_WORKER = """
import sys
from pathlib import Path

from server.engine import Engine
from server.interactions import Interactions, UtteranceIn
from server.store import Store
from tests.conftest import make_config

cfg = make_config(Path(sys.argv[1]))
store = Store(Path(sys.argv[1]))
other = Interactions.from_config(cfg, store, Engine(cfg), clock=lambda: 1_800_000_000_000, keeper=False)
say = "我的快递一周了还没到，太气人了"
again = other.score(UtteranceIn("call-s", "", "A1", "CUSTOMER", "VOICE", say, 1_799_999_995_000))
ended = other.end("call-s")
print(again.live.label, ended.customer_id, ended.summary.customer_utterance_count)
store.close()
"""


def test_live_records_are_shared_through_the_store_folder(tmp_path: Path) -> None:
    """Two Interactions over the same store folder, each in its own process with its own Store
    (as two workers are), see one interaction."""
    import subprocess
    import sys

    cfg = make_config(tmp_path / "store")
    store = Store(tmp_path / "store")
    clock = lambda: 1_800_000_000_000  # noqa: E731
    one = Interactions.from_config(cfg, store, Engine(cfg), clock=clock)
    try:
        say = "我的快递一周了还没到，太气人了"
        one.score(UtteranceIn("call-s", "cs", "A1", "CUSTOMER", "VOICE", say, 1_799_999_990_000))
        assert one.live_emotion("call-s") is not None
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": str(root)}
        done = subprocess.run(
            [sys.executable, "-c", _OTHER_WORKER, str(tmp_path / "store")],
            cwd=root, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        label, customer, customer_utterances = done.stdout.split()
        assert label != "CALM" and customer == "cs" and customer_utterances == "2"
        assert len(one) == 0 and one.live_emotion("call-s") is None
        stored = store.get("idem", records.interaction_key("call-s"))
        assert stored["ended"] is True and stored["customer_utterances"] == 2
    finally:
        store.close()


def test_the_sweep_keeps_the_live_table_below_its_cap(tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "store", live={"max_live": 10, "idle_s": 60.0})
    store = Store(tmp_path / "store")
    now = [1_800_000_000_000]
    live = Interactions.from_config(cfg, store, Engine(cfg), clock=lambda: now[0])
    try:
        for i in range(10):
            now[0] += 1000
            live.score(UtteranceIn(f"sw-{i}", f"swc-{i}", "A1", "CUSTOMER", "CHAT", "快递还没到"))
        assert len(live) == 10 and live.sweep() == 2  # the 2 least recently active
        assert live.live_emotion("sw-0") is None and live.live_emotion("sw-2") is not None
        assert store.get("idem", records.interaction_key("sw-1"))["ended"] is False
        now[0] += 61_000  # all idle
        assert live.sweep() == 8 and len(live) == 0
    finally:
        store.close()


def test_a_part_written_by_a_writer_that_died_is_not_counted_twice(tmp_path: Path) -> None:
    """A process died between writing a live part to the store and dropping it from the live
    table: once its lease expires, the next utterance starts a new part."""
    cfg = make_config(tmp_path / "store")
    store = Store(tmp_path / "store")
    live = Interactions.from_config(cfg, store, Engine(cfg), clock=lambda: 1_800_000_000_000)
    try:
        live.score(UtteranceIn("dead-1", "dc", "A1", "CUSTOMER", "CHAT", "快递还没到"))
        record = live.table.get("dead-1")
        store.write(lambda tx: live._put(tx, "dead-1", record, False))  # written, then it died
        live.table.update("dead-1", lambda r: ({**r, "lease": 1}, None))  # an expired lease
        live.score(UtteranceIn("dead-1", "dc", "A1", "CUSTOMER", "CHAT", "退款还没到账"))
        assert live.end("dead-1").summary.customer_utterance_count == 2
    finally:
        store.close()


def test_a_slow_writer_whose_lease_expired_loses_no_acknowledged_utterance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write-out whose commit outlasts LEASE_MS: an utterance goes on in the same part
    meanwhile; the slow writer must not drop it, and the next write merges it (once)."""
    import threading
    import time

    import server.interactions as si

    monkeypatch.setattr(si, "LEASE_MS", 50)
    cfg = make_config(tmp_path / "store")
    store = Store(tmp_path / "store")
    now = 1_800_000_000_000
    live = Interactions.from_config(cfg, store, Engine(cfg), clock=lambda: now)
    try:
        live.score(UtteranceIn("w1", "c1", "A", "CUSTOMER", "CHAT", "快递还没到", now - 1000))
        write = store.write
        monkeypatch.setattr(store, "write", lambda work: (time.sleep(0.3), write(work))[1])
        slow = threading.Thread(target=live._write_out, args=(["w1"],))
        slow.start()
        time.sleep(0.15)  # the lease has expired, the write is not committed yet
        monkeypatch.setattr(store, "write", write)
        live.score(UtteranceIn("w1", "c1", "A", "CUSTOMER", "CHAT", "退款还没到账", now - 100))
        slow.join()
        assert live.table.get("w1") is not None  # still live: the slow writer did not drop it
        ended = live.end("w1").summary
        assert ended.customer_utterance_count == 2 and ended.utterance_count == 2
        profile = store.get("customers", records.customer_key("c1"))
        assert [e["src"] for e in profile["events"]].count("w1") == 1
    finally:
        store.close()


def test_an_utterance_opening_a_part_while_end_runs_is_refused_and_not_left_live(
    tmp_path: Path,
) -> None:
    """End of a written-out call, and an utterance that read the stored record (not ended yet)
    and opens a new part just as End marks it ended: End returns, the utterance is refused,
    nothing stays live."""
    import threading

    cfg = make_config(tmp_path / "store", live={"idle_s": 1.0})
    store = Store(tmp_path / "store")
    now = [1_800_000_000_000]
    live = Interactions.from_config(cfg, store, Engine(cfg), clock=lambda: now[0])
    try:
        live.score(UtteranceIn("z1", "c1", "A", "CUSTOMER", "CHAT", "快递还没到", now[0] - 1000))
        now[0] += 5000
        assert live.sweep() == 1  # written out, not ended
        in_opened, resume = threading.Event(), threading.Event()
        opened, end_stored = live._opened, live._end_stored
        out: dict[str, object] = {}

        def opened_then_wait(u: UtteranceIn, n: int) -> dict:
            record = opened(u, n)  # the stored record is not ended yet
            in_opened.set()
            resume.wait(5)  # the utterance's live update is still open here
            return record

        def score() -> None:
            try:
                out["score"] = live.score(
                    UtteranceIn("z1", "c1", "A", "CUSTOMER", "CHAT", "退款还没到账", now[0] - 100)
                )
            except Exception as exc:  # noqa: BLE001 - the test looks at it
                out["error"] = exc

        def end_while_opening(iid: str, cid: str):
            scorer.start()
            in_opened.wait(5)
            return end_stored(iid, cid)

        scorer = threading.Thread(target=score)
        live._opened, live._end_stored = opened_then_wait, end_while_opening
        ended = live.end("z1")
        resume.set()
        scorer.join(10)
        live._end_stored = end_stored
        assert ended.summary.customer_utterance_count == 1
        assert "score" not in out and "has ended" in str(out["error"])
        assert live.table.get("z1") is None
        assert live.end("z1").summary.customer_utterance_count == 1
    finally:
        store.close()


def test_a_reload_taken_while_a_process_starts_is_followed_not_recorded_as_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reload counter moves while a process loads its lexicons (another process took a
    reload RPC): the process records the counter read before loading, so the RPC's wait sees
    it pending and its first follow_reload loads the files again."""
    import server.app as app

    opened: list[Store] = []

    class Recorded(Store):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            opened.append(self)

    def engine_then_reload(cfg):  # the lexicons are loaded, then another process reloads
        engine = Engine(cfg)
        opened[0].write(lambda tx: tx.incr(records.RELOAD_COUNTER))
        return engine

    monkeypatch.setattr(app, "Store", Recorded)
    monkeypatch.setattr(app, "Engine", engine_then_reload)
    running = build_server(make_config(tmp_path / "store"))
    try:
        seq = running.store.counter(records.RELOAD_COUNTER)
        assert [p["seq"] for p in running.node.processes()] == [seq - 1]
        running.node.follow_reload(force=False)  # what serve() does once RELOAD_SIGNAL is handled
        assert [p["seq"] for p in running.node.processes()] == [seq]
    finally:
        running.stop(grace=0.5)
