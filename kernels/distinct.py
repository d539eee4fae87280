"""Sliding-window distinct-agent counters behind one-click reports and P0 triggers.

Semantics, per key (a small integer slot the server maps a normalised tag to):

* ``t_max`` is the largest event time recorded for the key. The window of a call is the
  half-open interval ``(t_max - window_ms, t_max]``: an event exactly ``window_ms`` older than
  ``t_max`` is already out.
* `DistinctWindows.add` records one report and returns how many distinct agents have at least
  one report inside the window, so one agent counts once however often it clicks.
* Out-of-order reports (``ts < t_max``) inside the window count like any other. A report with
  ``ts <= t_max - window_ms`` is too late: it is ignored, counted in ``late``, and the call
  returns the current count.
* `DistinctWindows.count` answers for ``(now - window_ms, now]`` without recording anything, so
  the count falls as time passes with no reports. A ``now_ms`` earlier than ``t_max`` is read
  as ``t_max`` (the table keeps only each agent's latest report and a window never moves back).
* An agent is forgotten once its latest report leaves the window of an `add` call. The window
  is meant to be constant per key (it comes from config): shrinking it takes effect at the
  next `add`, enlarging it does not bring forgotten agents back.
* Memory is fixed at construction. At most ``agents_per_key`` agents are live per key; a
  report from one more agent while that many are inside the window is dropped and counted in
  ``overflow`` (expired agents are always evicted first, so this means a real flood).

Layout: per key, an open-addressing table (linear probing, power-of-two slots, at most half
full, backward-shift deletion so no tombstones) maps agent -> latest report time, and a binary
min-heap over the occupied slots orders agents by that time. Expiry pops the heap while its
oldest agent is out of the window, so each agent is inserted and evicted once: an event costs
one hash probe plus ``O(log agents_per_key)`` heap steps (at most 12 for 4096), never a scan.
"""

import numpy as np
from numba import njit

from kernels._checks import INT64_MAX, check_array, check_int, check_range

# Columns of a slot record in ``table``.
AGENT = 0
STAMP = 1
HEAP = 2
# Columns of the per-key ``meta`` array; packing the per-key scalars into one array keeps the
# number of arguments, and so the cost of a call from Python, low.
T_MAX = 0
LIVE = 1
OVERFLOW = 2
LATE = 3
_NO_TIME = np.iinfo(np.int64).min
_EMPTY = -1
_MAX_AGENTS_PER_KEY = 1 << 24


@njit(cache=True, nogil=True)
def _home_slot(agent, mask):
    """Home slot of an int64 ``agent`` in a table of ``mask + 1`` slots (Fibonacci hashing)."""
    h = np.uint64(agent) * np.uint64(0x9E3779B97F4A7C15)
    h ^= h >> np.uint64(29)
    return np.int64(h & np.uint64(mask))


@njit(cache=True, nogil=True)
def _find(table, k, agent, mask):
    """Slot of ``agent`` in key ``k``'s table, or ``-(free slot) - 1`` when absent."""
    i = _home_slot(agent, mask)
    while table[k, i, HEAP] != _EMPTY:
        if table[k, i, AGENT] == agent:
            return i
        i = (i + 1) & mask
    return -i - 1


@njit(cache=True, nogil=True)
def _sift_up(table, heap, k, i):
    """Move heap entry ``i`` of key ``k`` towards the root while it is older than its parent."""
    slot = heap[k, i]
    stamp = table[k, slot, STAMP]
    while i > 0:
        parent = (i - 1) >> 1
        up = heap[k, parent]
        if table[k, up, STAMP] <= stamp:
            break
        heap[k, i] = up
        table[k, up, HEAP] = i
        i = parent
    heap[k, i] = slot
    table[k, slot, HEAP] = i


