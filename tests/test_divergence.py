"""Divergence of every algorithm (issue 7): a too-large step raises
:class:`~matrix_sensing.DivergenceError` naming the algorithm and the iteration, with a hint
about that algorithm's step, never a silent NaN."""

from __future__ import annotations

import numpy as np
import pytest

import matrix_sensing as ms
from matrix_sensing.experiments.preconditioning import gd_until
from matrix_sensing.experiments.robust import symmetric_sensing
from matrix_sensing.operators import SymmetricGaussianSensing
from matrix_sensing.solvers import (
    DivergenceError,
    divergence_context,
    nystrom_init,
    preconditioned_gd,
    scaled_gd_factorization,
    subgradient_method,
    symmetric_gd,
    symmetric_l2_gd,
    symmetric_subgradient_method,
)
from matrix_sensing.targets import psd_target


@pytest.fixture(scope="module")
def asymmetric():
    truth = ms.low_rank_target(8, 6, 2, kappa=2.0, seed=0)
    op = ms.GaussianSensing(80, (8, 6), seed=1)
    U0, V0 = ms.small_random_init(8, 6, 2, 0.5, seed=2)
    return op, op(truth), U0, V0, truth


@pytest.fixture(scope="module")
def symmetric():
    truth = psd_target(6, 2, 2.0, seed=0)
    U0 = 0.5 * np.random.default_rng(0).standard_normal((6, 2))
    return truth, U0


def _cases(asymmetric, symmetric):
    op, y, U0, V0, _ = asymmetric
    truth, W0 = symmetric
    sop = symmetric_sensing(6, 60, seed=1)
    gop = SymmetricGaussianSensing(60, 6, seed=1)
    M = psd_target(8, 2, 2.0, seed=0)
    return {
        "ScaledGD": (
            lambda: preconditioned_gd(op, y, U0, V0, 3.0, 100, policy="scaledgd"),
            "step=3 is too large for ScaledGD",
        ),
        "ScaledGD(λ)": (
            lambda: preconditioned_gd(op, y, U0, V0, 3.0, 100, policy="scaledgd_lambda", lam=0.1),
            "or a larger damping lam",
        ),
        "PrecGD": (
            lambda: preconditioned_gd(op, y, U0, V0, 3.0, 100, policy="precgd"),
            "step=3 is too large for PrecGD",
        ),
        "preconditioned gradient descent (custom damping)": (
            lambda: preconditioned_gd(op, y, U0, V0, 3.0, 100, policy=lambda U, V, f: 0.01),
            "try step=0.5",
        ),
        "ScaledGD (matrix factorization)": (
            lambda: scaled_gd_factorization(M, *nystrom_init(M, 2, seed=0), 3.0, 100),
            "the analysis of the Nyström start (module docstring) uses step=0.5",
        ),
        "sub-gradient method (ℓ1 loss)": (
            lambda: subgradient_method(op, y, U0, V0, 5.0, 1.0, 100),
            "μ_t = step0·decay^t are too large (step0=5, decay=1, μ_t=5 here): try step0=2.5",
        ),
        "symmetric sub-gradient method (ℓ1 loss)": (
            lambda: symmetric_subgradient_method(sop, sop(truth), W0, 5.0, 1.0, 100),
            "or a smaller decay",
        ),
        "symmetric gradient descent (ℓ2 loss)": (
            lambda: symmetric_l2_gd(sop, sop(truth), W0, 5.0, 100),
            "step=5 is too large",
        ),
        "symmetric gradient descent": (
            lambda: symmetric_gd(gop, gop(truth), W0, 5.0, 100, method="gram"),
            "gradient descent on U U^T needs step ≲ 1/||X||",
        ),
        "gradient descent (run 0 of a batch of 2)": (
            lambda: ms.factorized_gd(op, y, np.stack([U0, U0]), np.stack([V0, V0]), 5.0, 100),
            "try step=2.5 or smaller",
        ),
    }


ALGORITHMS = [
    "ScaledGD",
    "ScaledGD(λ)",
    "PrecGD",
    "preconditioned gradient descent (custom damping)",
    "ScaledGD (matrix factorization)",
    "sub-gradient method (ℓ1 loss)",
    "symmetric sub-gradient method (ℓ1 loss)",
    "symmetric gradient descent (ℓ2 loss)",
    "symmetric gradient descent",
    "gradient descent (run 0 of a batch of 2)",
]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_too_large_step_raises_with_algorithm_iteration_and_hint(asymmetric, symmetric, algorithm):
    run, hint = _cases(asymmetric, symmetric)[algorithm]
    with pytest.raises(DivergenceError) as info:
        run()
    error = info.value
    assert error.algorithm == algorithm
    assert error.iteration >= 1
    assert str(error).startswith(f"{algorithm} diverged at iteration {error.iteration}: loss ")
    assert hint in str(error).split(". Hint: ", 1)[1]


def test_overflow_is_a_divergence_not_a_nan(asymmetric):
    # Only an overflow stops this run (a huge factor): ScaledGD must still report it.
    M = psd_target(8, 2, 2.0, seed=0)
    with pytest.raises(
        DivergenceError, match=r"ScaledGD \(matrix factorization\) diverged at iteration \d+"
    ):
        scaled_gd_factorization(M, *nystrom_init(M, 2, seed=0), 3.0, 3000, divergence_factor=1e300)
    op, y, U0, V0, _ = asymmetric
    with pytest.raises(
        DivergenceError, match=r"PrecGD diverged at iteration 0: loss (nan|inf) is not finite"
    ):
        preconditioned_gd(op, y, 1e200 * U0, 1e200 * V0, 0.5, 10, policy="precgd")


def test_chunked_runs_report_the_iteration_of_the_whole_run(asymmetric):
    op, y, U0, V0, truth = asymmetric
    with pytest.raises(DivergenceError) as whole:
        ms.factorized_gd(op, y, U0, V0, 1.4, 200)
    assert whole.value.iteration > 2
    with pytest.raises(DivergenceError) as chunked:
        gd_until(op, y, U0, V0, 1.4, 200, truth=truth, tol=1e-12, chunk=2)
    # Each chunk of 2 iterations restarts factorized_gd (and its bound, hence ">="); the
    # error counts from the start of the whole run, not of the chunk (which would be <= 2).
    assert chunked.value.iteration >= whole.value.iteration > 2


def test_divergence_context_shifts_and_renames(asymmetric):
    op, y, U0, V0, _ = asymmetric
    with pytest.raises(DivergenceError) as inner:
        ms.factorized_gd(op, y, U0, V0, 5.0, 100)
    with pytest.raises(DivergenceError) as info:
        with divergence_context(offset=100, algorithm="outer", hint="outer hint"):
            ms.factorized_gd(op, y, U0, V0, 5.0, 100)
    error, first = info.value, inner.value
    assert (error.iteration, error.loss, error.step, error.bound) == (
        first.iteration + 100,
        first.loss,
        5.0,
        first.bound,
    )
    assert str(error).startswith(f"outer diverged at iteration {first.iteration + 100}: loss ")
    assert str(error).endswith(". Hint: outer hint")
    with pytest.raises(DivergenceError, match=r"^gradient descent diverged at iteration"):
        with divergence_context(offset=7):
            ms.factorized_gd(op, y, U0, V0, 5.0, 100)
