"""After the model: the safety net, the operators and leak masking of one text.

**This is where the safety net runs.** Its detectors scan the source; a hit the model's spans
do not wholly cover counts as missed and is masked too. Then the operator renders the final
text. A faithful answer (or any with ``repair``) is rendered from the source and every span,
so the non-PII text is the source's. A rewritten answer keeps the model's wording (rendering
from the source would reveal the values of placeholders that could not be anchored): only the
safety net's values found in it, and whatever the detectors find in the answer itself, are
masked there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._types import Span
from ..detectors import SafetyNet, resolve_overlaps
from ..detectors._occurrences import find_occurrences
from ..operators import anonymize
from ..vault import Vault
from ._settings import OperatorSpec

__all__ = ["Finisher"]


class Finisher:
    """Turns the model's spans into the final masked text: safety net, then operators."""

    def __init__(
        self,
        safety_net: SafetyNet | None,
        operator: OperatorSpec | Mapping[str, OperatorSpec],
        operator_params: Mapping[str, Any],
        vault: Vault | None,
        *,
        repair: bool,
        plain_replace: bool,
    ) -> None:
        self.safety_net = safety_net
        self._operator = operator
        self._params = dict(operator_params)
        self.vault = vault
        self._repair = repair
        self._plain_replace = plain_replace

    def finish(
        self, text: str, spans: tuple[Span, ...], model_masked: str, faithful: bool
    ) -> tuple[str, tuple[Span, ...], tuple[str, ...]]:
        """The final masked text, the safety net's additions (offsets into ``text``) and
        the vault tokens issued for this text."""
        added = self.missed(text, spans)
        if faithful or self._repair:
            if faithful and not added and self._plain_replace:
                return model_masked, added, ()  # already exactly what rendering would give
            merged = tuple(sorted(spans + added, key=lambda s: (s.start, s.end)))
            final, tokens = self.anonymize(text, merged)
            return final, added, tokens
        # The spans recovered from a rewritten answer are incomplete: a value counts as
        # missed only when the answer really holds it (one linear pass finds them all).
        where = find_occurrences(model_masked, (s.value for s in added))
        added = tuple(s for s in added if s.value in where)
        final, tokens = self._mask_leaks(model_masked, added, where)
        return final, added, tokens

    def missed(self, text: str, spans: tuple[Span, ...]) -> tuple[Span, ...]:
        """Detector hits not wholly covered by the model's spans.

        A value the model masked only in part (``GB82 WEST [PHONE]`` for an IBAN) counts
        as missed: its span is added and merged with the model's when rendering, so the
        whole value is masked.
        """
        if self.safety_net is None:
            return ()
        hits = self.safety_net.scan(text)
        if not hits or not spans:
            return hits
        covered = bytearray(len(text))
        for s in spans:
            covered[s.start : s.end] = b"\x01" * (s.end - s.start)
        return tuple(h for h in hits if 0 in covered[h.start : h.end])

    def anonymize(self, text: str, spans: Iterable[Span]) -> tuple[str, tuple[str, ...]]:
        """``text`` with ``spans`` replaced by the operator(s), and the tokens issued."""
        out = anonymize(text, spans, self._operator, vault=self.vault, **self._params)
        return out.text, out.tokens

    def _mask_leaks(
        self, output: str, added: tuple[Span, ...], where: Mapping[str, list[int]]
    ) -> tuple[str, tuple[str, ...]]:
        """Mask, in the model's own (unfaithful) answer, the safety net's values wherever
        they occur (``where``: their offsets in it) and what the detectors find in it; the
        rest stays as the model wrote it."""
        found: list[Span] = []
        for value, label in {s.value: s.label for s in added if s.value}.items():
            found += (Span(at, at + len(value), label, value) for at in where.get(value, ()))
        if self.safety_net is not None:
            found += self.safety_net.scan(output)
        if not found:
            return output, ()
        return self.anonymize(output, resolve_overlaps(found))
