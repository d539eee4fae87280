"""Holds many open, mostly idle live-call streams and trigger watchers, as a contact-center floor does.

One asyncio thread drives every stream (grpc.aio), so a test or benchmark can keep thousands open
without a thread each on the client side. Each live-call stream sends one customer utterance, reads
its score, and then stays open and silent until `close()`; each watcher waits for triggers.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import grpc
from grpc import aio

from clients.pb import voc_pb2, voc_pb2_grpc

OPENING = "你好，我的快递一周了还没到"
OPEN_AT_ONCE = 200


@dataclass
class HeldStreams:
    """What the holder saw: streams opened and answered, and status codes of those that ended."""

    live_open: int = 0
    watch_open: int = 0
    ended: dict[str, int] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)

    def end(self, code: grpc.StatusCode, details: str) -> None:
        self.ended[code.name] = self.ended.get(code.name, 0) + 1
        if len(self.details) < 20:
            self.details.append(f"{code.name}: {details}")


_LOOP: asyncio.AbstractEventLoop | None = None
_LOOP_LOCK = threading.Lock()


def _shared_loop() -> asyncio.AbstractEventLoop:
    """One event loop thread per process for every holder: grpc.aio binds its completion queue to
    the first loop it runs on, so a second loop after the first one closed would never be woken."""
    global _LOOP
    with _LOOP_LOCK:
        if _LOOP is None:
            _LOOP = asyncio.new_event_loop()
            threading.Thread(target=_LOOP.run_forever, name="idle-streams", daemon=True).start()
        return _LOOP


class IdleStreams:
    """Opens `live` StreamInteraction and `watch` WatchTriggers streams on `target`; `close()` ends
    them. `channels` spreads the streams over that many connections (a gateway uses a few)."""

    def __init__(
        self,
        target: str,
        *,
        live: int = 0,
        watch: int = 0,
        channels: int = 4,
        metadata: Sequence[tuple[str, str]] = (),
        prefix: str = "idle",
        open_timeout_s: float = 60.0,
    ) -> None:
        self.target = target
        self.live = live
        self.watch = watch
        self.channels = max(1, channels)
        self.metadata = tuple(metadata)
        self.prefix = prefix
        self.open_timeout_s = open_timeout_s
        self.held = HeldStreams()
        self._loop = _shared_loop()
        self._open_called = False
        self._stop: asyncio.Event | None = None
        self._opening = asyncio.Semaphore(OPEN_AT_ONCE)
        self._tasks: list[asyncio.Task] = []
        self._channels: list[aio.Channel] = []

    def __enter__(self) -> IdleStreams:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> HeldStreams:
        """Opens every stream and returns once each has answered (or failed)."""
        self._open_called = True
        future = asyncio.run_coroutine_threadsafe(self._open(), self._loop)
        future.result(self.open_timeout_s + 30)
        return self.held

    def close(self) -> None:
        if not self._open_called:
            return
        self._open_called = False
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(120)

    async def _open(self) -> None:
        self._stop = asyncio.Event()
        self._channels = [aio.insecure_channel(self.target) for _ in range(self.channels)]
        await asyncio.wait_for(
            asyncio.gather(*(ch.channel_ready() for ch in self._channels)), self.open_timeout_s
        )
        stubs = [voc_pb2_grpc.VocStub(ch) for ch in self._channels]
        ready = asyncio.Semaphore(0)
        # a floor's calls arrive over time, not all in the same millisecond
        self._opening = asyncio.Semaphore(OPEN_AT_ONCE)
        for i in range(self.live):
            stub = stubs[i % len(stubs)]
            self._tasks.append(asyncio.create_task(self._live_call(stub, i, ready)))
        for i in range(self.watch):
            stub = stubs[i % len(stubs)]
            self._tasks.append(asyncio.create_task(self._watcher(stub, ready)))
        deadline = asyncio.get_running_loop().time() + self.open_timeout_s
        for _ in range(len(self._tasks)):
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                await asyncio.wait_for(ready.acquire(), max(remaining, 0.01))
            except TimeoutError:
                break

    async def _live_call(
        self, stub: voc_pb2_grpc.VocStub, i: int, ready: asyncio.Semaphore
    ) -> None:
        await self._opening.acquire()
        call = stub.StreamInteraction(metadata=self.metadata)
        answered = False
        try:
            await call.write(
                voc_pb2.Utterance(
                    interaction_id=f"{self.prefix}-{i}",
                    customer_id=f"{self.prefix}-C{i % 500}",
                    agent_id=f"A{i % 100:03d}",
                    speaker=voc_pb2.CUSTOMER,
                    channel=voc_pb2.VOICE,
                    text=OPENING,
                )
            )
            await call.read()
            self._opening.release()
            answered = True
            self.held.live_open += 1
            ready.release()
            assert self._stop is not None
            await self._stop.wait()
            await call.done_writing()
            async for _ in call:
                pass
        except aio.AioRpcError as exc:
            self.held.end(exc.code(), exc.details() or "")
            if not answered:
                self._opening.release()
                ready.release()
        except asyncio.CancelledError:
            call.cancel()
            raise

    async def _watcher(self, stub: voc_pb2_grpc.VocStub, ready: asyncio.Semaphore) -> None:
        call = stub.WatchTriggers(voc_pb2.WatchRequest(), metadata=self.metadata)
        counted = False
        try:
            # a watcher has nothing to read until a trigger fires: wait for the stream's headers
            async with self._opening:
                await call.initial_metadata()
            if call.done():  # refused: the headers came with the status
                self.held.end(await call.code(), await call.details() or "")
                ready.release()
                return
            self.held.watch_open += 1
            counted = True
            ready.release()
            assert self._stop is not None
            stop = asyncio.create_task(self._stop.wait())
            while not stop.done():
                read = asyncio.create_task(call.read())
                done, _ = await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
                if read in done:
                    if read.result() is aio.EOF:
                        break
                else:
                    read.cancel()
            call.cancel()
        except aio.AioRpcError as exc:
            self.held.end(exc.code(), exc.details() or "")
            if not counted:
                ready.release()
        except asyncio.CancelledError:
            call.cancel()
            raise

    async def _close(self) -> None:
        if self._stop is not None:
            self._stop.set()
        if self._tasks:
            done, pending = await asyncio.wait(self._tasks, timeout=60)
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for channel in self._channels:
            await channel.close()


def main(argv: list[str] | None = None) -> int:
    """`python -m clients.idle_streams --target HOST:PORT --live N --watch W`: opens the streams,
    prints one JSON line when they are open, holds them until stdin closes, prints how they ended."""
    import argparse
    import json
    import sys

    parser = argparse.ArgumentParser(prog="python -m clients.idle_streams")
    parser.add_argument("--target", required=True)
    parser.add_argument("--live", type=int, default=0)
    parser.add_argument("--watch", type=int, default=0)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--prefix", default="idle")
    args = parser.parse_args(argv)
    holder = IdleStreams(
        args.target,
        live=args.live,
        watch=args.watch,
        channels=args.channels,
        prefix=args.prefix,
    )
    held = holder.open()
    print(json.dumps({"open": True, **vars(held)}), flush=True)
    sys.stdin.read()
    holder.close()
    print(json.dumps({"open": False, **vars(holder.held)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
