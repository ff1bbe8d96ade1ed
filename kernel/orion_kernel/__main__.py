"""``python -m orion_kernel``: the ``orion-kernel`` command line."""
from __future__ import annotations

import sys

from .cli import main

# Guarded: spawned worker processes import this module under another name.
if __name__ == "__main__":
    sys.exit(main())