@njit(cache=True, nogil=True)
def _sift_down(table, heap, k, i, size):
    """Move heap entry ``i`` of key ``k`` towards the leaves while a child is older."""
    slot = heap[k, i]
    stamp = table[k, slot, STAMP]
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and (
            table[k, heap[k, child + 1], STAMP] < table[k, heap[k, child], STAMP]
        ):
            child += 1
        down = heap[k, child]
        if table[k, down, STAMP] >= stamp:
            break
        heap[k, i] = down
        table[k, down, HEAP] = i
        i = child
    heap[k, i] = slot
    table[k, slot, HEAP] = i


@njit(cache=True, nogil=True)
def _delete_slot(table, heap, k, hole, mask):
    """Empty ``hole`` (already out of the heap) and shift its probe chain back over it."""
    table[k, hole, HEAP] = _EMPTY
    j = hole
    while True:
        j = (j + 1) & mask
        if table[k, j, HEAP] == _EMPTY:
            return
        home = _home_slot(table[k, j, AGENT], mask)
        # The entry at j may fill the hole only if its home is not cyclically in (hole, j].
        if hole <= j:
            movable = home <= hole or home > j
        else:
            movable = home <= hole and home > j
        if movable:
            table[k, hole, AGENT] = table[k, j, AGENT]
            table[k, hole, STAMP] = table[k, j, STAMP]
            p = table[k, j, HEAP]
            table[k, hole, HEAP] = p
            heap[k, p] = hole
            table[k, j, HEAP] = _EMPTY
            hole = j


@njit(cache=True, nogil=True)
def _expire(table, heap, meta, k, cutoff, mask):
    """Forget every agent of key ``k`` whose latest report is ``<= cutoff``."""
    live = meta[k, LIVE]
    while live > 0:
        oldest = heap[k, 0]
        if table[k, oldest, STAMP] > cutoff:
            break
        live -= 1
        last = heap[k, live]
        heap[k, 0] = last
        table[k, last, HEAP] = 0
        if live > 0:
            _sift_down(table, heap, k, 0, live)
        _delete_slot(table, heap, k, oldest, mask)
    meta[k, LIVE] = live


@njit(cache=True, nogil=True)
def _add(table, heap, meta, k, agent, ts, window):
    """Record one report and return the distinct agents in key ``k``'s window.

    Parameters
    ----------
    table : ndarray of int64, shape (n_keys, n_slots, 3)
        Per slot the agent id, its latest report time (ms) and its heap index (``-1`` for an
        empty slot); ``n_slots`` is a power of two.
    heap : ndarray of int32, shape (n_keys, capacity)
        Min-heap of occupied slots by report time; the first ``meta[k, LIVE]`` are valid and
        ``capacity`` is the most live agents per key.
    meta : ndarray of int64, shape (n_keys, 4)
        Per key ``t_max`` (ms), live agents, overflow and late counters.
    k : int
        Key slot, ``0 <= k < n_keys``.
    agent : int64
        Hashed agent id.
    ts, window : int
        Report time and window length in ms; ``ts >= 0``, ``window > 0``.

    Returns
    -------
    int
        Distinct agents with a report in ``(t_max - window, t_max]`` after this one.
    """
    mask = table.shape[1] - 1
    capacity = heap.shape[1]
    t_max = meta[k, T_MAX]
    if t_max != _NO_TIME and ts <= t_max - window:
        meta[k, LATE] += 1
        _expire(table, heap, meta, k, t_max - window, mask)
        return meta[k, LIVE]
    if ts > t_max:
        t_max = ts
        meta[k, T_MAX] = ts
    _expire(table, heap, meta, k, t_max - window, mask)
    found = _find(table, k, agent, mask)
    live = meta[k, LIVE]
    if found >= 0:
        if ts > table[k, found, STAMP]:
            table[k, found, STAMP] = ts
            _sift_down(table, heap, k, table[k, found, HEAP], live)
    elif live < capacity:
        slot = -found - 1
        table[k, slot, AGENT] = agent
        table[k, slot, STAMP] = ts
        heap[k, live] = slot
        table[k, slot, HEAP] = live
        meta[k, LIVE] = live + 1
        _sift_up(table, heap, k, live)
    else:
        meta[k, OVERFLOW] += 1
    return meta[k, LIVE]


