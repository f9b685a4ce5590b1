"""``python -m matrix_sensing``: see :mod:`matrix_sensing.cli`."""

import sys

from .cli import main

sys.exit(main())
