"""Presidio integration: a tuned model as a Presidio recognizer, and span conversions.

* :class:`GeminiRecognizer` - a ``presidio_analyzer.EntityRecognizer`` that runs a tuned
  model through a :class:`~pii_gemini.Masker` and returns ``RecognizerResult``s with the
  ai4privacy labels mapped to Presidio entity names. Needs ``pip install
  'pii-gemini[presidio]'``; without it, using the name raises ``BackendUnavailableError``.
* :func:`to_presidio` / :func:`from_presidio` and the two label maps - no Presidio needed.

Three lines put a tuned model into an ``AnalyzerEngine``::

    from pii_gemini.presidio import GeminiRecognizer

    analyzer = AnalyzerEngine()
    analyzer.registry.add_recognizer(GeminiRecognizer(Masker(backend, "tunedModels/...")))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._exceptions import BackendUnavailableError
from ._presidio import AI4PRIVACY_TO_PRESIDIO, PRESIDIO_TO_AI4PRIVACY, from_presidio, to_presidio

if TYPE_CHECKING:
    from ._presidio_recognizer import GeminiRecognizer

__all__ = [
    "AI4PRIVACY_TO_PRESIDIO",
    "PRESIDIO_TO_AI4PRIVACY",
    "GeminiRecognizer",
    "from_presidio",
    "to_presidio",
]


def __getattr__(name: str) -> Any:
    """``GeminiRecognizer`` is imported on first use: it subclasses a presidio-analyzer class."""
    if name != "GeminiRecognizer":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from ._presidio_recognizer import GeminiRecognizer
    except ImportError as exc:
        raise BackendUnavailableError(
            "GeminiRecognizer needs presidio-analyzer: pip install 'pii-gemini[presidio]'"
        ) from exc
    return GeminiRecognizer
