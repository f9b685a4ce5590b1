"""The claims scoreboard: a table built at build time from the executed notebooks.

Every claim notebook glues a JSON ``claims_record`` (``matrix_sensing.claims.record``): its
verdicts with the worst measured values over seeds, the thresholds and the runtime. The
``{claims-scoreboard}`` directive leaves a placeholder that is filled once every notebook
has been executed (``doctree-resolved`` runs after the read phase), so nothing on the table
is typed by hand: a claim that fails shows FAIL, and a registered claim that no notebook
measured shows "not run".
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

RECORD_KEY = "claims_record"
logger = logging.getLogger(__name__)


class scoreboard_placeholder(nodes.General, nodes.Element):
    pass


class ClaimsScoreboard(SphinxDirective):
    has_content = False

    def run(self):
        if not hasattr(self.env, "scoreboard_docs"):
            self.env.scoreboard_docs = set()
        self.env.scoreboard_docs.add(self.env.docname)
        return [scoreboard_placeholder()]


def _always_outdated(app, env, added, changed, removed):
    # The table depends on every notebook: rewrite it on every build, never from a stale env.
    return sorted(getattr(env, "scoreboard_docs", set()) - set(removed))


def _records(env) -> dict[str, tuple[str, dict, float]]:
    """claim id -> (docname of the notebook, verdict dict, notebook runtime in seconds)."""
    folder = Path(env.mystnb_config.output_folder)
    found = {}
    for docname in sorted(env.found_docs):
        path = folder.joinpath(*docname.split("/")[:-1], f"{docname.split('/')[-1]}.glue.json")
        if not path.is_file():
            continue
        glue = json.loads(path.read_text(encoding="utf-8"))
        if RECORD_KEY not in glue:
            continue
        # glue stores the repr of the string it was given.
        record = json.loads(ast.literal_eval(glue[RECORD_KEY]["data"]["text/plain"]))
        for verdict in record["verdicts"]:
            if verdict["id"] in found:
                logger.warning(
                    f"claim {verdict['id']} is measured by two notebooks: "
                    f"{found[verdict['id']][0]} and {docname}"
                )
            found[verdict["id"]] = (docname, verdict, record["runtime_s"])
    return found


def _cell(content) -> nodes.entry:
    entry = nodes.entry()
    if isinstance(content, nodes.Node):
        entry += content
    else:
        entry += nodes.paragraph(text=str(content))
    return entry


def _checks(verdict: dict) -> nodes.Node:
    block = nodes.line_block()
    for c in verdict["checks"]:
        threshold = c["threshold"]
        symbol = {"<=": "≤", ">=": "≥"}.get(c["relation"], c["relation"])
        bound = (
            f"∈ [{threshold[0]:.3g}, {threshold[1]:.3g}]"
            if c["relation"] == "in"
            else f"{symbol} {threshold:.0e}"
        )
        worst = c["worst"] if isinstance(c["worst"], str) else f"{c['worst']:.2e}"
        margin = c["margin"]
        if not isinstance(margin, str):
            margin = "×>1000" if margin > 1000 else f"×{margin:.3g}"
        block += nodes.line(text=f"{c['quantity']} {worst} {bound} ({margin})")
    return block


def _table(app, fromdocname: str, ids: list[str], titles: dict, found: dict) -> nodes.table:
    headers = ["Claim", "Worst over seeds vs threshold (margin)", "Seeds", "Verdict", "Runtime"]
    table = nodes.table(classes=["claims-scoreboard"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in (22, 46, 7, 8, 8):
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    row = nodes.row()
    for header in headers:
        row += _cell(header)
    head += row
    group += head
    body = nodes.tbody()
    for claim_id in ids:
        row = nodes.row()
        if claim_id not in found:
            status = nodes.strong(text="not run", classes=["claim-not-run"])
            for value in (f"{claim_id}: {titles[claim_id]}", "—", "—", status, "—"):
                row += _cell(value)
            body += row
            continue
        docname, verdict, runtime = found[claim_id]
        passed = verdict["passed"]
        status = nodes.strong(
            text="PASS" if passed else "FAIL", classes=["claim-pass" if passed else "claim-fail"]
        )
        link = nodes.paragraph()
        link += nodes.reference(
            "", "", nodes.Text(claim_id),
            refuri=app.builder.get_relative_uri(fromdocname, docname), internal=True,
        )  # fmt: skip
        link += nodes.Text(f": {verdict['title']}")
        seeds = f"{verdict['seeds_passed']}/{len(verdict['seeds'])}"
        for value in (link, _checks(verdict), seeds, status, f"{runtime:.0f} s"):
            row += _cell(value)
        body += row
    group += body
    return table


def _fill(app, doctree, fromdocname):
    placeholders = list(doctree.findall(scoreboard_placeholder))
    if not placeholders:
        return
    from matrix_sensing import claims

    ids = claims.ids()
    titles = {cid: claims.get(cid).title for cid in ids}
    found = _records(app.env)
    for unknown in sorted(set(found) - set(ids)):
        logger.warning(f"a notebook reports claim {unknown}, which is not registered")
    passed = sum(found[c][1]["passed"] for c in ids if c in found)
    summary = nodes.paragraph(
        text=f"{passed} of {len(ids)} registered claims pass on every seed; "
        f"{len(ids) - len(set(ids) & set(found))} not run; "
        f"{sum(1 for c in ids if c in found and not found[c][1]['passed'])} failing."
    )
    for node in placeholders:
        node.replace_self([summary, _table(app, fromdocname, ids, titles, found)])


def setup(app):
    app.add_node(scoreboard_placeholder)
    app.add_directive("claims-scoreboard", ClaimsScoreboard)
    app.connect("doctree-resolved", _fill)
    app.connect("env-get-outdated", _always_outdated)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
