"""Write (or check) the golden values: every claim's measured values on seeds 0-4 at CI scale.

Usage:
    python tools/refresh_golden.py [--build DIR]            # after `make book` (what
                                                            # `make refresh-golden` runs)
    python tools/refresh_golden.py --execute [NOTEBOOK ...] # papermill, for a few notebooks
    add --check to compare with tests/golden/claims_ci.json instead of writing it
    (exit 1 and one line per difference when a value moved)

The values are those the notebooks glue as ``claims_record`` (the records the Claims
scoreboard is built from): for each claim, each thresholded quantity and each seed. They are
stored in one JSON file with sorted keys and one value per line, so that the diff of an
intentional change is what a reviewer reads. tests/test_golden_values.py compares the values
of the book build of the test suite with the file, by :func:`differences`.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "claims_ci.json"
BUILD = ROOT / "_build" / "jupyter_execute"  # where `make book` leaves the executed notebooks
RECORD = "claims_record"  # the glue name of a notebook's verdicts (matrix_sensing.claims.record)
GLUE_PREFIX = "application/papermill.record/"  # myst-nb's mime prefix for glue(display=False)

# The comparison rule, stated in the file's "_rule" key from these constants.
RELATIVE = 1e-6
FLOOR = 1e-10
RULE = (
    f"A measured value matches its golden value when |new - golden| <= {RELATIVE:g} * "
    f"max(|new|, |golden|), or when both |new| and |golden| are below {FLOOR:g} (losses at "
    "rounding level, whose digits are noise); a non-finite value ('nan', 'inf') must be "
    "recorded as the same string. Applied by tests/test_golden_values.py."
)
ABOUT = (
    "Every claim's measured values on seeds 0-4 at CI scale, keyed 'claim/quantity/seed', as "
    "the notebooks glue them in claims_record (the Claims scoreboard shows their worst seed). "
    "Regenerate with `make refresh-golden` after an intentional change, then review this "
    "file's diff."
)


def matches(new, golden) -> bool:
    """Whether a measured value equals its golden value under :data:`RULE`."""
    if isinstance(new, str) or isinstance(golden, str):  # non-finite, recorded as a string
        return new == golden
    if abs(new) < FLOOR and abs(golden) < FLOOR:
        return True
    return abs(new - golden) <= RELATIVE * max(abs(new), abs(golden))


def flatten(records) -> dict[str, float | str]:
    """``{"M1/test_error/0": value, ...}`` from claims records (each ``{"verdicts": [...]}``,
    as :func:`matrix_sensing.claims.record` writes them)."""
    values: dict[str, float | str] = {}
    for record in records:
        for verdict in record["verdicts"]:
            for quantity, per_seed in verdict["measured"].items():
                for seed, value in zip(verdict["seeds"], per_seed, strict=True):
                    key = f"{verdict['id']}/{quantity}/{seed}"
                    if key in values:
                        raise ValueError(f"{key} is recorded twice")
                    values[key] = value
    return values


def records_from_build(execute_dir: Path) -> list[dict]:
    """The claims records glued by the notebooks of a book build (the ``*.glue.json`` files
    that myst-nb writes next to the executed notebooks, e.g. ``_build/jupyter_execute``)."""
    records = []
    for glue_file in sorted(Path(execute_dir).rglob("*.glue.json")):
        glue = json.loads(glue_file.read_text(encoding="utf-8"))
        if RECORD in glue:
            # text/plain is the repr of the JSON string that claims.record returned.
            records.append(json.loads(ast.literal_eval(glue[RECORD]["data"]["text/plain"])))
    return records


def record_from_notebook(path: Path) -> dict | None:
    """The claims record in the outputs of an executed notebook (None if it has none)."""
    import nbformat

    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("scrapbook", {}).get("name") == RECORD:
                return json.loads(ast.literal_eval(output["data"][GLUE_PREFIX + "text/plain"]))
    return None


def claim_notebooks() -> list[Path]:
    """The notebooks of the registered claims."""
    from matrix_sensing import claims

    return sorted({ROOT / claims.get(cid).notebook for cid in claims.ids()})


def execute(notebooks: list[Path]) -> list[dict]:
    """Run notebooks with papermill (their CI-scale parameters) and return their records."""
    import papermill

    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in notebooks:
            executed = Path(tmp) / path.name
            print(f"executing {path.name}", file=sys.stderr)
            papermill.execute_notebook(
                str(path), str(executed), cwd=str(path.parent), progress_bar=False
            )
            record = record_from_notebook(executed)
            if record is not None:
                records.append(record)
    return records


def load(path: Path = GOLDEN) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def dumps(golden: dict) -> str:
    """The file's text: sorted keys, one value per line (floats as Python's shortest repr,
    which reads back to the same float)."""
    return json.dumps(golden, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def document(values: dict[str, float | str]) -> dict:
    return {"_about": ABOUT, "_rule": RULE, "values": dict(sorted(values.items()))}


def claims_of(values) -> set[str]:
    return {key.split("/")[0] for key in values}


def merge(old: dict[str, float | str], new: dict[str, float | str]) -> dict[str, float | str]:
    """``old`` with every value of the claims in ``new`` replaced (a claim's quantities and
    seeds are those of its new record)."""
    replaced = claims_of(new)
    return {**{k: v for k, v in old.items() if k.split("/")[0] not in replaced}, **new}


def differences(golden: dict[str, float | str], new: dict[str, float | str]) -> list[str]:
    """One line per golden value that ``new`` does not match (or lacks), and per new value
    the golden file lacks. Only the claims present in ``new`` are compared."""
    compared = claims_of(new)
    lines = []
    for key in sorted(set(golden) | set(new)):
        if key.split("/")[0] not in compared:
            continue
        if key not in new:
            lines.append(f"{key}: golden {golden[key]!r}, not measured")
        elif key not in golden:
            lines.append(f"{key}: measured {new[key]!r}, no golden value")
        elif not matches(new[key], golden[key]):
            lines.append(f"{key}: golden {golden[key]!r}, measured {new[key]!r}")
    return lines


def write(golden: dict, path: Path = GOLDEN) -> None:
    """Atomic write: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".json.tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(dumps(golden))
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--build",
        type=Path,
        default=BUILD,
        help="a book build's executed notebooks (default: %(default)s)",
    )
    source.add_argument(
        "--execute",
        nargs="*",
        type=Path,
        metavar="NOTEBOOK",
        help="execute these notebooks (default: every claim notebook)",
    )
    parser.add_argument(
        "--check", action="store_true", help="compare with the golden file instead of writing it"
    )
    args = parser.parse_args(argv)
    if args.execute is not None:
        notebooks = args.execute or claim_notebooks()
        records = execute([p.resolve() for p in notebooks])
    else:
        if not args.build.is_dir():
            parser.error(f"--build: {args.build} is not a folder; run `make book` first")
        records = records_from_build(args.build)
    new = flatten(records)
    if not new:
        print("no claims_record found: nothing to compare or write", file=sys.stderr)
        return 1
    old = load()["values"] if GOLDEN.exists() else {}
    if args.check:
        lines = differences(old, new)
        for line in lines:
            print(line)
        print(
            f"{len(new)} values of {len(claims_of(new))} claims compared, "
            f"{len(lines)} differ from {GOLDEN.relative_to(ROOT)}"
        )
        return 1 if lines else 0
    # A build executes every notebook, so it replaces the whole file; executed notebooks
    # replace the values of their claims only.
    values = merge(old, new) if args.execute is not None else new
    write(document(values))
    changed = sum(1 for key in set(old) | set(values) if old.get(key, math.nan) != values.get(key))
    print(
        f"wrote {GOLDEN.relative_to(ROOT)}: {len(values)} values of "
        f"{len(claims_of(values))} claims, {changed} changed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