@njit(cache=True, nogil=True)
def _add_batch(table, heap, meta, keys, ids, ts, windows, out):
    """Record reports in order; ``out[i]`` is the window count right after report ``i``.

    ``keys``, ``ids``, ``ts`` and ``windows`` are int64 arrays of shape (n_events,) and
    ``out`` an int32 array of the same shape; the state arrays are as in `_add`.
    """
    for i in range(keys.shape[0]):
        out[i] = _add(table, heap, meta, keys[i], ids[i], ts[i], windows[i])


@njit(cache=True, nogil=True)
def _count(table, heap, meta, k, now, window):
    """Distinct agents of key ``k`` with a report in ``(max(now, t_max) - window, ...]``.

    Reads only; costs one pass over the key's live agents (at most ``agents_per_key``).
    """
    t = max(now, meta[k, T_MAX])
    cutoff = t - window
    n = 0
    for i in range(meta[k, LIVE]):
        if table[k, heap[k, i], STAMP] > cutoff:
            n += 1
    return n


@njit(cache=True, nogil=True)
def _reset(table, meta, k):
    """Forget key ``k``'s window; its overflow and late counters keep counting."""
    table[k, :, HEAP] = _EMPTY
    meta[k, T_MAX] = _NO_TIME
    meta[k, LIVE] = 0


