"""One declaration per experiment: each parameter's name, type, allowed range, description
and its values at the CI and the paper scale.

An experiment module ends with ``DECLARATION = declare(experiment, Parameter(...), ...)``
(one ``declare`` per experiment where a module has several), in the spirit of
scikit-learn's ``_parameter_constraints``. Everything else that states a parameter is derived
from it: the claims' scales (``Claim.params``), the command line's types, ranges and checks
(``matrix_sensing.parameters``), and each claim notebook's ``parameters`` cell and
paper-scale file ``notebooks/params/<notebook>_paper.yaml`` (written by
``tools/sync_parameters.py``, ``make parameters``).

A notebook that runs several experiments takes the union of their parameters. Where they
share a name with one meaning, each declares it with the same :class:`Parameter` object and
the notebook has one value for it; where a name means something else in each (P1-P3's
``n``, ``m``), each declaration gives a ``suffix`` and the notebook takes the name with it
(``m_p1`` is the ``m`` of P1's experiment, :meth:`Declaration.arguments`).

:func:`declare` checks the declaration at import: every keyword parameter of the experiment
without a default (``seed`` aside) is declared and nothing else is, and both scales lie in
the declared ranges. The experiment function keeps its own checks for direct callers; a test
holds the two together (a value just outside a declared bound is refused by both).
"""

from __future__ import annotations

import inspect
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

SCALES = ("ci", "paper")

# Upper bounds on sizes and iteration counts are guards against a mistyped value (n1=1e9,
# iters=1e12) that would exhaust the machine's memory or never finish, not constants of the
# paper; every paper-scale value lies below them (declare() checks it).
MAX_SIZE, MAX_MEASUREMENTS, MAX_ITERS = 10**4, 10**6, 10**7

# Interval.closed -> (low included, high included)
_CLOSED = {
    "both": (True, True),
    "left": (True, False),
    "right": (False, True),
    "neither": (False, False),
}


class ParameterError(ValueError):
    """A parameter value that is unknown, of the wrong type or out of range."""


@dataclass(frozen=True)
class Interval:
    """Allowed values of a number: ``kind`` (int or float) from ``low`` to ``high`` (None:
    unbounded), the bounds included or not as ``closed`` says: ``"both"``, ``"left"``,
    ``"right"`` or ``"neither"`` (scikit-learn's ``Interval`` constraint)."""

    kind: type
    low: float | None
    high: float | None
    closed: str = "both"

    def __post_init__(self):
        if self.kind not in (int, float):
            raise TypeError(f"kind must be int or float, got {self.kind!r}")
        if self.closed not in _CLOSED:
            raise ValueError(f"closed must be one of {sorted(_CLOSED)}, got {self.closed!r}")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low must be < high, got low={self.low}, high={self.high}")


# The ranges most parameters share.
SIZE = Interval(int, 1, MAX_SIZE)  # n1, n2, n, r, k, widths, number of starts
MEASUREMENTS = Interval(int, 1, MAX_MEASUREMENTS)  # m
ITERATIONS = Interval(int, 1, MAX_ITERS)  # at least one step
POSITIVE = Interval(float, 0.0, None, closed="right")  # α, μ, levels, weights: > 0
CONDITION_NUMBER = Interval(float, 1.0, None)  # κ = σ_1/σ_r >= 1
SMALL_SCALE = Interval(float, 0.0, 1.0, closed="neither")  # α in (0, 1)


