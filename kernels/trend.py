"""Per-bucket trend counters in a count-min sketch and the weak-signal (P1) detector.

Keys are unbounded (topics, entity x symptom combinations), hashed to uint64 by
`kernels.hash_key`, and share a fixed ``depth x width`` grid of cells. Each cell holds the time
bucket (``ts_ms // bucket_ms``) it is counting (``-1`` before first use), the events counted in
that bucket, and ``base``, an exponentially weighted sum of its *completed* bucket counts. When
an event reaches a cell that is counting an older bucket, the completed bucket is folded in and
the buckets that passed with no events decay it: after ``k`` buckets,
``base = alpha**k * base + (1 - alpha) * alpha**(k - 1) * count``. Only the ``depth`` cells of
the event are touched: no scan of history.

The baseline at bucket ``B`` is ``base / (1 - alpha**(B - origin))``, where ``origin`` is the
earliest bucket the sketch has seen (0 when ``B == origin``). That is the weighted mean of the
key's per-bucket counts over the completed buckets since the sketch started, bucket ``j``
weighted ``alpha**(B - 1 - j)``, buckets without events counting as 0. So a sketch that has run
for two buckets already knows a steady key's true rate (no start-up bias flagging every key),
while a key that appears from nothing has a low baseline because its past really was quiet.
The normaliser is common to all cells, so count-min's one-sided error survives it.

``alpha = exp(-1 / horizon_buckets)``: a bucket's weight falls by ``e`` every
``horizon_buckets`` buckets (60 one-minute buckets: the baseline is about the last hour).

Estimates are count-min: ``recent`` and ``baseline`` are each the minimum over the key's
``depth`` cells. Collisions only add counts, so (for ``recent`` at the present, for
``baseline`` when events arrive in time order) the estimate is never below the key's own value,
and equals it when none of the key's cells is shared.

Events older than a cell's current bucket are added to the current bucket's count: they
arrived now, so they are recent activity, and nothing is lost. Events count in their bucket
wherever they arrive within it. ``bucket_ms`` and ``horizon_buckets`` are arguments because
kernels take no globals, but they must stay constant for the life of a sketch.
"""

import math

import numpy as np
from numba import njit

from kernels._checks import UINT64_MAX, check_array, check_int, check_range, check_real

# Columns of ``cells``: a cell's bucket and count sit side by side, one cache line per row.
BUCKET = 0
COUNT = 1
_NEVER = -1
DEFAULT_BUCKET_MS = 60_000
DEFAULT_HORIZON_BUCKETS = 60.0


@njit(cache=True, nogil=True)
def _column(key, row, mask):
    """Column of uint64 ``key`` in sketch ``row`` (SplitMix64 finaliser of a per-row offset)."""
    x = key + np.uint64(row + 1) * np.uint64(0x9E3779B97F4A7C15)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return np.int64(x & np.uint64(mask))


@njit(cache=True, nogil=True)
def _rolled(cells, base, r, c, bucket, alpha):
    """Cell ``(r, c)`` as it would be at ``bucket``: (its bucket, count, base).

    A cell already at or past ``bucket`` is returned unchanged.
    """
    cell_bucket = cells[r, c, BUCKET]
    if cell_bucket == _NEVER:
        return bucket, 0, 0.0
    if cell_bucket < bucket:
        elapsed = bucket - cell_bucket
        rolled = (
            math.pow(alpha, elapsed) * base[r, c]
            + (1.0 - alpha) * math.pow(alpha, elapsed - 1) * cells[r, c, COUNT]
        )
        return bucket, 0, rolled
    return cell_bucket, cells[r, c, COUNT], base[r, c]


@njit(cache=True, nogil=True)
def _baseline(weighted, bucket, origin, alpha):
    """Weighted mean per completed bucket from a cell's ``base`` at ``bucket``."""
    if bucket <= origin:
        return 0.0
    return weighted / (1.0 - math.pow(alpha, bucket - origin))


@njit(cache=True, nogil=True)
def _add(cells, base, origin, key, ts, n, bucket_ms, alpha):
    """Count ``n`` events of ``key`` at ``ts`` and return its (recent, baseline) estimate.

    Parameters
    ----------
    cells : ndarray of int64, shape (depth, width, 2)
        Per cell the bucket being counted (``-1`` before first use) and its count;
        ``width`` is a power of two.
    base : ndarray of float64, shape (depth, width)
        Per cell the exponentially weighted sum of completed bucket counts.
    origin : ndarray of int64, shape (1,)
        Earliest bucket seen by the sketch, ``-1`` before the first event.
    key : uint64
        Key hash (`kernels.hash_key`).
    ts : int
        Event time, ms since the epoch, ``>= 0``.
    n : int
        Number of events, ``>= 1``.
    bucket_ms : int
        Bucket length in ms, ``> 0``.
    alpha : float
        Per-bucket decay of the baseline, ``0 < alpha < 1``.

    Returns
    -------
    recent : int
        Events in the key's current bucket, these included (count-min).
    baseline : float
        Weighted mean events per completed bucket (count-min).
    """
    mask = cells.shape[1] - 1
    bucket = ts // bucket_ms
    if origin[0] == _NEVER or bucket < origin[0]:
        origin[0] = bucket
    recent = np.iinfo(np.int64).max
    baseline = np.inf
    for r in range(cells.shape[0]):
        c = _column(key, r, mask)
        cell_bucket, count, weighted = _rolled(cells, base, r, c, bucket, alpha)
        count += n
        cells[r, c, BUCKET] = cell_bucket
        cells[r, c, COUNT] = count
        base[r, c] = weighted
        recent = min(recent, count)
        baseline = min(baseline, _baseline(weighted, cell_bucket, origin[0], alpha))
    return recent, baseline


