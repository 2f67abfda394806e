"""``python -m trendcalc`` (and the ``trendcalc`` script): see ``trendcalc.cli``."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
