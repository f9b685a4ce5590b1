"""The claims scoreboard: a table built at build time from the executed notebooks.

Every claim notebook glues a JSON ``claims_record`` (``matrix_sensing.claims.record``): its
verdicts with the worst measured values over seeds, the thresholds and the runtime. The
``{claims-scoreboard}`` directive leaves a placeholder that is filled once every notebook
has been executed (``doctree-resolved`` runs after the read phase), so nothing on the table
is typed by hand: a claim that fails shows FAIL, and a registered claim that no notebook
measured shows "not run".

Claim M11 of the digest ("figures analogous to the precursor's") is not measurable. Its row
says so and links to the figures; it has no value, threshold or verdict. The links are
resolved from the labels of the figures on their pages, and a label that no longer exists
is a build warning, so the row cannot silently point at nothing.

Every build also writes ``claims-results.zip`` at the root of the site, linked from the
scoreboard: per notebook, the verdicts it recorded (per-seed values, worst value,
threshold, margin) with a provenance block (parameters, seeds, package and kernel
versions, BLAS, git commit, the lock's hash).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

RECORD_KEY = "claims_record"
ARCHIVE = "claims-results.zip"
logger = logging.getLogger(__name__)

# Rows without a measurement: id -> (title, the registered claim they follow, description,
# [(link text, figure label)], verdict text). Descriptions, never numbers.
QUALITATIVE = {
    "M11": (
        "Figures analogous to the precursor's",
        "M10",
        "Qualitative, no threshold: the figures below are drawn in the style of the "
        "symmetric precursor's figures (Stöger & Soltanolkotabi, NeurIPS 2021) and labelled "
        '"analogous to" them; which of that paper\'s figures they match is not verified.',
        [
            (
                "phase figure: test error, subspace angles and singular values, phases shaded "
                "(M5–M7)",
                "fig-m5-m7-phases",
            ),
            ("test error against α on log-log axes, min/max over seeds (M3)", "fig-m3"),
            ("test error against the iteration for several widths k (M10)", "fig-m10-error"),
        ],
        "qualitative",
    ),
}


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


def _notebook_records(env) -> dict[str, dict]:
    """docname of each notebook that glued a claims record -> that record."""
    folder = Path(env.mystnb_config.output_folder)
    records = {}
    for docname in sorted(env.found_docs):
        path = folder.joinpath(*docname.split("/")[:-1], f"{docname.split('/')[-1]}.glue.json")
        if not path.is_file():
            continue
        glue = json.loads(path.read_text(encoding="utf-8"))
        if RECORD_KEY in glue:
            # glue stores the repr of the string it was given.
            records[docname] = json.loads(ast.literal_eval(glue[RECORD_KEY]["data"]["text/plain"]))
    return records


def _records(env) -> dict[str, tuple[str, dict, float]]:
    """claim id -> (docname of the notebook, verdict dict, notebook runtime in seconds)."""
    found = {}
    for docname, record in _notebook_records(env).items():
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
            else f"{symbol} {threshold:.3g}"
        )
        worst = c["worst"] if isinstance(c["worst"], str) else f"{c['worst']:.2e}"
        margin = c["margin"]
        if not isinstance(margin, str):
            margin = "×>1000" if margin > 1000 else f"×{margin:.3g}"
        block += nodes.line(text=f"{c['quantity']} {worst} {bound} ({margin})")
    return block


def _figure_link(app, fromdocname: str, text: str, label: str) -> nodes.Node:
    labels = app.env.domaindata["std"]["anonlabels"]
    if label not in labels:
        logger.warning(f"scoreboard: the figure label {label!r} is not defined on any page")
        return nodes.Text(text)
    docname, anchor = labels[label]
    uri = f"{app.builder.get_relative_uri(fromdocname, docname)}#{anchor}"
    return nodes.reference("", "", nodes.Text(text), refuri=uri, internal=True)


def _qualitative_row(app, fromdocname: str, claim_id: str) -> nodes.row:
    title, _after, description, figures, verdict = QUALITATIVE[claim_id]
    block = nodes.line_block()
    block += nodes.line(text=description)
    for text, label in figures:
        line = nodes.line()
        line += _figure_link(app, fromdocname, text, label)
        block += line
    row = nodes.row(classes=["claim-qualitative"])
    status = nodes.emphasis(text=verdict, classes=["claim-qualitative"])
    for value in (f"{claim_id}: {title}", block, "—", status, "—"):
        row += _cell(value)
    return row


def _order(ids: list[str]) -> list[str]:
    """Registered claims, with each qualitative row after the claim it follows."""
    ordered = []
    for claim_id in ids:
        ordered.append(claim_id)
        ordered += [q for q, spec in QUALITATIVE.items() if spec[1] == claim_id]
    return ordered


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
    for claim_id in _order(ids):
        if claim_id in QUALITATIVE:
            body += _qualitative_row(app, fromdocname, claim_id)
            continue
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
            "",
            "",
            nodes.Text(claim_id),
            refuri=app.builder.get_relative_uri(fromdocname, docname),
            internal=True,
        )
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
        f"{sum(1 for c in ids if c in found and not found[c][1]['passed'])} failing. "
        f"{', '.join(QUALITATIVE)} is qualitative (figures, no threshold) and not counted."
    )
    download = nodes.paragraph(
        text="Every claim's results from this build, per seed, with their provenance: "
    )
    archive = "../" * fromdocname.count("/") + ARCHIVE
    download += nodes.reference("", "", nodes.literal(text=ARCHIVE), refuri=archive)
    download += nodes.Text(".")
    for node in placeholders:
        node.replace_self([summary, _table(app, fromdocname, ids, titles, found), download])


def _build_started(app):
    from matrix_sensing import provenance

    app.env.scoreboard_started = provenance.now()


def _write_archive(app, exception):
    """``claims-results.zip`` at the site's root: one ``<notebook>/results.json`` per claim
    notebook executed by this build."""
    if exception is not None or app.builder.format != "html":
        return
    from matrix_sensing import provenance
    from matrix_sensing.parameters import notebook_values

    members = {}
    for docname, record in _notebook_records(app.env).items():
        verdicts = record["verdicts"]
        meta = provenance.provenance(
            kind="book-build",
            name=docname,
            # the notebook's parameters cell: every experiment's, by the notebook's names
            params=notebook_values(verdicts[0]["id"], "ci"),
            seeds=verdicts[0]["seeds"],
            started=app.env.scoreboard_started,
            finished=provenance.now(),
            verdict={v["id"]: v["passed"] for v in verdicts},
        )
        members[f"{docname.split('/')[-1]}/results.json"] = {
            "provenance": meta,
            "runtime_s": record["runtime_s"],
            "verdicts": verdicts,
        }
    if members:
        provenance.write_archive(Path(app.outdir) / ARCHIVE, members)


def setup(app):
    app.add_node(scoreboard_placeholder)
    app.add_directive("claims-scoreboard", ClaimsScoreboard)
    app.connect("doctree-resolved", _fill)
    app.connect("env-get-outdated", _always_outdated)
    app.connect("builder-inited", _build_started)
    app.connect("build-finished", _write_archive)
    return {"parallel_read_safe": False, "parallel_write_safe": True}