@dataclass(frozen=True)
class Parameter:
    """One parameter of an experiment (or the seeds of a notebook).

    ``allowed`` is the range of the value, or of every entry when the values are lists;
    ``default`` is the value at the CI scale (what a notebook runs unless told otherwise),
    ``paper`` the value at the paper scale; ``description`` is one line, with the paper's
    symbols.
    """

    name: str
    allowed: Interval
    default: object
    paper: object
    description: str

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise TypeError(f"name must be a parameter name such as 'n1', got {self.name!r}")
        if not isinstance(self.allowed, Interval):
            raise TypeError(f"allowed of {self.name} must be an Interval, got {self.allowed!r}")
        if not isinstance(self.description, str) or not self.description.strip():
            raise ValueError(f"description of {self.name} must be a non-empty line")
        if "\n" in self.description:
            raise ValueError(f"description of {self.name} must be one line")

    @property
    def kind(self) -> type:
        """``list`` when the values are lists, else the type of the value."""
        return list if isinstance(self.default, list) else self.allowed.kind

    @property
    def item(self) -> type | None:
        """The type of a list's entries (None for a single value)."""
        return self.allowed.kind if self.kind is list else None

    @property
    def low(self) -> float | None:
        return self.allowed.low

    @property
    def high(self) -> float | None:
        return self.allowed.high

    @property
    def low_included(self) -> bool:
        return _CLOSED[self.allowed.closed][0]

    @property
    def high_included(self) -> bool:
        return _CLOSED[self.allowed.closed][1]

    def value(self, scale: str):
        """The value at ``scale`` (``"ci"`` or ``"paper"``), lists copied."""
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {list(SCALES)}, got {scale!r}")
        value = self.default if scale == "ci" else self.paper
        return list(value) if isinstance(value, list) else value

    def range_text(self) -> str:
        parts = []
        if self.low is not None:
            parts.append(f"{'>=' if self.low_included else '>'} {self.low:g}")
        if self.high is not None:
            parts.append(f"{'<=' if self.high_included else '<'} {self.high:g}")
        return " and ".join(parts) if parts else "any"

    def type_text(self) -> str:
        if self.kind is list:
            return f"list of {self.item.__name__}"
        return self.kind.__name__

    def parse(self, text: str):
        """Turn command-line text into a value of this parameter's type, then validate it."""
        if self.kind is list:
            try:
                value = (
                    json.loads(text)
                    if text.strip().startswith("[")
                    else [json.loads(part) for part in text.replace(",", " ").split()]
                )
            except (json.JSONDecodeError, RecursionError):
                raise ParameterError(
                    f"{self.name} must be a {self.type_text()} such as [1, 2], got {text!r}"
                ) from None
            return self.validate(value)
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise ParameterError(f"{self.name} must be {self._a()}, got {text!r}") from None
        return self.validate(value)

    def validate(self, value):
        """Return ``value`` (int promoted to float where a float is expected) or raise
        :class:`ParameterError` naming the parameter, its type and range."""
        if self.kind is list:
            if not isinstance(value, list) or not value:
                raise ParameterError(
                    f"{self.name} must be a non-empty {self.type_text()}, got {value!r}"
                )
            return [self._scalar(v, self.item) for v in value]
        return self._scalar(value, self.kind)

    def _a(self) -> str:
        kind = "an integer" if (self.item or self.kind) is int else "a number"
        return kind if self.range_text() == "any" else f"{kind} {self.range_text()}"

    def _scalar(self, value, kind):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParameterError(f"{self.name} must be {self._a()}, got {value!r}")
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise ParameterError(f"{self.name} must be {self._a()}, got {value!r}")
            value = int(value)
        else:
            try:
                value = float(value)
            except OverflowError:  # an integer beyond the float range
                value = math.inf
            if not math.isfinite(value):
                raise ParameterError(f"{self.name} must be finite, got {value}")
        too_low = self.low is not None and (
            value < self.low or (value == self.low and not self.low_included)
        )
        too_high = self.high is not None and (
            value > self.high or (value == self.high and not self.high_included)
        )
        if too_low or too_high:
            raise ParameterError(f"{self.name} must be {self._a()}, got {value!r}")
        return value


