"""The straight lines the claims fit to measurements against the initialization scale α.

Two least-squares lines (:func:`scipy.stats.linregress`), each returned as scipy's result
(``slope``, ``intercept``, ``rvalue``, ...), so that a claim and the notebook that draws it
read the same line:

* :func:`loglog_fit`: ``ln(error) = slope · ln(α) + intercept``, the exponent γ of a power
  law ``error ∝ α^γ`` (the final test error of claims M3, P1 and P2);
* :func:`semilog_fit`: ``time = slope · ln(1/α) + intercept``, a time that grows like
  ``ln(1/α)`` (the escape time of M4, the time to fit of P2).

The book's pages ``book/claims/m3_m4.md`` and ``book/neighbours/precursor.md`` say which
points each claim fits.
"""

from __future__ import annotations

import numpy as np

from . import _validation as check

__all__ = ["loglog_fit", "semilog_fit"]


def loglog_fit(alphas, errors):
    """Least-squares line ``ln(error) = slope · ln(α) + intercept``.

    ``alphas`` and ``errors`` (N,), N >= 2, both > 0. Returns the
    :func:`scipy.stats.linregress` result; ``slope`` is the exponent of α.
    """
    from scipy.stats import linregress  # on first use: it takes half a second to import

    alphas, errors = _points(alphas, errors, "errors", positive=True)
    return linregress(np.log(alphas), np.log(errors))


def semilog_fit(alphas, times):
    """Least-squares line ``time = slope · ln(1/α) + intercept``
    (:func:`scipy.stats.linregress` result; ``rvalue**2`` is R²).

    ``alphas`` (N,) > 0, N >= 2, and ``times`` (N,); a NaN time (a run that never reached
    its level) makes the fit NaN, so that the claim reading it fails.
    """
    from scipy.stats import linregress  # on first use: it takes half a second to import

    alphas, times = _points(alphas, times, "times", positive=False, missing=True)
    return linregress(np.log(1.0 / alphas), times)


def _points(alphas, values, name: str, *, positive: bool, missing: bool = False):
    """The points of a fit against α: ``alphas`` (N,) with α > 0 and ``values`` (N,) named
    ``name`` (> 0 if ``positive``), N >= 2. With ``missing``, a NaN value is let through,
    so that the fit is NaN and the claim that reads it fails, rather than an error."""
    alphas = check.array("alphas", alphas, ndim=1)
    if alphas.size < 2:
        raise ValueError(f"alphas must hold at least 2 scales for a line, got {alphas.size}")
    if np.any(alphas <= 0):
        raise ValueError(f"alphas must be > 0, got {alphas.tolist()}")
    nan = False
    if missing:
        try:
            raw = np.asarray(values)
        except ValueError:  # ragged: check.array says so below
            raw = None
        if raw is not None and raw.dtype.kind == "f":
            nan = np.isnan(raw)
    if np.any(nan):
        values = check.array(name, np.where(nan, 0.0, values), ndim=1, shape=alphas.shape)
        values[nan] = np.nan
    else:
        values = check.array(name, values, ndim=1, shape=alphas.shape)
    if positive and np.any(values <= 0):
        raise ValueError(f"{name} must be > 0, got {values.tolist()}")
    return alphas, values
