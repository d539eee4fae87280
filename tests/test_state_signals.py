"""The queue that carries trend signals off the request path: batched, bounded, flushed."""

from __future__ import annotations

import threading
import time

from server.signals import SignalQueue


def test_signals_arrive_in_order_in_batches_and_the_stop_sends_the_rest() -> None:
    sent: list[list[int]] = []
    release = threading.Event()

    def send(batch: list[int]) -> None:
        release.wait(5)
        sent.append(batch)

    queue: SignalQueue[int] = SignalQueue(send, batch=100, linger_s=0.01)
    for i in range(1000):
        queue.put(i)
    release.set()
    assert queue.stop(5.0)
    assert [i for batch in sent for i in batch] == list(range(1000))
    assert len(sent) < 1000 and max(len(b) for b in sent) <= 100


def test_a_failing_owner_is_retried_until_it_answers() -> None:
    calls: list[list[str]] = []

    def send(batch: list[str]) -> None:
        calls.append(batch)
        if len(calls) < 3:
            raise ConnectionError("owner restarting")

    queue: SignalQueue[str] = SignalQueue(send, linger_s=0.0)
    queue.put("refund.delay")
    assert queue.stop(5.0)
    assert calls == [["refund.delay"]] * 3 and queue.sent == 1


def test_a_full_queue_drops_the_oldest_and_counts_them() -> None:
    blocked = threading.Event()
    sent: list[int] = []

    def send(batch: list[int]) -> None:
        blocked.wait(5)
        sent.extend(batch)

    queue: SignalQueue[int] = SignalQueue(send, capacity=10, batch=1, linger_s=0.0)
    queue.put(-1)  # taken by the sender, which blocks
    while not queue._in_flight:  # the sender holds it
        time.sleep(0.001)
    for i in range(25):
        queue.put(i)
    assert queue.dropped == 15
    blocked.set()
    assert queue.stop(5.0)
    assert sent == [-1, *range(15, 25)]


def test_an_unreachable_owner_at_stop_gives_up_and_reports_the_loss() -> None:
    def send(batch: list[int]) -> None:
        raise ConnectionError("gone")

    queue: SignalQueue[int] = SignalQueue(send, linger_s=0.0)
    for i in range(3):
        queue.put(i)
    assert not queue.stop(0.5)
    assert queue.lost == 3
