"""The commands the documents show a reader: every fenced ``bash`` block, continuation lines
joined and comments dropped, in document order, each distinct command once. README.md and
the book's Reproduce page (:data:`DOCUMENTS`) are run by tests/test_documented_commands.py;
the book's other pages (:data:`PAGES`) by tests/test_page_commands.py."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ["README.md", "book/reproduce.md"]
PAGES = sorted(
    str(path.relative_to(ROOT))
    for path in (ROOT / "book").rglob("*.md")
    if str(path.relative_to(ROOT)) not in DOCUMENTS
)
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```", re.M | re.S
)


@dataclass(frozen=True)
class Command:
    where: str  # "README.md:12"
    text: str  # as written (continuations joined, comment dropped)
    words: tuple[str, ...]


def blocks(path: Path, lang: str):
    text = path.read_text(encoding="utf-8")
    for match in FENCE.finditer(text):
        if match["lang"] == lang:
            line = text.count("\n", 0, match.start()) + 2
            body = "\n".join(row[len(match["indent"]) :] for row in match["body"].splitlines())
            yield line, body


def documented_commands(documents=DOCUMENTS) -> list[Command]:
    found: dict[tuple[str, ...], Command] = {}
    for name in documents:
        for first_line, body in blocks(ROOT / name, "bash"):
            logical, start = "", None
            for offset, row in enumerate(body.splitlines()):
                start = first_line + offset if start is None else start
                if row.rstrip().endswith("\\"):
                    logical += row.rstrip()[:-1] + " "
                    continue
                logical += row
                words = tuple(shlex.split(logical, comments=True))
                if words and words not in found:
                    text = shlex.join(words)
                    found[words] = Command(f"{name}:{start}", text, words)
                logical, start = "", None
    return list(found.values())


def install_commands(commands: list[Command]) -> tuple[list[Command], list[Command]]:
    """The `pip install` of the repository, and the commands of the `matrix-sensing` program
    it installs: run in a fresh environment by tests/test_installed_package.py."""
    install = [c for c in commands if c.words[:2] == ("pip", "install")]
    installed = [c for c in commands if c.words[0] == "matrix-sensing"]
    return install, installed
