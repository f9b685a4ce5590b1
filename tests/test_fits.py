"""The lines the claims fit against α (:mod:`matrix_sensing.fits`): exact power laws and
logarithmic times are recovered, a missing time gives a NaN line, and the claims read the
same line as scipy's least squares."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from matrix_sensing.fits import loglog_fit, semilog_fit


def test_loglog_fit_recovers_the_exponent():
    alphas = np.array([1e-3, 1e-4, 1e-5, 1e-6, 1e-7])
    fit = loglog_fit(alphas, 3.0 * alphas**0.7)
    assert fit.slope == pytest.approx(0.7)
    assert math.exp(fit.intercept) == pytest.approx(3.0)
    alphas = np.array([1e-2, 1e-4, 1e-6])
    assert loglog_fit(alphas, 3.0 * alphas**0.75).slope == pytest.approx(0.75, abs=1e-12)


def test_semilog_fit_slope_and_r_squared():
    alphas = np.array([1e-2, 1e-4, 1e-6, 1e-8])
    times = 8.0 * np.log(1 / alphas) + 20
    fit = semilog_fit(alphas, times)
    assert fit.slope == pytest.approx(8.0)
    assert fit.intercept == pytest.approx(20.0)
    assert fit.rvalue**2 == pytest.approx(1.0)
    alphas = np.array([1e-2, 1e-4, 1e-6])
    assert semilog_fit(alphas, 5.0 + 4.5 * np.log(1 / alphas)).slope == pytest.approx(
        4.5, abs=1e-12
    )


def test_fits_are_scipys_least_squares_lines():
    alphas = np.array([1e-2, 1e-3, 1e-4, 1e-5])
    errors = np.array([1e-2, 2e-3, 1e-4, 2e-5])
    times = np.array([10.0, 14.0, 21.0, 25.0])
    assert loglog_fit(alphas, errors) == stats.linregress(np.log(alphas), np.log(errors))
    assert semilog_fit(alphas, times) == stats.linregress(np.log(1 / alphas), times)
    assert loglog_fit(list(alphas), list(errors)).slope == loglog_fit(alphas, errors).slope


def test_a_missing_time_gives_a_nan_line_but_a_missing_error_is_refused():
    alphas = np.array([1e-2, 1e-3, 1e-4])
    assert math.isnan(semilog_fit(alphas, [10.0, math.nan, 31.0]).slope)
    with pytest.raises(ValueError, match="errors must contain only finite values"):
        loglog_fit(alphas, [1e-2, math.nan, 1e-4])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: loglog_fit([1e-2], [1e-2]),
            "alphas must hold at least 2 scales for a line, got 1",
        ),
        (lambda: loglog_fit([1e-2, -1e-3], [1e-2, 1e-3]), "alphas must be > 0, got [0.01, -0.001]"),
        (lambda: loglog_fit([1e-2, 1e-3], [1e-2, 0.0]), "errors must be > 0, got [0.01, 0.0]"),
        (lambda: loglog_fit([1e-2, 1e-3], [1e-2]), "errors must have shape (2,)"),
        (lambda: semilog_fit([1e-2, 1e-3], [1.0, 2.0, 3.0]), "times must have shape (2,)"),
        (lambda: semilog_fit([[1e-2, 1e-3]], [1.0, 2.0]), "alphas must have 1 dimension"),
    ],
)
def test_bad_points_are_refused_naming_them(call, message):
    with pytest.raises(ValueError) as info:
        call()
    assert message in str(info.value)
