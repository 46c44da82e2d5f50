"""Boundary checks shared by every module.

Each check names the argument it rejects and the offending value or shape, so that a user sees at
once which input was wrong. Nothing is clipped or repaired silently.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    import torch

__all__ = [
    "check_gamma",
    "check_finite",
    "check_positive_int",
    "as_float_array",
    "check_probabilities",
    "sum_tolerance",
    "check_rng",
    "check_real",
    "check_device",
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


def check_real(
    value: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float after checking that it is a finite real number within the bounds.

    ``low`` and ``high`` bound the value (either may be None: unbounded on that side); they are
    included unless ``low_open`` or ``high_open``. Bools are refused; numpy scalars pass.

    Example:
        >>> check_real(0.5, "noise", low=0.0, high=1.0)
        0.5
        >>> check_real(0.0, "lr", low=0.0, low_open=True)
        Traceback (most recent call last):
        ...
        ValueError: lr must be a finite real number > 0, got 0.0

    Raises:
        TypeError: ``value`` is not a real number (named as ``name``).
        ValueError: ``value`` is NaN, infinite or outside the bounds.
    """
    if low is not None and high is not None:
        wanted = f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    elif low is not None:
        wanted = f" {'>' if low_open else '>='} {low:g}"
    elif high is not None:
        wanted = f" {'<' if high_open else '<='} {high:g}"
    else:
        wanted = ""
    if isinstance(value, bool) or not isinstance(value, (Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a finite real number{wanted}, got {value!r} of type {type(value).__name__}")
    number = float(value)
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and (number >= high if high_open else number > high)
    if not math.isfinite(number) or too_low or too_high:
        raise ValueError(f"{name} must be a finite real number{wanted}, got {value!r}")
    return number


def check_device(device: object, name: str = "device") -> torch.device:
    """The torch device that ``device`` names, checked to exist on this machine.

    Accepts ``"auto"`` (CUDA when available, else the CPU, as Stable-Baselines3 chooses),
    ``"cpu"``, ``"cuda"``, ``"cuda:N"`` and ``torch.device``. Unlike Stable-Baselines3's
    ``get_device``, an explicit CUDA request on a machine without CUDA is an error, not a silent
    fall-back to the CPU.

    Example:
        >>> check_device("cpu")
        device(type='cpu')

    Raises:
        TypeError: ``device`` is neither a string nor a ``torch.device`` (named as ``name``).
        ValueError: ``device`` names no torch device, or one this machine does not have.
    """
    import torch  # here, not at the top: the tabular core does not need torch to import

    accepted = "'auto', 'cpu', 'cuda' or 'cuda:N'"
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, (str, torch.device)):
        kind = type(device).__name__
        raise TypeError(f"{name} must be {accepted} (or a torch.device), got {device!r} of type {kind}")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{name} must be {accepted}, got {device!r}") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"{name} {device!r} asks for CUDA, but torch finds no CUDA device on this machine (CUDA is not "
                f"available); use {name}='cpu', or 'auto' for CUDA when there is one"
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(f"{name} {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name} {device!r} asks for Apple's MPS, which torch does not find on this machine")
    elif resolved.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{name} must be {accepted}, got {device!r}")
    return resolved


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