@njit(cache=True, nogil=True)
def _add_batch(cells, base, origin, keys, ts, ns, bucket_ms, alpha, recent, baseline):
    """`_add` for each event in order; ``keys`` uint64, ``ts``/``ns`` int64, shape (n,).

    Writes the estimate after each event into ``recent`` (int64) and ``baseline`` (float64).
    """
    for i in range(keys.shape[0]):
        recent[i], baseline[i] = _add(cells, base, origin, keys[i], ts[i], ns[i], bucket_ms, alpha)


@njit(cache=True, nogil=True)
def _estimate(cells, base, origin, key, now, bucket_ms, alpha):
    """(recent, baseline) of ``key`` in the bucket of ``now`` (ms), changing nothing.

    A key whose cells are at a later bucket than ``now`` reports that bucket. Arguments and
    results are as in `_add`.
    """
    if origin[0] == _NEVER:
        return 0, 0.0
    mask = cells.shape[1] - 1
    bucket = now // bucket_ms
    recent = np.iinfo(np.int64).max
    baseline = np.inf
    for r in range(cells.shape[0]):
        c = _column(key, r, mask)
        cell_bucket, count, weighted = _rolled(cells, base, r, c, bucket, alpha)
        recent = min(recent, count)
        baseline = min(baseline, _baseline(weighted, cell_bucket, origin[0], alpha))
    return recent, baseline


@njit(cache=True, nogil=True)
def _columns(key, depth, mask, out):
    """Write the column of ``key`` in each of ``depth`` rows into ``out`` (int64, (depth,))."""
    for r in range(depth):
        out[r] = _column(key, r, mask)


@njit(cache=True, nogil=True)
def is_anomalous(recent, baseline, min_count, growth_ratio, floor):
    """Weak-signal rule: small absolute counts that grow against the key's own past.

    ``recent >= min_count and recent >= growth_ratio * max(baseline, floor)``. ``floor``
    stands in for the baseline of keys with little or no history, so a never-seen key needs
    ``growth_ratio * floor`` events (and ``min_count``) in one bucket to flag.

    Parameters
    ----------
    recent : int or ndarray of int64
        Events in the current bucket.
    baseline : float or ndarray of float64
        Events per bucket the key usually has (`TrendSketch.add`/`estimate`).
    min_count : int
        Fewest events in the bucket that can flag.
    growth_ratio : float
        How many times its baseline the key must reach.
    floor : float
        Lowest baseline used, in events per bucket.

    Returns
    -------
    bool or ndarray of bool
        Same shape as ``recent``/``baseline`` broadcast together.
    """
    return (recent >= min_count) & (recent >= growth_ratio * np.maximum(baseline, floor))


def _alpha(horizon_buckets: float) -> float:
    return math.exp(-1.0 / check_real("horizon_buckets", horizon_buckets, 1.0))


def _key_hash(key_hash: object) -> np.uint64:
    if type(key_hash) is np.uint64:
        return key_hash
    return np.uint64(check_int("key_hash", key_hash, 0, UINT64_MAX))


