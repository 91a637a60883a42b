"""``python -m pii_gemini.cli``: the same as the ``pii-gemini`` console script."""

from __future__ import annotations

import sys

from ._main import main

sys.exit(main())