class DistinctWindows:
    """Distinct agents per key within a trailing time window, in fixed memory.

    See the module docstring for the exact semantics. One instance belongs to one thread
    (the kernels release the GIL but the state is not locked).

    Parameters
    ----------
    n_keys : int
        Number of key slots; keys are ``0 .. n_keys - 1``.
    agents_per_key : int, default 4096
        Most distinct agents live in one key's window; the hash table gets the next power of
        two ``>= 2 * agents_per_key`` slots. Memory is about
        ``n_keys * agents_per_key * 52`` bytes (208 KiB per key at 4096).

    Attributes
    ----------
    table : ndarray of int64, shape (n_keys, n_slots, 3)
        Per slot columns `AGENT`, `STAMP` (latest report, ms) and `HEAP` (heap index, ``-1``
        when the slot is empty); one record per slot so a probe touches one cache line. The
        properties `agents`, `stamps` and `pos` are views of its columns.
    heap : ndarray of int32, shape (n_keys, agents_per_key)
        Per key min-heap of occupied slots ordered by ``stamps``; first ``live[k]`` valid.
    meta : ndarray of int64, shape (n_keys, 4)
        Columns `T_MAX`, `LIVE`, `OVERFLOW`, `LATE`; also exposed as the properties below.
    """

    def __init__(self, n_keys: int, agents_per_key: int = 4096) -> None:
        self.n_keys = check_int("n_keys", n_keys, 1, 1 << 20)
        self.agents_per_key = check_int("agents_per_key", agents_per_key, 1, _MAX_AGENTS_PER_KEY)
        n_slots = 1 << (2 * self.agents_per_key - 1).bit_length()
        self.table = np.zeros((self.n_keys, n_slots, 3), dtype=np.int64)
        self.table[:, :, HEAP] = _EMPTY
        self.heap = np.zeros((self.n_keys, self.agents_per_key), dtype=np.int32)
        self.meta = np.zeros((self.n_keys, 4), dtype=np.int64)
        self.meta[:, T_MAX] = _NO_TIME

    @property
    def agents(self) -> np.ndarray:
        """Agent id per slot, shape (n_keys, n_slots); meaningful where ``pos >= 0``."""
        return self.table[:, :, AGENT]

    @property
    def stamps(self) -> np.ndarray:
        """Latest report time (ms) per slot, shape (n_keys, n_slots)."""
        return self.table[:, :, STAMP]

    @property
    def pos(self) -> np.ndarray:
        """Heap index per slot, shape (n_keys, n_slots); ``-1`` for an empty slot."""
        return self.table[:, :, HEAP]

    @property
    def t_max(self) -> np.ndarray:
        """Largest recorded report time per key (ms); int64 minimum before the first."""
        return self.meta[:, T_MAX]

    @property
    def live(self) -> np.ndarray:
        """Agents currently held per key (those inside the window of the last `add`)."""
        return self.meta[:, LIVE]

    @property
    def overflow(self) -> np.ndarray:
        """Reports dropped per key because ``agents_per_key`` agents were already live."""
        return self.meta[:, OVERFLOW]

    @property
    def late(self) -> np.ndarray:
        """Reports ignored per key because they were older than the window."""
        return self.meta[:, LATE]

    def add(self, key: int, agent: int, ts_ms: int, window_ms: int) -> int:
        """Record one report and return the distinct agents in the key's window.

        Parameters
        ----------
        key : int
            Key slot, ``0 <= key < n_keys``.
        agent : int
            Agent id hashed to int64 (`kernels.hash_agent`).
        ts_ms : int
            Report time, ms since the epoch, ``>= 0``.
        window_ms : int
            Window length in ms, ``> 0``; the window is ``(t_max - window_ms, t_max]``.

        Returns
        -------
        int
            Distinct agents with a report inside the window after this report.
        """
        return int(
            _add(
                self.table,
                self.heap,
                self.meta,
                self._key(key),
                check_int("agent", agent, -INT64_MAX - 1),
                check_int("ts_ms", ts_ms, 0),
                check_int("window_ms", window_ms, 1),
            )
        )

    def add_batch(
        self, keys: np.ndarray, agents: np.ndarray, ts_ms: np.ndarray, window_ms: int | np.ndarray
    ) -> np.ndarray:
        """Record reports in array order, as repeated `add` calls would.

        Parameters
        ----------
        keys : ndarray of int32 or int64, shape (n,)
        agents : ndarray of int64, shape (n,)
        ts_ms : ndarray of int64, shape (n,)
            Report times in ms, ``>= 0``.
        window_ms : int or ndarray of int64, shape (n,)
            One window for every report, or one per report (``windows_by_key[keys]``).

        Returns
        -------
        ndarray of int32, shape (n,)
            The window count right after each report.
        """
        keys = check_array("keys", keys, (np.int32, np.int64), np.int64)
        n = keys.shape[0]
        agents = check_array("agents", agents, (np.int64,), np.int64, n)
        ts_ms = check_array("ts_ms", ts_ms, (np.int64,), np.int64, n)
        if np.ndim(window_ms) == 0:
            windows = np.full(n, check_int("window_ms", window_ms, 1), dtype=np.int64)
        else:
            windows = check_array("window_ms", window_ms, (np.int32, np.int64), np.int64, n)
        check_range("keys", keys, 0, self.n_keys - 1)
        check_range("ts_ms", ts_ms, 0)
        check_range("window_ms", windows, 1)
        out = np.empty(n, dtype=np.int32)
        _add_batch(
            self.table,
            self.heap,
            self.meta,
            keys,
            agents,
            ts_ms,
            windows,
            out,
        )
        return out

    def count(self, key: int, now_ms: int, window_ms: int) -> int:
        """Distinct agents with a report in ``(now_ms - window_ms, now_ms]``, recording nothing.

        A ``now_ms`` earlier than the key's ``t_max`` is read as ``t_max``.
        """
        return int(
            _count(
                self.table,
                self.heap,
                self.meta,
                self._key(key),
                check_int("now_ms", now_ms, 0),
                check_int("window_ms", window_ms, 1),
            )
        )

    def reset_key(self, key: int) -> None:
        """Forget the key's window (e.g. once its P0 is resolved); counters keep counting."""
        _reset(self.table, self.meta, self._key(key))

    def _key(self, key: int) -> int:
        return check_int("key", key, 0, self.n_keys - 1)
