"""``matrix-sensing list``: the claims, their notebooks and the parameters they accept."""

from __future__ import annotations

from .. import claims
from .._resources import NotebooksMissing, notebooks_folder
from ..parameters import claim_parameters
from ._base import EXIT_PASS, UsageError


def add_parser(sub) -> None:
    sub.add_parser("list", help="the claims, their notebooks and the parameters they accept")


def command(args) -> int:
    # Claims that share a notebook share its parameters: list them once, after its claims.
    by_notebook: dict[str, list[str]] = {}
    for claim_id in claims.ids():
        by_notebook.setdefault(claims.get(claim_id).notebook, []).append(claim_id)
    for notebook, claim_ids in by_notebook.items():
        for claim_id in claim_ids:
            claim = claims.get(claim_id)
            print(f"{claim_id:4s} {claim.title}  [{claim.source}]")
        print(f"     notebook: {notebook}")
        for p in claim_parameters(claim_ids[0]):
            print(
                f"       {p.name:18s} {p.type_text():15s} default {p.default!r:14}"
                f" allowed {p.range_text()}"
            )
    try:
        folder = notebooks_folder()
    except NotebooksMissing as exc:
        raise UsageError(str(exc)) from None
    print(f"notebooks (paper-scale parameter files in params/): {folder}")
    return EXIT_PASS
