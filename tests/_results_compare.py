"""What "the same results" means for two results folders (interruption and determinism tests).

Two folders hold the same results when they hold the same files (relative names, hidden ones
included) and every file is byte-identical, with these exceptions, all of them wall-clock
measurements that no rerun can reproduce:

- JSON results (``*.json``): byte-identical once ``provenance.started``,
  ``provenance.finished`` (when the run happened; top-level ``started``/``finished`` in a bare
  ``provenance.json``), the top-level ``runtime_s`` (how long the notebook took) and the
  top-level ``sha256`` checksum (it covers the times) are masked; ``read_json`` verifies the
  checksum of each file on its own. The files are first checked to be in the canonical form
  ``provenance.write_json`` writes (sorted keys, indent 2), so comparing the masked canonical
  texts is comparing the files byte for byte outside those three fields.
- Executed notebooks (``*.ipynb``): a run's log. Its metadata (papermill timings, paths,
  kernel timestamps) and its stderr streams (progress bars with rates) are timings; every
  cell's type, source and tags, and every other output (verdict lines, figures, glued values)
  must be identical, the glued ``claims_record`` with its ``runtime_s`` masked.

Everything else (``.npz`` archives, PNG figures, the empty ``.lock``) is compared byte for
byte.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat

MASKED = "<wall-clock time: not compared>"
TIMING_FIELDS = (("provenance", "started"), ("provenance", "finished"), ("runtime_s",), ("sha256",))


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _mask(data: dict) -> dict:
    fields = TIMING_FIELDS
    if isinstance(data, dict) and "schema" in data:  # a bare provenance block
        fields = (("started",), ("finished",), ("sha256",))
    for path in fields:
        node = data
        for key in path[:-1]:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict) and path[-1] in node:
            node[path[-1]] = MASKED
    return data


def canonical(data) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def masked_json(path: Path) -> bytes:
    return masked_json_bytes(path.read_bytes(), path)


def masked_json_bytes(raw: bytes, path="JSON") -> bytes:
    data = json.loads(raw)
    assert raw == canonical(data), f"{path} is not in write_json's canonical form"
    return canonical(_mask(data))


def notebook_record(path: Path) -> list:
    """The parts of an executed notebook that a rerun must reproduce exactly."""
    nb = nbformat.read(path, as_version=4)
    cells = []
    for cell in nb.cells:
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                continue
            output = json.loads(json.dumps(output))
            if output.get("metadata", {}).get("scrapbook", {}).get("name") == "claims_record":
                for key, text in output["data"].items():
                    if key.endswith("text/plain"):
                        record = _mask(json.loads(ast.literal_eval(text)))
                        output["data"][key] = canonical(record).decode()
            outputs.append(output)
        tags = cell.get("metadata", {}).get("tags", [])
        source = cell.source
        if "injected-parameters" in tags:  # where the run kept its checkpoints: its folder
            source = re.sub(r"(?m)^checkpoints = .*$", "checkpoints = <folder>", source)
        cells.append((cell.cell_type, source, tags, outputs))
    return cells


def verdict_outputs(path: Path) -> list:
    """The verdict cell's outputs exactly as executed (unsanitized)."""
    nb = nbformat.read(path, as_version=4)
    (cell,) = [c for c in nb.cells if "verdict" in c.get("metadata", {}).get("tags", [])]
    return cell.outputs


def assert_same_results(expected: Path, got: Path) -> int:
    """Assert the folders hold the same results (see the module docstring); returns the
    number of files compared."""
    names = files(expected)
    assert files(got) == names, f"different files: {files(got)} != {names}"
    for name in names:
        a, b = expected / name, got / name
        if name.endswith(".json"):
            if masked_json(a) != masked_json(b):
                lines = zip(
                    masked_json(a).decode().splitlines(),
                    masked_json(b).decode().splitlines(),
                    strict=False,  # a line count that differs shows in the lines that do
                )
                changed = [f"{x.strip()} -> {y.strip()}" for x, y in lines if x != y]
                raise AssertionError(f"{name} differs: {changed[:10]}")
        elif name.endswith(".ipynb"):
            assert notebook_record(a) == notebook_record(b), f"{name} differs"
        else:
            assert a.read_bytes() == b.read_bytes(), f"{name} differs"
    return len(names)


def provenance_block(folder: Path) -> dict:
    """A claim run's ``provenance.json`` (the provenance block of its results.json) without
    its checksum, after checking it."""
    from matrix_sensing import provenance

    data = json.loads((folder / "provenance.json").read_text())
    content = {k: v for k, v in data.items() if k != provenance.CHECKSUM}
    assert data[provenance.CHECKSUM] == provenance._digest(content)
    return content
