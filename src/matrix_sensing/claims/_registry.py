"""The claim registry: each claim's statement, its thresholds (stated once, here, and
rendered into the statement), the experiment that measures it and its parameter scales (from
the experiment's declaration)."""

from __future__ import annotations

import json
import math
import operator
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import _validation as check
from ..experiments import Run
from ..experiments.declaration import SCALES, Declaration, declaration_of

_RELATIONS = {
    "<=": operator.le,
    ">=": operator.ge,
    "in": lambda value, bounds: bounds[0] <= value <= bounds[1],
}


class ClaimFailed(AssertionError):
    """Raised by a verdict whose measured values miss a claim's thresholds."""


@dataclass(frozen=True)
class Threshold:
    """``measured[quantity] <relation> value``: ``test_error <= 1e-3``, ``slope >= 0.5``, or
    a two-sided ``ratio in (1.6, 2.5)`` (bounds included; ``value`` is then ``(low, high)``
    with 0 < low < high)."""

    quantity: str
    relation: str
    value: float | tuple[float, float]

    def __post_init__(self):
        if not isinstance(self.quantity, str) or not self.quantity.isidentifier():
            raise TypeError(f"quantity must be a non-empty name, got {self.quantity!r}")
        if not isinstance(self.relation, str):
            raise TypeError(f"relation must be one of {sorted(_RELATIONS)}, got {self.relation!r}")
        check.choice("relation", self.relation, _RELATIONS)
        if self.relation == "in":
            if not isinstance(self.value, tuple | list) or len(self.value) != 2:
                raise TypeError(f"value must be a pair (low, high) for 'in', got {self.value!r}")
            low, high = (check.real("value", v) for v in self.value)
            if not 0 < low < high:
                raise ValueError(f"a two-sided threshold needs 0 < low < high, got {self.value}")
        else:
            check.real("value", self.value)

    def holds(self, measured: float) -> bool:
        return bool(math.isfinite(measured) and _RELATIONS[self.relation](measured, self.value))

    def margin(self, measured: float) -> float:
        """How many times the measurement could worsen before failing (< 1 when failing)."""
        if not math.isfinite(measured):
            return math.nan
        if self.relation == "<=":
            return self.value / measured if measured > 0 else math.inf
        if self.relation == ">=":
            return measured / self.value if self.value > 0 else math.inf
        low, high = self.value
        return min(measured / low, high / measured) if measured > 0 else 0.0

    def worst(self, values: Sequence[float]) -> float:
        """The value over seeds that is closest to (or furthest past) the threshold."""
        if not all(math.isfinite(v) for v in values):
            return math.nan
        return min(values, key=self.margin)

    def describe(self, measured: float) -> str:
        if self.relation == "in":
            low, high = self.value
            return f"{self.quantity}={measured:.2e} in [{low:.3g}, {high:.3g}]"
        return f"{self.quantity}={measured:.2e} {self.relation} {self.value:.3g}"


@dataclass(frozen=True)
class Claim:
    """A statement of the paper (or a neighbour) as this project checks it.

    ``statement`` is given as a template in which ``${quantity}`` stands for the value of the
    threshold on ``quantity`` (``[low, high]`` for a two-sided one; ``${quantity.low}`` and
    ``${quantity.high}`` for its bounds) and ``${name}`` for the CI-scale value of the
    experiment's parameter ``name`` (a list as its values separated by commas: ``{${alphas}}``
    reads ``{0.03, 0.05}``), so that no threshold is typed twice; the attribute holds the
    rendered text, ``template`` the text as given. ``declaration`` is that of the
    experiment (:func:`~matrix_sensing.experiments.declaration.declare`, at the end of its
    module), and ``scales`` (``"ci"`` and ``"paper"`` to ``{parameter: value}``) are its.
    """

    id: str
    title: str
    statement: str
    experiment: Callable[..., Run]
    thresholds: tuple[Threshold, ...]
    measure: Callable[[Run], dict[str, float]]
    notebook: str
    source: str = "main paper"
    declaration: Declaration = field(init=False, repr=False, compare=False)
    template: str = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if not isinstance(self.id, str) or not self.id:
            raise TypeError(f"id must be a claim id such as 'M1', got {self.id!r}")
        for name in ("experiment", "measure"):
            if not callable(getattr(self, name)):
                raise TypeError(f"{name} must be callable, got {getattr(self, name)!r}")
        if not isinstance(self.thresholds, tuple) or not all(
            isinstance(t, Threshold) for t in self.thresholds
        ):
            raise TypeError(f"thresholds must be a tuple of Threshold, got {self.thresholds!r}")
        declaration = declaration_of(self.experiment)
        if declaration is None:
            raise ValueError(
                f"claim {self.id}: experiment {self.experiment.__name__} declares no "
                f"parameters; declare them at the end of {self.experiment.__module__} "
                "(DECLARATION = declare(...))"
            )
        object.__setattr__(self, "declaration", declaration)
        if not isinstance(self.statement, str):
            raise TypeError(f"statement must be a text, got {self.statement!r}")
        object.__setattr__(self, "template", self.statement)
        values = self.scales["ci"]
        object.__setattr__(
            self, "statement", _render(self.id, self.template, self.thresholds, values)
        )

    @property
    def scales(self) -> Mapping[str, Mapping[str, object]]:
        """``"ci"`` and ``"paper"`` to the experiment's ``{parameter: value}``."""
        return self.declaration.scales

    def threshold(self, quantity: str) -> Threshold:
        """The threshold on ``quantity`` (e.g. ``"test_error"``)."""
        for threshold in self.thresholds:
            if threshold.quantity == quantity:
                return threshold
        known = [t.quantity for t in self.thresholds]
        raise ValueError(f"claim {self.id} has no threshold on {quantity!r}; it has {known}")

    def params(self, scale: str = "ci", **overrides) -> dict:
        """The experiment's parameters at ``scale`` with ``overrides`` applied."""
        check.choice("scale", scale, SCALES)
        params = dict(self.scales[scale])
        unknown = sorted(set(overrides) - set(params))
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown} for claim {self.id}; allowed: {sorted(params)}"
            )
        params.update(overrides)
        return params


