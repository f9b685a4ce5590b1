"""``matrix-sensing list``: the claims, their notebooks and the parameters they accept."""

from __future__ import annotations

from pathlib import Path

from .. import claims, summary
from .._resources import NotebooksMissing, notebooks_folder
from ..parameters import claim_parameters
from ._base import EXIT_PASS, UsageError


def add_parser(sub) -> None:
    sub.add_parser("list", help="the claims, their notebooks and the parameters they accept")


def command(args) -> int:
    # Claims that share a notebook share its parameters: list them once, after its claims.
    recorded = {scale: summary.recorded(scale) for scale in claims.SCALES}
    by_notebook: dict[str, list[str]] = {}
    for claim_id in claims.ids():
        by_notebook.setdefault(claims.get(claim_id).notebook, []).append(claim_id)
    for notebook, claim_ids in by_notebook.items():
        for claim_id in claim_ids:
            claim = claims.get(claim_id)
            print(f"{claim_id:4s} {claim.title}  [{claim.source}]")
        print(f"     notebook: {notebook}")
        print(f"     wall time per seed: {_costs(recorded, Path(notebook).stem)}")
        for p in claim_parameters(claim_ids[0]):
            print(
                f"       {p.name:18s} {p.type_text():15s} default {p.default!r:14}"
                f" allowed {p.range_text()}"
            )
    try:
        folder = notebooks_folder()
    except NotebooksMissing as exc:
        raise UsageError(str(exc)) from None
    for scale, found in recorded.items():
        if found is not None:
            print(f"wall times at {scale} scale: `run --all` of {summary.measured_on(found)}")
    print(f"notebooks (paper-scale parameter files in params/): {folder}")
    return EXIT_PASS


def _costs(recorded: dict, stem: str) -> str:
    """``"ci 0.4 s, paper 1 min 50 s"``: the recorded wall time per seed at each scale."""
    costs = []
    for scale, found in recorded.items():
        per_seed = summary.cost_per_seed(found, stem)
        shown = summary.duration(per_seed) if per_seed is not None else "not measured"
        costs.append(f"{scale} {shown}")
    return ", ".join(costs)
