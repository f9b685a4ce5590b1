"""Numerical helpers shared by the tests: the relative deviation used throughout, and a
central finite difference to check gradients against."""

from __future__ import annotations

import numpy as np


def rel_diff(a, b) -> float:
    """||a - b|| / ||b|| (Frobenius), computed in at least float64."""
    dtype = np.result_type(np.asarray(a), np.asarray(b), np.float64)
    a, b = np.asarray(a, dtype=dtype), np.asarray(b, dtype=dtype)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def central_difference(f, x, h=1e-5):
    """The gradient of the scalar function ``f`` at the array ``x``, entry by entry:
    (f(x + h e_i) - f(x - h e_i)) / 2h."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += h
        minus[idx] -= h
        grad[idx] = (f(plus) - f(minus)) / (2 * h)
    return grad