class _Statement(string.Template):
    # ${quantity.low} and ${quantity.high} name the bounds of a two-sided threshold.
    idpattern = r"[_a-z][_a-z0-9]*(?:\.(?:low|high))?"


def _render(claim_id: str, template: str, thresholds: Sequence[Threshold], values: Mapping) -> str:
    """``template`` with ``${quantity}`` replaced by the value of the threshold on
    ``quantity`` and ``${name}`` by ``values[name]``, a number or a list of numbers (see
    :class:`Claim`)."""
    names: dict[str, str] = {}
    for name, value in values.items():
        if _is_number(value):
            names[name] = _number(value)
        elif isinstance(value, list) and value and all(map(_is_number, value)):
            names[name] = ", ".join(map(_number, value))
    for t in thresholds:
        if t.quantity in names:
            raise ValueError(
                f"claim {claim_id}: {t.quantity!r} names both a threshold and a parameter"
            )
        if t.relation == "in":
            low, high = t.value
            names.update(
                {
                    t.quantity: f"[{_number(low)}, {_number(high)}]",
                    f"{t.quantity}.low": _number(low),
                    f"{t.quantity}.high": _number(high),
                }
            )
        else:
            names[t.quantity] = _number(t.value)
    try:
        return _Statement(template).substitute(names)
    except KeyError as exc:
        raise ValueError(
            f"claim {claim_id}: the statement names ${{{exc.args[0]}}}, which is neither a "
            f"threshold nor a parameter; known: {sorted(names)}"
        ) from None
    except ValueError as exc:
        raise ValueError(f"claim {claim_id}: {exc} in the statement") from None


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: float) -> str:
    """A number as the statements write it: ``1e-3``, ``0.05``, ``2``, ``1.3``, ``1500``."""
    if isinstance(value, int):
        return str(value)
    if value != 0 and abs(value) <= 1e-2:
        return np.format_float_scientific(value, trim="-", exp_digits=1)
    return np.format_float_positional(value, trim="-")


@dataclass(frozen=True)
class ClaimResult:
    """One claim measured on one seed."""

    claim: Claim
    seed: int
    measured: dict[str, float]
    params: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(t.holds(self.measured[t.quantity]) for t in self.claim.thresholds)

    def line(self) -> str:
        checks = "; ".join(t.describe(self.measured[t.quantity]) for t in self.claim.thresholds)
        return f"{self.claim.id} {'PASS' if self.passed else 'FAIL'} (seed {self.seed}) {checks}"


@dataclass(frozen=True)
class Verdict:
    """A claim over several seeds: it passes only if every seed passes. The values shown
    are the worst over seeds, next to the thresholds."""

    claim: Claim
    results: tuple[ClaimResult, ...]

    @property
    def seeds_passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def passed(self) -> bool:
        return bool(self.results) and self.seeds_passed == len(self.results)

    def worst(self) -> dict[str, float]:
        return {
            t.quantity: t.worst([r.measured[t.quantity] for r in self.results])
            for t in self.claim.thresholds
        }

    def margins(self) -> dict[str, float]:
        """Per quantity, the factor by which the worst seed clears its threshold."""
        worst = self.worst()
        return {t.quantity: t.margin(worst[t.quantity]) for t in self.claim.thresholds}

    def line(self) -> str:
        """The stable one-line verdict: ``M1 PASS (5/5 seeds) worst test_error=... <= 0.001``."""
        worst = self.worst()
        checks = "; ".join(t.describe(worst[t.quantity]) for t in self.claim.thresholds)
        status = "PASS" if self.passed else "FAIL"
        return (
            f"{self.claim.id} {status} ({self.seeds_passed}/{len(self.results)} seeds) "
            f"worst {checks}"
        )

    def to_dict(self) -> dict:
        """A JSON-ready summary (the claims scoreboard is built from these)."""
        worst, margins = self.worst(), self.margins()
        return {
            "id": self.claim.id,
            "title": self.claim.title,
            "source": self.claim.source,
            "passed": self.passed,
            "seeds": [r.seed for r in self.results],
            "seeds_passed": self.seeds_passed,
            "measured": {
                t.quantity: [_json_float(r.measured[t.quantity]) for r in self.results]
                for t in self.claim.thresholds
            },
            "checks": [
                {
                    "quantity": t.quantity,
                    "relation": t.relation,
                    "threshold": list(t.value) if t.relation == "in" else t.value,
                    "worst": _json_float(worst[t.quantity]),
                    "margin": _json_float(margins[t.quantity]),
                }
                for t in self.claim.thresholds
            ],
            "line": self.line(),
        }

    def raise_if_failed(self) -> None:
        if not self.passed:
            raise ClaimFailed(f"claim {self.claim.id} ({self.claim.title}) failed: {self.line()}")


