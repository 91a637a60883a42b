"""After the model: the safety net, the operators and leak masking of one text.

**This is where the safety net runs.** Its detectors scan the source; a hit the model's spans
do not wholly cover counts as missed and is masked too. Then the operator renders the final
text. A faithful answer (or any with ``repair``) is rendered from the source and every span,
so the non-PII text is the source's. A rewritten answer keeps the model's wording (rendering
from the source would reveal the values of placeholders that could not be anchored): only the
safety net's values found in it, and whatever the detectors find in the answer itself, are
masked there.

The spans returned say what the masked text shows: where a safety-net hit overlaps a model
span (half a card number read as ``AMOUNT``), both are rendered as one replacement, their
union with the longer one's label, and the result reports that union once, as the safety
net's (it widened what the model masked), not the model's partial span.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._types import Span
from ..detectors import SafetyNet, resolve_overlaps
from ..detectors._occurrences import find_occurrences
from ..operators import _overlap_groups, _rendered_span, anonymize
from ..vault import Vault
from ._settings import OperatorSpec

__all__ = ["Finisher", "as_rendered"]


def as_rendered(
    text: str, spans: tuple[Span, ...], added: tuple[Span, ...]
) -> tuple[tuple[Span, ...], tuple[Span, ...]]:
    """The model's ``spans`` and the safety net's ``added`` as one rendering shows them.

    Overlapping spans are rendered as one replacement (``operators.anonymize``): each such
    group is reported once, as its union with the label shown, among the safety net's spans
    when one of them is in the group (the net widened the masking), else among the model's.
    The two results never overlap; spans that overlap nothing are returned as they are.
    """
    if not added:
        return spans, added
    net_ids = {id(s) for s in added}
    model: list[Span] = []
    net: list[Span] = []
    for group in _overlap_groups(spans + added):
        shown = _rendered_span(group, text)
        (net if any(id(s) in net_ids for s in group) else model).append(shown)
    return tuple(model), tuple(net)


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
    ) -> tuple[str, tuple[Span, ...], tuple[Span, ...], tuple[str, ...]]:
        """The final masked text, the model's spans and the safety net's (offsets into
        ``text``, as the final text shows them: see :func:`as_rendered`) and the vault
        tokens issued for this text."""
        added = self.missed(text, spans)
        if faithful or self._repair:
            if faithful and not added and self._plain_replace:
                return model_masked, spans, added, ()  # already what rendering would give
            merged = tuple(sorted(spans + added, key=lambda s: (s.start, s.end)))
            final, tokens = self.anonymize(text, merged)
            return (final, *as_rendered(text, spans, added), tokens)
        # The spans recovered from a rewritten answer are incomplete: a value counts as
        # missed only when the answer really holds it (one linear pass finds them all).
        where = find_occurrences(model_masked, (s.value for s in added))
        added = tuple(s for s in added if s.value in where)
        final, tokens = self._mask_leaks(model_masked, added, where)
        return (final, *as_rendered(text, spans, added), tokens)

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
