"""``python -m matrix_sensing.cli``, the same program as ``python -m matrix_sensing``."""

import sys

from . import main

sys.exit(main())