def _json_float(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


def record(verdicts: Sequence[Verdict], runtime_s: float) -> str:
    """The JSON record a notebook glues as ``claims_record`` for the scoreboard: its
    verdicts and the wall-clock time of its computation."""
    check.real("runtime_s", runtime_s, minimum=0.0)
    if not isinstance(verdicts, Sequence) or not all(isinstance(v, Verdict) for v in verdicts):
        raise TypeError(f"verdicts must be a list of Verdict, got {verdicts!r}")
    return json.dumps({"runtime_s": runtime_s, "verdicts": [v.to_dict() for v in verdicts]})


_CLAIMS: dict[str, Claim] = {}


def register(claim: Claim) -> Claim:
    if not isinstance(claim, Claim):
        raise TypeError(f"claim must be a Claim, got {type(claim).__name__}")
    if claim.id in _CLAIMS:
        raise ValueError(f"claim {claim.id} is registered twice")
    quantities = [t.quantity for t in claim.thresholds]
    if len(set(quantities)) != len(quantities):
        raise ValueError(f"claim {claim.id}: each threshold needs its own quantity, {quantities}")
    _CLAIMS[claim.id] = claim
    return claim


_FAMILIES = "MPN"  # main paper, symmetric precursor, neighbours


def _order(claim_id: str) -> tuple:
    family, number = claim_id[0], claim_id[1:]
    return (_FAMILIES.find(family) % 99, int(number) if number.isdigit() else 0, claim_id)


def ids() -> list[str]:
    """The registered claim ids: ``["M1", "M2", ..., "M10", ..., "P1", ..., "N1", ...]``."""
    return sorted(_CLAIMS, key=_order)


def get(claim_id: str) -> Claim:
    """The :class:`Claim` with this id; a ``ValueError`` lists the known ids otherwise."""
    if not isinstance(claim_id, str):
        raise TypeError(f"claim_id must be one of {ids()}, got {claim_id!r}")
    if claim_id not in _CLAIMS:
        raise ValueError(f"claim_id must be one of {ids()}, got {claim_id!r}")
    return _CLAIMS[claim_id]


def evaluate(claim_id: str, run: Run) -> ClaimResult:
    """Measure ``claim_id`` on an experiment :class:`~matrix_sensing.experiments.Run`."""
    claim = get(claim_id)
    if not isinstance(run, Run):
        raise TypeError(f"run must be an experiments.Run, got {type(run).__name__}")
    if run.experiment != claim.experiment.__name__:
        raise ValueError(
            f"claim {claim_id} is measured by experiment {claim.experiment.__name__!r}, "
            f"got a run of {run.experiment!r}"
        )
    measured = {name: float(value) for name, value in claim.measure(run).items()}
    missing = {t.quantity for t in claim.thresholds} - set(measured)
    if missing:
        raise RuntimeError(f"claim {claim_id}: measure() did not return {sorted(missing)}")
    return ClaimResult(claim, run.seed, measured, dict(run.params))


def run_experiment(claim_id: str, seed: int = 0, scale: str = "ci", **overrides) -> Run:
    """Run the experiment behind ``claim_id`` at ``scale`` (``"ci"`` or ``"paper"``)."""
    claim = get(claim_id)
    return claim.experiment(**claim.params(scale, **overrides), seed=check.seed("seed", seed))


def check_claim(claim_id: str, seed: int = 0, scale: str = "ci", **overrides) -> ClaimResult:
    """Run and measure one claim on one seed. ``overrides`` change experiment parameters."""
    return evaluate(claim_id, run_experiment(claim_id, seed, scale, **overrides))


def verdict(claim_id: str, results: Sequence[ClaimResult]) -> Verdict:
    """Combine per-seed results of ``claim_id`` into a :class:`Verdict`."""
    claim = get(claim_id)
    if not isinstance(results, Sequence) or not all(isinstance(r, ClaimResult) for r in results):
        raise TypeError(f"results must be a list of ClaimResult, got {results!r}")
    for result in results:
        if result.claim is not claim:
            raise ValueError(f"verdict for {claim_id} got a result of claim {result.claim.id}")
    return Verdict(claim, tuple(results))
