"""pii_gemini: fine-tune Gemini to mask personal data (PII), then mask and evaluate at scale."""

from __future__ import annotations

import logging

from ._exceptions import *  # noqa: F403
from ._retry import Retrier, RetryPolicy
from ._types import *  # noqa: F403
from ._version import __version__
from .backends import Backend

__all__ = [  # completed as modules land; tests/test_exported_members.py keeps it honest
    "Backend",
    "Retrier",
    "RetryPolicy",
    "__version__",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
