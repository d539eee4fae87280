"""Argument checks shared by the public kernel wrappers; each error names the fix."""

import math
import numbers

import numpy as np

INT64_MAX = int(np.iinfo(np.int64).max)
INT64_MIN = int(np.iinfo(np.int64).min)
UINT64_MAX = int(np.iinfo(np.uint64).max)


def check_int(name: str, value: object, lo: int, hi: int = INT64_MAX) -> int:
    """Return ``value`` as a Python int in ``[lo, hi]`` or raise ValueError naming ``name``.

    Returning a Python int (never a numpy scalar of some other width) keeps every kernel at
    one compiled signature, so no call after `kernels.warmup()` triggers a compile.
    """
    # Fast path for the common case: the single-report path is budgeted in microseconds.
    if type(value) is int and lo <= value <= hi:
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"{name} must be an integer, got {type(value).__name__}; pass int({name}) "
            "or a numpy integer scalar"
        )
    value = int(value)
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value}")
    return value


def check_real(name: str, value: object, lo: float, lo_open: bool = False) -> float:
    """Return ``value`` as a finite float ``>= lo`` (``> lo`` if ``lo_open``) or raise."""
    if type(value) is not float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{name} must be a real number, got {type(value).__name__}")
        value = float(value)
    if not math.isfinite(value) or value < lo or (lo_open and value == lo):
        bound = ">" if lo_open else ">="
        raise ValueError(f"{name} must be finite and {bound} {lo}, got {value}")
    return value


def check_array(
    name: str, values: object, dtypes: tuple[type, ...], target: type, length: int | None = None
) -> np.ndarray:
    """Return ``values`` as a contiguous 1-D array of ``target`` dtype or raise ValueError.

    Only the listed ``dtypes`` are accepted (a float or object array is a caller bug, not
    something to round silently); the conversion to ``target`` copies only when needed.
    """
    array = np.asarray(values)
    if array.dtype.type not in dtypes:
        allowed = "/".join(np.dtype(d).name for d in dtypes)
        raise ValueError(
            f"{name} must be a {allowed} array, got dtype {array.dtype}; convert with "
            f"np.asarray({name}, dtype=np.{np.dtype(target).name})"
        )
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}; flatten it with .ravel()")
    if length is not None and array.shape[0] != length:
        raise ValueError(
            f"{name} must have the same length as the first array ({length}), got {array.shape[0]}"
        )
    return np.ascontiguousarray(array, dtype=target)


def check_range(name: str, array: np.ndarray, lo: int, hi: int = INT64_MAX) -> None:
    """Raise ValueError naming the first element of ``array`` outside ``[lo, hi]``."""
    if array.size == 0:
        return
    bad = np.flatnonzero((array < lo) | (array > hi))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] must be in [{lo}, {hi}], got {int(array[i])}")
