"""What values a claim's parameters may take, for the command line and papermill.

A claim's parameters are those its experiment declares, each with its type, allowed range,
description and CI and paper values (:class:`Parameter`, declared once at the end of the
experiment's module), followed by the ``seeds`` of its notebook.
"""

from __future__ import annotations

import re

from .experiments._declaration import (
    MAX_ITERS,
    MAX_MEASUREMENTS,
    MAX_SIZE,
    Interval,
    Parameter,
    ParameterError,
    declaration_of,
)

__all__ = [
    "MAX_ITERS",
    "MAX_MEASUREMENTS",
    "MAX_SIZE",
    "SEEDS",
    "Interval",
    "Parameter",
    "ParameterError",
    "claim_parameters",
]

# The seeds of every claim notebook, at both scales.
SEEDS = [0, 1, 2, 3, 4]
_SEEDS = Parameter(
    "seeds", Interval(int, 0, None), SEEDS, SEEDS, "seeds of the runs; the claim must hold on each"
)


def claim_parameters(claim_id: str) -> list[Parameter]:
    """The parameters the notebook of ``claim_id`` accepts: those declared by the experiments
    of the claims it shows (a name they share is one parameter, declared alike), then
    ``seeds``. ``p.default`` is the CI value of ``p``, ``p.paper`` its paper value."""
    from . import claims

    claim = claims.get(claim_id)
    shown = [claims.get(c) for c in claims.ids() if claims.get(c).notebook == claim.notebook]
    declarations = [declaration_of(c.experiment) for c in shown]
    if None in declarations:
        paper = claim.params("paper")
        return [*(_undeclared(n, v, paper[n]) for n, v in claim.params("ci").items()), _SEEDS]
    merged: dict[str, Parameter] = {}
    for declaration in declarations:
        for p in declaration.parameters:
            if merged.setdefault(p.name, p) != p:
                raise ValueError(
                    f"{claim.notebook} runs experiments that declare {p.name} differently: "
                    "declare it alike (one Parameter) or give it different names"
                )
    return [*merged.values(), _SEEDS]


# Until the experiments of N1-N4 and P1-P3 declare their parameters (issue 16), theirs keep
# the ranges guessed from the names; delete _RULES and _undeclared with the last of them.
_RULES = [
    (r"^(n|n1|n2|k|r|width|extra_width|starts?|n_starts)$", int, 1, True, MAX_SIZE, True),
    (r"^m$", int, 1, True, MAX_MEASUREMENTS, True),
    (r"^(record_every|check_time)$", int, 1, True, MAX_ITERS, True),
    (r"(^|_)(iters|iterations|steps)($|_)|^(t|T)$", int, 0, True, MAX_ITERS, True),
    (r"(^|_)kappa", float, 1.0, True, None, True),
    (
        r"(^|_)(fraction|corruption|outlier_fraction)$|^(rebalance_)?floor$",
        float,
        0.0,
        True,
        1.0,
        True,
    ),
    (r"^decay", float, 0.0, False, 1.0, True),
    (r"(^|_)window$", float, 0.0, True, None, True),
    (
        r"(^|_)(alpha|step|mu|ratio|scale|magnitude|lam|lambda|damping|level|tol|unbalance|weight"
        r"|eigenvalue|below)",
        float,
        0.0,
        False,
        None,
        True,
    ),
]


def _undeclared(name: str, default, paper) -> Parameter:
    kind = type(default[0] if isinstance(default, list) else default)
    singular = name[:-1] if name.endswith("s") and not name.endswith("ss") else name
    lookup = re.sub(r"_p\d+$", "", singular if isinstance(default, list) else name)
    for pattern, rule_kind, low, low_in, high, high_in in _RULES:
        if re.search(pattern, lookup):
            closed = {(True, True): "both", (True, False): "left", (False, True): "right"}
            allowed = Interval(
                float if rule_kind is float else kind, low, high, closed[low_in, high_in]
            )
            return Parameter(name, allowed, default, paper, "(not declared yet)")
    return Parameter(name, Interval(kind, None, None), default, paper, "(not declared yet)")