class TrendSketch:
    """Per-bucket counts and baselines for unbounded keys in a fixed count-min sketch.

    See the module docstring for the estimator. One instance belongs to one thread.

    Parameters
    ----------
    depth : int, default 4
        Rows (independent hashes); error probability falls exponentially with depth.
    width : int, default 65536
        Cells per row, a power of two. Memory is ``32 * depth * width`` bytes (8 MiB default).

    Attributes
    ----------
    cells : ndarray of int64, shape (depth, width, 2)
        Columns `BUCKET` (``-1`` = unused) and `COUNT` per cell.
    base : ndarray of float64, shape (depth, width)
        Exponentially weighted sum of completed bucket counts per cell.
    origin : ndarray of int64, shape (1,)
        Earliest bucket seen, ``-1`` before the first event.
    """

    def __init__(self, depth: int = 4, width: int = 1 << 16) -> None:
        self.depth = check_int("depth", depth, 1, 64)
        self.width = check_int("width", width, 2, 1 << 30)
        if self.width & (self.width - 1):
            raise ValueError(
                f"width must be a power of two, got {self.width}; "
                f"use {1 << self.width.bit_length()}"
            )
        self.cells = np.zeros((self.depth, self.width, 2), dtype=np.int64)
        self.cells[:, :, BUCKET] = _NEVER
        self.base = np.zeros((self.depth, self.width), dtype=np.float64)
        self.origin = np.full(1, _NEVER, dtype=np.int64)

    def add(
        self,
        key_hash: int | np.uint64,
        ts_ms: int,
        n: int = 1,
        bucket_ms: int = DEFAULT_BUCKET_MS,
        horizon_buckets: float = DEFAULT_HORIZON_BUCKETS,
    ) -> tuple[int, float]:
        """Count ``n`` events of a key at ``ts_ms``; return its (recent, baseline).

        Parameters
        ----------
        key_hash : int or numpy.uint64
            `kernels.hash_key` of the normalised key, ``0 <= key_hash < 2**64``.
        ts_ms : int
            Event time, ms since the epoch, ``>= 0``.
        n : int, default 1
            Number of events, ``>= 1``.
        bucket_ms : int, default 60000
            Bucket length in ms; constant for the life of the sketch.
        horizon_buckets : float, default 60.0
            Baseline horizon in buckets, ``>= 1``: ``alpha = exp(-1 / horizon_buckets)``.

        Returns
        -------
        recent : int
            Events in the current bucket including these.
        baseline : float
            Weighted mean events per completed bucket since the sketch started.
        """
        recent, baseline = _add(
            self.cells,
            self.base,
            self.origin,
            _key_hash(key_hash),
            check_int("ts_ms", ts_ms, 0),
            check_int("n", n, 1),
            check_int("bucket_ms", bucket_ms, 1),
            _alpha(horizon_buckets),
        )
        return int(recent), float(baseline)

    def add_batch(
        self,
        hashes: np.ndarray,
        ts_ms: np.ndarray,
        n: int | np.ndarray = 1,
        bucket_ms: int = DEFAULT_BUCKET_MS,
        horizon_buckets: float = DEFAULT_HORIZON_BUCKETS,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Count events in array order, as repeated `add` calls would.

        Parameters
        ----------
        hashes : ndarray of uint64, shape (m,)
        ts_ms : ndarray of int64, shape (m,)
            Event times in ms, ``>= 0``.
        n : int or ndarray of int64, shape (m,), default 1
            Events per entry, ``>= 1``.
        bucket_ms, horizon_buckets
            As in `add`.

        Returns
        -------
        recent : ndarray of int64, shape (m,)
        baseline : ndarray of float64, shape (m,)
            The estimate right after each entry.
        """
        hashes = check_array("hashes", hashes, (np.uint64,), np.uint64)
        m = hashes.shape[0]
        ts_ms = check_array("ts_ms", ts_ms, (np.int64,), np.int64, m)
        if np.ndim(n) == 0:
            ns = np.full(m, check_int("n", n, 1), dtype=np.int64)
        else:
            ns = check_array("n", n, (np.int32, np.int64), np.int64, m)
        check_range("ts_ms", ts_ms, 0)
        check_range("n", ns, 1)
        alpha = _alpha(horizon_buckets)
        recent = np.empty(m, dtype=np.int64)
        baseline = np.empty(m, dtype=np.float64)
        _add_batch(
            self.cells,
            self.base,
            self.origin,
            hashes,
            ts_ms,
            ns,
            check_int("bucket_ms", bucket_ms, 1),
            alpha,
            recent,
            baseline,
        )
        return recent, baseline

    def estimate(
        self,
        key_hash: int | np.uint64,
        now_ms: int,
        bucket_ms: int = DEFAULT_BUCKET_MS,
        horizon_buckets: float = DEFAULT_HORIZON_BUCKETS,
    ) -> tuple[int, float]:
        """(recent, baseline) of a key in the bucket of ``now_ms``, recording nothing.

        A key with no events in the bucket of ``now_ms`` has ``recent == 0`` and its baseline
        decayed over the empty buckets; a key never seen has ``(0, 0.0)`` (barring
        collisions).
        """
        recent, baseline = _estimate(
            self.cells,
            self.base,
            self.origin,
            _key_hash(key_hash),
            check_int("now_ms", now_ms, 0),
            check_int("bucket_ms", bucket_ms, 1),
            _alpha(horizon_buckets),
        )
        return int(recent), float(baseline)

    def columns(self, key_hash: int | np.uint64) -> np.ndarray:
        """Column of the key in each row, int64 shape (depth,): which cells it shares."""
        out = np.empty(self.depth, dtype=np.int64)
        _columns(_key_hash(key_hash), self.depth, self.width - 1, out)
        return out
