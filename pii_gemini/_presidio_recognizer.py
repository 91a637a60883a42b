"""GeminiRecognizer: a presidio-analyzer recognizer that asks a tuned model through a Masker.

Imported only through :mod:`pii_gemini.presidio` (it needs the ``presidio`` extra). The
Masker brings what it brings everywhere: concurrency and rate limits, the content-hash cache,
retries and the safety net. A Presidio ``AnalyzerEngine`` calls :meth:`analyze` once per
text; :meth:`GeminiRecognizer.prefetch` masks a batch concurrently first, so those calls
are cache hits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult

from ._exceptions import BackendError, ConfigError
from ._presidio import AI4PRIVACY_TO_PRESIDIO
from ._types import MaskResult, Span
from .labels import ALL_LABELS

if TYPE_CHECKING:
    from .masking import Masker

__all__ = ["GeminiRecognizer"]

_ON_FAILURE = ("raise", "empty")


class GeminiRecognizer(EntityRecognizer):  # type: ignore[misc]
    """Presidio ``EntityRecognizer`` backed by a (tuned) model and a :class:`~pii_gemini.Masker`.

    Example::

        from presidio_analyzer import AnalyzerEngine
        from pii_gemini.presidio import GeminiRecognizer

        analyzer = AnalyzerEngine()
        analyzer.registry.add_recognizer(GeminiRecognizer(Masker(backend, model.name)))
        results = analyzer.analyze(text, language="en")

    **Parameters:**

    * ``masker`` - the Masker that runs the model (its operator does not matter: the spans
      are read from the model's answer, before any operator).
    * ``entity_map`` - ai4privacy label -> Presidio entity name (``AI4PRIVACY_TO_PRESIDIO``:
      ``FIRSTNAME`` -> ``PERSON``, ``EMAIL`` -> ``EMAIL_ADDRESS``, ...); unmapped labels keep
      their ai4privacy name (``AGE``, ``USERNAME``).
    * ``score`` / ``safety_net_score`` - the score of a span the model found / one the
      Masker's checksum-validated safety net added.
    * ``on_failure`` - ``"raise"`` (default): a text the model could not mask (blocked,
      failed after retries, truncated) raises ``BackendError``, so no text passes as "no
      PII found" by accident; ``"empty"``: return no result for it.
    """

    def __init__(
        self,
        masker: Masker,
        *,
        supported_language: str = "en",
        entity_map: Mapping[str, str] = AI4PRIVACY_TO_PRESIDIO,
        score: float = 0.85,
        safety_net_score: float = 1.0,
        on_failure: str = "raise",
        name: str = "GeminiRecognizer",
    ) -> None:
        from .masking import Masker

        if not isinstance(masker, Masker):
            raise ConfigError(f"masker must be a pii_gemini Masker, got {type(masker).__name__}")
        for what, value in (("score", score), ("safety_net_score", safety_net_score)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{what} must be a number in [0, 1], got {value!r}")
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{what} must be in [0, 1], got {value}")
        if on_failure not in _ON_FAILURE:
            raise ConfigError(f"on_failure must be one of {_ON_FAILURE}, got {on_failure!r}")
        self.masker = masker
        self.entity_map = dict(entity_map)
        self.score = float(score)
        self.safety_net_score = float(safety_net_score)
        self.on_failure = on_failure
        self._label = name  # (presidio's ``name``; typed here for the results' metadata)
        entities = sorted({self.entity_map.get(label, label) for label in ALL_LABELS})
        super().__init__(
            supported_entities=entities, name=name, supported_language=supported_language
        )

    def load(self) -> None:
        """Nothing to load: the model runs behind the Masker's backend."""

    def prefetch(self, texts: Iterable[str]) -> list[MaskResult]:
        """Mask ``texts`` concurrently (the Masker's ``mask_many``) so that the analyzer's
        one-text-at-a-time calls to :meth:`analyze` are answered from the Masker's cache."""
        return self.masker.mask_many(texts)

    def analyze(
        self, text: str, entities: list[str] | None = None, nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        """The model's spans of ``text`` (and the safety net's) as Presidio results, limited
        to ``entities`` when given (Presidio passes the entities it was asked for)."""
        result = self.masker.mask(text)
        if not result.ok:
            if self.on_failure == "empty":
                return []
            reason = result.error or result.status.value
            raise BackendError(f"GeminiRecognizer: the model gave no usable answer ({reason})")
        wanted = set(entities) if entities else None
        found = [(span, self.score) for span in result.spans]
        found += [(span, self.safety_net_score) for span in result.safety_net_spans]
        out: list[RecognizerResult] = []
        for span, score in sorted(found, key=lambda item: (item[0].start, item[0].end)):
            entity = self.entity_map.get(span.label, span.label)
            if wanted is None or entity in wanted:
                out.append(self._result(span, entity, score, span in result.safety_net_spans))
        return out

    def _result(self, span: Span, entity: str, score: float, by_net: bool) -> RecognizerResult:
        source = "safety net" if by_net else "model"
        explanation = AnalysisExplanation(
            recognizer=self._label,
            original_score=score,
            textual_explanation=f"{source}: ai4privacy label {span.label}",
        )
        return RecognizerResult(
            entity_type=entity,
            start=span.start,
            end=span.end,
            score=score,
            analysis_explanation=explanation,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self._label,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )
