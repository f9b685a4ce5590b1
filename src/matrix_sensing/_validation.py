"""Input checks shared by the public functions.

Every check raises ``ValueError`` (or ``TypeError`` for a wrong kind of object) whose
message names the parameter and the allowed range, so that a reader who mistypes a
papermill parameter sees what to change rather than a numpy traceback.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

# The largest dense float64 array the package allocates (1.6 GB): a guard so that a mistyped
# size (n1=10**9) ends in a clear error rather than a MemoryError or an exhausted machine.
# The paper-scale problems use at most ~2e7 entries (m * n1 * n2 for the sensing operator).
MAX_ENTRIES = 2 * 10**8


def integer(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise naming ``name`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        bounds = [f">= {minimum}"] if minimum is not None else []
        bounds += [f"<= {maximum}"] if maximum is not None else []
        raise ValueError(f"{name} must be an integer {' and '.join(bounds)}, got {value}")
    return value


def real(
    name: str,
    value,
    *,
    positive: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    """Return ``value`` as a finite float, or raise naming ``name`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value:g}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum:g}, got {value:g}")
    return value


def array(name: str, value, *, ndim: int | tuple[int, ...], shape=None) -> np.ndarray:
    """Return ``value`` as a finite float64 array with the given ``ndim`` (and ``shape``).

    ``shape`` may contain ``None`` for free axes. Only real numbers are accepted: strings,
    booleans, complex numbers and ragged lists raise ``TypeError`` (rather than being converted
    silently). Raises naming ``name``.
    """
    try:
        raw = np.asarray(value)
        if raw.dtype.kind == "O":  # a list mixing Python ints, floats and other objects
            if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in raw.flat):
                raise TypeError
        elif raw.dtype.kind not in "iuf":
            raise TypeError
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(f"{name} must be an array of real numbers, got {_describe(value)}") from exc
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in allowed:
        raise ValueError(
            f"{name} must have {' or '.join(map(str, allowed))} dimensions, got shape {arr.shape}"
        )
    if shape is not None:
        expected = tuple(shape)[-arr.ndim :] if len(shape) > arr.ndim else tuple(shape)
        if len(expected) != arr.ndim or any(
            e is not None and e != s for e, s in zip(expected, arr.shape, strict=True)
        ):
            pretty = tuple("*" if e is None else e for e in expected)
            raise ValueError(f"{name} must have shape {pretty}, got {arr.shape}")
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values (found NaN or inf)")
    return arr


def _describe(value) -> str:
    dtype = getattr(value, "dtype", None)
    return f"{type(value).__name__} of dtype {dtype}" if dtype is not None else type(value).__name__


def entries(what: str, *dims: tuple[str, int]) -> int:
    """Check that a dense array ``what`` with the given ``(name, size)`` dimensions (sizes
    already validated) stays within :data:`MAX_ENTRIES`; the error names the sizes to reduce.
    """
    count = math.prod(size for _, size in dims)
    if count > MAX_ENTRIES:
        product = " * ".join(f"{name}={size}" for name, size in dims)
        names = " or ".join(dict.fromkeys(name for name, _ in dims))
        raise ValueError(
            f"{what} would have {product} = {count:.3g} entries, more than the {MAX_ENTRIES:.0e} "
            f"this package allocates; reduce {names}"
        )
    return count


def choice(name: str, value, allowed) -> str:
    """Return ``value`` if it is one of ``allowed``, or raise listing them."""
    try:
        known = value in allowed
    except TypeError:  # an unhashable value (a list) tested against a set or dict
        known = False
    if not known:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
    return value


def seed(name: str, value) -> int:
    """Seeds are non-negative integers so that runs can be written down and repeated."""
    return integer(name, value, minimum=0)


def float_dtype(dtype) -> np.dtype:
    """``dtype`` as a numpy dtype, which must be float64 or float32."""
    try:
        value = None if dtype is None else np.dtype(dtype)  # np.dtype(None) is float64
    except TypeError:
        value = None
    if value is None or value.type not in (np.float64, np.float32):
        raise ValueError(f"dtype must be numpy.float64 or numpy.float32, got {dtype!r}")
    return value


def shape_pair(shape) -> tuple[int, int]:
    """``shape`` as a pair ``(n1, n2)`` of integers >= 1."""
    try:
        n1, n2 = shape
    except (TypeError, ValueError):
        raise ValueError(f"shape must be a pair (n1, n2), got {shape!r}") from None
    return integer("n1", n1, minimum=1), integer("n2", n2, minimum=1)
