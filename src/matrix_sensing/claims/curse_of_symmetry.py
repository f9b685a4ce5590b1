"""Claim N1 (neighbour, see ``book/neighbours/curse_of_symmetry.md``): the curse of
symmetry of Xiong, Ding & Du (2024). Symmetric gradient descent converges linearly at the
exact width k = r but only sublinearly, no faster than c/t², once k > r."""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..experiments import Run
from ..experiments.symmetric import curse_of_symmetry
from ._registry import Claim, Threshold, register

# N1: at k = r the loss falls below EXACT_LEVEL within EXACT_DEADLINE iterations (a
# calibration at CPU scale, not the paper's numbers; see
# ``book/neighbours/curse_of_symmetry.md``).
EXACT_LEVEL = 1e-28
EXACT_DEADLINE = 1000

N1_THRESHOLDS = (
    # the smallest training loss at k = r over the recorded iterations t < 1000
    Threshold("exact_loss_before_1000", "<=", EXACT_LEVEL),
    # "t² L(t) increases": the smallest ratio of t² L(t) between successive check times,
    # over every width k > r
    Threshold("t2_loss_growth", ">=", 1),
)


def exact_fit_time(run: Run) -> float:
    """The first recorded iteration at which the loss at ``k = r`` is below
    :data:`EXACT_LEVEL` (``nan`` if never)."""
    history = run.results[f"k={run.data['rank']}"].history
    below = np.flatnonzero(history["train_loss"] < EXACT_LEVEL)
    return float(history["iteration"][below[0]]) if below.size else math.nan


def t2_loss_growth(run: Run) -> np.ndarray:
    """Ratios ``t_{j+1}² L(t_{j+1}) / (t_j² L(t_j))`` over the check times, one row per width
    ``k > r`` (in the order of ``widths``)."""
    data = run.data
    over = data["widths"] > data["rank"]
    values = data["t2_loss"][over]
    return np.array([[b / a for a, b in itertools.pairwise(row)] for row in values])


def measure_n1(run: Run) -> dict[str, float]:
    history = run.results[f"k={run.data['rank']}"].history
    early = history["iteration"] < EXACT_DEADLINE
    return {
        "exact_loss_before_1000": history["train_loss"][early].min(),
        "t2_loss_growth": t2_loss_growth(run).min(),
    }


N1 = register(
    Claim(
        id="N1",
        title="Curse of symmetry: overparameterized symmetric GD is sublinear",
        statement=(
            "Symmetric gradient descent on a PSD target with eigenvalues (${eigenvalues}) "
            "(n = ${n}, m = ${m}, U_0 = ${init_scale} G with G of i.i.d. N(0, 1) entries, "
            "μ = ${step}, T = ${iters}, widths k ∈ {${widths}}) converges linearly at the exact "
            "width k = r, reaching a training loss below ${exact_loss_before_1000} within 1000 "
            "iterations, but only sublinearly at every width k > r: t² L(t) increases over "
            "t = ${check_times} (each ratio of successive values at least ${t2_loss_growth}), "
            "so the loss decays no faster than c/t²."
        ),
        experiment=curse_of_symmetry,
        thresholds=N1_THRESHOLDS,
        measure=measure_n1,
        notebook="notebooks/n1_curse_of_symmetry.ipynb",
        source="Xiong, Ding & Du 2024",
    )
)