@dataclass(frozen=True, repr=False)
class Declaration:
    """The parameters of one experiment function, in the order of its notebook's
    ``parameters`` cell; ``scales`` maps ``"ci"`` and ``"paper"`` to ``{name: value}`` (the
    function's own names). ``suffix`` ("" or such as ``"_p1"``) is appended to every name in
    the notebook (:attr:`notebook_parameters`)."""

    experiment: Callable
    parameters: tuple[Parameter, ...]
    suffix: str = ""
    scales: Mapping[str, Mapping[str, object]] = field(init=False, compare=False)

    def __post_init__(self):
        if not callable(self.experiment):
            raise TypeError(f"experiment must be a function, got {self.experiment!r}")
        what = f"the declaration of {self.experiment.__name__}"
        if not isinstance(self.parameters, tuple) or not all(
            isinstance(p, Parameter) for p in self.parameters
        ):
            raise TypeError(f"{what}: parameters must be a tuple of Parameter")
        if not isinstance(self.suffix, str):
            raise TypeError(f"{what}: suffix must be '' or such as '_p1', got {self.suffix!r}")
        if not re.fullmatch(r"(_[a-z0-9]+)?", self.suffix):
            raise ValueError(f"{what}: suffix must be '' or such as '_p1', got {self.suffix!r}")
        names = [p.name for p in self.parameters]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"{what} names {twice} more than once")
        signature = inspect.signature(self.experiment).parameters
        required = {
            name
            for name, p in signature.items()
            if p.kind is p.KEYWORD_ONLY and p.default is p.empty and name != "seed"
        }
        missing = sorted(required - set(names))
        extra = sorted(set(names) - (set(signature) - {"seed"}))
        if missing or extra:
            raise ValueError(
                f"{what} must declare every keyword parameter of the function but seed: "
                f"missing {missing}, not parameters of the function {extra}"
            )
        for p in self.parameters:
            for scale in SCALES:
                _check_value(p, scale, what)
        scales = {
            scale: MappingProxyType({p.name: p.value(scale) for p in self.parameters})
            for scale in SCALES
        }
        object.__setattr__(self, "scales", MappingProxyType(scales))

    @property
    def notebook_parameters(self) -> tuple[Parameter, ...]:
        """The parameters as the notebook takes them, each name with ``suffix`` appended."""
        if not self.suffix:
            return self.parameters
        return tuple(replace(p, name=p.name + self.suffix) for p in self.parameters)

    def arguments(self, values: Mapping[str, object]) -> dict:
        """The experiment's keyword arguments (seed aside) from ``values``, the notebook's
        parameters by their notebook names (e.g. the notebook's ``globals()``)."""
        if not isinstance(values, Mapping):
            raise TypeError(f"values must be a mapping of parameter names, got {values!r}")
        names = {p.name: p.name + self.suffix for p in self.parameters}
        missing = [name for name in names.values() if name not in values]
        if missing:
            raise ValueError(
                f"values must give every parameter of {self.experiment.__name__}: missing {missing}"
            )
        return {name: values[given] for name, given in names.items()}

    def __getitem__(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(f"{self.experiment.__name__} has no parameter {name!r}")

    def __repr__(self) -> str:
        names = ", ".join(p.name for p in self.parameters)
        return f"Declaration({self.experiment.__name__}: {names})"


def _check_value(p: Parameter, scale: str, what: str) -> None:
    """The value at ``scale`` has exactly the declared type (a float written as a float, so
    that the generated notebook cell keeps it one) and lies in the declared range."""
    value = p.value(scale)
    values = value if isinstance(value, list) else [value]
    if isinstance(p.default, list) != isinstance(p.paper, list) or not values:
        raise ValueError(f"{what}: {p.name} must be a list at both scales or at neither")
    wrong = [v for v in values if type(v) is not p.allowed.kind]
    if wrong:
        raise TypeError(
            f"{what}: the {scale} value of {p.name} must be of type "
            f"{p.allowed.kind.__name__}, got {value!r}"
        )
    try:
        p.validate(value)
    except ParameterError as exc:
        raise ValueError(f"{what}: the {scale} value is out of range: {exc}") from None


_DECLARATIONS: dict[Callable, Declaration] = {}


def declare(experiment: Callable, *parameters: Parameter, suffix: str = "") -> Declaration:
    """Declare the parameters of ``experiment`` (checked as :class:`Declaration` says) and
    make the declaration what :func:`declaration_of` returns for it. ``suffix``: appended to
    each name in the notebook, for an experiment whose names mean something else in the
    other experiments of its notebook."""
    declaration = Declaration(experiment, parameters, suffix)
    if experiment in _DECLARATIONS:
        raise ValueError(f"{experiment.__name__} is declared twice")
    _DECLARATIONS[experiment] = declaration
    return declaration


def declaration_of(experiment: Callable) -> Declaration | None:
    """The declaration of ``experiment``, or None if it has none."""
    return _DECLARATIONS.get(experiment)
