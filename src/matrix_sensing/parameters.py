"""What values a claim's parameters may take, for the command line and papermill.

A claim's parameters are those of its notebook, named as the notebook's ``parameters`` cell
names them: the parameters declared by the experiments of the claims the notebook shows,
each with its type, allowed range, description and CI and paper values (:class:`Parameter`,
declared once at the end of the experiment's module; a name with its declaration's suffix,
such as ``m_p1``), followed by the notebook's ``seeds`` and ``workers``. ``Claim.params``
gives the same values under the experiment's own names.
"""

from __future__ import annotations

from . import _validation as check
from .experiments.declaration import (
    MAX_ITERS,
    MAX_MEASUREMENTS,
    MAX_SIZE,
    SCALES,
    Interval,
    Parameter,
    ParameterError,
)
from .parallel import MAX_WORKERS

__all__ = [
    "EXECUTION_OPTIONS",
    "MAX_ITERS",
    "MAX_MEASUREMENTS",
    "MAX_SIZE",
    "SEEDS",
    "Interval",
    "Parameter",
    "ParameterError",
    "claim_parameters",
    "notebook_values",
]

# The seeds of every claim notebook, at both scales.
SEEDS = [0, 1, 2, 3, 4]
_SEEDS = Parameter(
    "seeds", Interval(int, 0, None), SEEDS, SEEDS, "seeds of the runs; the claim must hold on each"
)
# Where the runs are computed, which changes no number (matrix_sensing.parallel): local
# processes, or these two options, which are not numbers and so no Parameter.
_WORKERS = Parameter(
    "workers",
    Interval(int, 0, MAX_WORKERS),
    1,
    1,
    "processes running the seeds side by side (1: this one)",
)
#: The notebooks' options besides :func:`claim_parameters`, with their default and meaning.
EXECUTION_OPTIONS = {
    "scheduler": (None, 'or a Dask scheduler ("tcp://host:port") runs them instead'),
    "checkpoints": (None, "a folder keeping each finished run, to resume an interrupted one"),
}


def claim_parameters(claim_id: str) -> list[Parameter]:
    """The parameters the notebook of ``claim_id`` accepts, by the names it takes: those
    declared by the experiments of every claim it shows (a name they share is one parameter,
    declared alike), then ``seeds`` and ``workers`` (see :data:`EXECUTION_OPTIONS` for the
    rest of the cell). ``p.default`` is the CI value of ``p``, ``p.paper`` its
    paper value."""
    from . import claims

    notebook = claims.get(claim_id).notebook
    merged: dict[str, Parameter] = {}
    for claim in map(claims.get, claims.ids()):
        if claim.notebook != notebook:
            continue
        for p in claim.declaration.notebook_parameters:
            if merged.setdefault(p.name, p) != p:
                raise ValueError(
                    f"{notebook} runs experiments that declare {p.name} differently: "
                    "declare it alike (one Parameter) or give them suffixes"
                )
    return [*merged.values(), _SEEDS, _WORKERS]


def notebook_values(claim_id: str, scale: str = "ci") -> dict:
    """``{name: value}`` at ``scale`` (``"ci"`` or ``"paper"``) of every parameter of
    :func:`claim_parameters`, seeds included: what the notebook of ``claim_id`` runs with
    at that scale (its ``parameters`` cell, resp. its paper-scale file)."""
    check.choice("scale", scale, SCALES)
    return {p.name: p.value(scale) for p in claim_parameters(claim_id)}
