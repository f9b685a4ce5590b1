"""What the commands share: their exit statuses, the errors that map to them, the parser."""

from __future__ import annotations

import argparse
import re

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad command-line usage: printed as one line, exit status 2."""


class Interrupted(Exception):
    """Ctrl-C, after cleaning up: the message says what was kept; exit status 130."""


class Parser(argparse.ArgumentParser):
    """argparse, with the one-line errors of the rest of the command line (``error:
    <message>``, exit status 2, no usage block), and values such as ``-1e-05``, ``-.5``,
    ``-inf`` or ``-Infinity`` read as values, not as options (argparse alone knows only
    ``-12`` and ``-1.5``; none of our options starts with a digit, ``.``, ``i`` or ``n``).
    The subparsers (``run``, ``sweep``) are of this class too."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = re.compile(r"^-(\d|\.\d|inf|nan)", re.IGNORECASE)

    def error(self, message):
        self.exit(EXIT_USAGE, f"error: {message}\n")
