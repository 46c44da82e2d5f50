"""Boundary checks shared by every module.

Each check names the argument it rejects and the offending value or shape, so that a user sees at
once which input was wrong. Nothing is clipped or repaired silently.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "check_gamma",
    "check_finite",
    "check_positive_int",
    "as_float_array",
    "check_probabilities",
    "sum_tolerance",
    "check_rng",
]

_Array = TypeVar("_Array", bound=np.ndarray)


def check_gamma(gamma: object, name: str = "gamma", *, allow_zero: bool = False) -> float:
    """Return ``gamma`` as a float after checking that it lies in (0, 1], or in [0, 1] with ``allow_zero``.

    ``gamma = 0`` (a contextual bandit: only the immediate reward counts) is a valid discount wherever
    the maths holds at 0; callers that need ``gamma > 0`` keep the default.

    Raises:
        TypeError: ``gamma`` is not a real number.
        ValueError: ``gamma`` is not finite or lies outside the interval.
    """
    interval = "[0, 1]" if allow_zero else "(0, 1]"
    if isinstance(gamma, bool) or not isinstance(gamma, (Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number in {interval}, got {gamma!r} of type {type(gamma).__name__}")
    value = float(gamma)
    low_ok = value >= 0.0 if allow_zero else value > 0.0
    if not math.isfinite(value) or not (low_ok and value <= 1.0):
        raise ValueError(f"{name} must lie in {interval}, got {gamma!r}")
    return value


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` as an int after checking that it is an integer of at least 1 (not a bool), naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def as_float_array(value: ArrayLike, name: str) -> NDArray[np.float64]:
    """Convert ``value`` to a float64 array, naming ``name`` when that is impossible.

    Wider floats (``np.longdouble``) are rounded to float64; a finite value beyond float64's range
    raises ``ValueError`` rather than turning into ``inf``.
    """
    try:
        with np.errstate(over="ignore"):
            array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be convertible to a float array, got {type(value).__name__}: {err}") from None
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind == "f" and value.dtype.itemsize > 8:
        source = np.asarray(value)
        overflow = np.isinf(array) & np.isfinite(source)
        if np.any(overflow):
            raise ValueError(
                f"{name} has values beyond float64's range (largest magnitude {np.abs(source[overflow]).max()!r}): "
                "computations are in float64"
            )
    return array


def sum_tolerance(value: ArrayLike, row_length: int, floor: float = 1e-8) -> float:
    """The tolerance of a sum of ``row_length`` entries of ``value``'s float dtype (``floor`` at least).

    A row of float32 probabilities sums to 1 only up to float32 round-off (``1.0000000298``), so
    tolerances follow the input's precision: ``row_length`` times its machine epsilon.

    Example:
        >>> sum_tolerance(np.ones(2, dtype=np.float32), 2) > 1e-7
        True
        >>> sum_tolerance(np.ones(2), 2)
        1e-08
    """
    dtype = np.asarray(value).dtype
    eps = float(np.finfo(dtype).eps) if dtype.kind == "f" else 0.0
    return max(floor, max(int(row_length), 1) * eps)


def check_rng(rng: object, name: str = "rng") -> np.random.Generator:
    """``numpy.random.default_rng(rng)`` for a Generator, BitGenerator, SeedSequence, a seed >= 0 or None.

    Raises:
        TypeError: ``rng`` is of another type (named as ``name``).
        ValueError: ``rng`` is a negative integer.
    """
    if rng is None or isinstance(rng, (np.random.Generator, np.random.BitGenerator, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)):
        raise TypeError(f"{name} must be a numpy.random.Generator, a non-negative integer seed or None, got {rng!r}")
    if rng < 0:
        raise ValueError(f"{name} must be a non-negative integer seed, got {rng!r}")
    return np.random.default_rng(int(rng))


def check_finite(array: _Array, name: str) -> _Array:
    """Raise ``ValueError`` naming ``name`` and the first bad index if ``array`` has NaN or inf."""
    if not np.all(np.isfinite(array)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise ValueError(f"{name} must be finite, got {array[bad]!r} at index {bad}")
    return array


def check_probabilities(array: _Array, name: str, atol: float = 1e-8) -> _Array:
    """Check that the last axis of ``array`` holds probability distributions."""
    check_finite(array, name)
    if np.any(array < 0):
        bad = tuple(int(i) for i in np.argwhere(array < 0)[0])
        raise ValueError(f"{name} must be non-negative, got {array[bad]!r} at index {bad}")
    sums = array.sum(axis=-1)
    off = np.abs(sums - 1.0) > atol
    if np.any(off):
        bad = tuple(int(i) for i in np.argwhere(off)[0])
        raise ValueError(f"{name} rows must sum to 1, row {bad} sums to {sums[bad]!r}")
    return array
