"""What values a claim's parameters may take, for the command line and papermill.

A claim's parameters are the keys of its scales (``Claim.params``); their type comes from the
CI default, and their allowed range from the name, by the conventions every experiment
follows (``n1``, ``m``, ``k`` >= 1; ``alpha*``, ``step*`` > 0; ``iters*`` >= 0; ``kappa`` >= 1;
a plural such as ``alphas`` follows its singular, element by element).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

# Upper bounds are guards against a mistyped value (n1=1e9, iters=1e12) that would exhaust the
# machine's memory or never finish, not constants of the paper: the largest paper-scale sizes
# are n = 200, m = 2520 and 16000 iterations.
MAX_SIZE, MAX_MEASUREMENTS, MAX_ITERS = 10**4, 10**6, 10**7

# (pattern on the singular name without a ``_p1``-style suffix, kind, low, low included, high,
# high included); the first match wins.
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
    (r"^seed", int, 0, True, None, True),
]


class ParameterError(ValueError):
    """A parameter value that is unknown, of the wrong type or out of range."""


@dataclass(frozen=True)
class Parameter:
    """One parameter: ``kind`` is int, float or list (of ``item``), with an allowed range."""

    name: str
    kind: type
    default: object
    low: float | None = None
    low_included: bool = True
    high: float | None = None
    high_included: bool = True
    item: type | None = None

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


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def spec(name: str, default) -> Parameter:
    """The :class:`Parameter` for ``name`` with CI default ``default``."""
    if not isinstance(name, str) or not name.isidentifier():
        raise TypeError(f"name must be a parameter name such as 'n1', got {name!r}")
    if isinstance(default, list | tuple):
        if not default or not all(_number(v) for v in default):
            raise TypeError(
                f"default of {name} must be a non-empty list of numbers, got {default!r}"
            )
        item = float if any(isinstance(v, float) for v in default) else int
        kind, lookup = list, _singular(name)
    else:
        if not _number(default):
            raise TypeError(f"default of {name} must be a number or a list, got {default!r}")
        item = None
        kind = float if isinstance(default, float) else int
        lookup = name
    lookup = re.sub(r"_p\d+$", "", lookup)
    for pattern, rule_kind, low, low_in, high, high_in in _RULES:
        if re.search(pattern, lookup):
            if kind is list:
                item = float if rule_kind is float else item
            elif rule_kind is float:
                kind = float
            return Parameter(name, kind, default, low, low_in, high, high_in, item)
    return Parameter(name, kind, default, item=item)


def claim_parameters(claim_id: str) -> list[Parameter]:
    """The parameters the notebook of ``claim_id`` accepts (``seeds`` included)."""
    from . import claims

    defaults = dict(claims.get(claim_id).params("ci"))
    defaults["seeds"] = [0, 1, 2, 3, 4]
    return [spec(name, default) for name, default in defaults.items()]
