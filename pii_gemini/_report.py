"""The evaluation report: headline numbers, per-label and per-language tables, per-row
frame, plots, and the field's other formats (IOB2 tags for seqeval, nervaluate's schemes).

Built by :func:`pii_gemini.metrics.evaluate`. Texts and PII values stay out of ``repr()``
and out of :meth:`EvaluationReport.rows` unless ``show_pii=True`` is asked for explicitly.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._exceptions import ConfigError
from ._iob import iob2_entities, iob2_tags, tokenize
from ._plots import plot_loss, plot_recall
from ._schemes import SCHEMES, SchemeCounts, score_schemes
from ._tables import f_beta, per_language

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["IOB2", "EvaluationReport", "SpanScores", "markdown_table"]

# one row's spans: gold starts, ends, labels, then predicted starts, ends, labels
RowSpans = tuple[
    Sequence[int], Sequence[int], Sequence[str], Sequence[int], Sequence[int], Sequence[str]
]

PII_COLUMNS = ("source", "prediction", "reference")
"""Per-row columns holding raw text, hidden unless ``show_pii=True``."""


@dataclass(frozen=True)
class SpanScores:
    """Precision, recall, F1 and F2 (recall weighted) of predicted spans."""

    precision: float
    recall: float
    f1: float
    f2: float

    @classmethod
    def from_counts(cls, tp_pred: int, n_pred: int, tp_gold: int, n_gold: int) -> SpanScores:
        """Scores from matched/total counts on the prediction and the gold side.

        With nothing predicted precision is 1.0; with nothing to find recall is 1.0.
        """
        p = tp_pred / n_pred if n_pred else 1.0
        r = tp_gold / n_gold if n_gold else 1.0
        return cls(p, r, f_beta(p, r, 1.0), f_beta(p, r, 2.0))


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4f}"
    return str(v)


def markdown_table(df: pd.DataFrame) -> str:
    """A GitHub-flavoured markdown table of ``df`` (no tabulate dependency)."""
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class IOB2:
    """Gold and predicted IOB2 tags of every row, over the tokens of its source text.

    ``gold[i]`` and ``pred[i]`` tag the same tokens (see ``pii_gemini._iob`` for the
    tokenisation), so ``seqeval.metrics.classification_report(iob2.gold, iob2.pred)`` scores
    the predictions. ``tokens`` (the source's words: PII) is empty unless asked for.
    """

    gold: list[list[str]] = field(repr=False)
    pred: list[list[str]] = field(repr=False)
    tokens: list[list[str]] = field(default_factory=list, repr=False)


@dataclass(frozen=True, eq=False)
class EvaluationReport:
    """What :func:`pii_gemini.metrics.evaluate` measured over a set of rows.

    Rates are in [0, 1]. ``strict`` spans must have the same boundaries and label as a gold
    span; ``lenient`` spans only need to overlap one (any PII label); ``char`` scores each
    source character as masked or not, whatever the label. Leakage counts gold PII values
    still present in the output more often than in the ideal masked text, verbatim and after
    normalising case, whitespace and digit separators; the headline figures read the answer
    after chatter removal, the ``_raw`` ones the model's whole answer. README.md defines
    every headline number.
    """

    n_rows: int
    exact_match: float
    strict: SpanScores
    lenient: SpanScores
    char: SpanScores  # character level, label-agnostic (what PIIMB-style figures quote)
    leak_rate: float  # share of gold values leaked verbatim (answer after chatter removal)
    leak_rate_normalized: float  # ... or after normalising case/whitespace/separators
    rows_with_leak_rate: float  # share of rows with at least one verbatim leak
    rows_with_leak_rate_normalized: float
    leak_rate_raw: float  # verbatim, counting the raw answer incl. removed chatter
    rows_with_leak_rate_raw: float  # share of rows whose raw answer leaks a value
    preservation_rate: float  # share of non-PII source characters kept unchanged
    faithful_rate: float  # share of rows whose literal text equals the source
    chatter_rate: float  # share of rows whose answer had chatter removed (before or after)
    leading_chatter_rate: float  # ... removed before the masked text
    refusal_rate: float
    invented_label_rate: float  # share of rows using at least one label outside the set
    invented_placeholder_share: float  # share of predicted placeholders with such a label
    kept_value_rate: float  # share of rows with a tag inserted next to a kept value
    ambiguous_alignments: int  # predictions whose span boundaries could not be decided
    gold_ambiguous_alignments: int  # references (when aligned) with undecided boundaries
    n_gold_spans: int
    n_pred_spans: int
    per_label: pd.DataFrame = field(repr=False)
    _rows: pd.DataFrame = field(repr=False)
    # gold values the safety net caught that the model had missed (None: not measured)
    safety_net_caught: int | None = None
    model: str | None = None  # what the predictions came from (chart titles, markdown)
    # every row's gold and predicted spans, derived on first need (IOB2, nervaluate)
    _spans: Callable[[], tuple[RowSpans, ...]] = field(default=tuple, repr=False)

    @functools.cached_property
    def per_language(self) -> pd.DataFrame:
        """The headline scores per language (empty unless evaluate got ``languages``)."""
        rows = self._rows if "language" in self._rows else self._rows.iloc[:0]
        return per_language(rows if (rows["language"] != "").all() else rows.iloc[:0])

    @functools.cached_property
    def _row_spans(self) -> tuple[RowSpans, ...]:
        return self._spans()

    def summary(self) -> dict[str, float | int]:
        """The headline numbers as a flat dict (``safety_net_caught`` when it was measured)."""
        out: dict[str, float | int] = {
            "n_rows": self.n_rows,
            "exact_match": self.exact_match,
            "strict_precision": self.strict.precision,
            "strict_recall": self.strict.recall,
            "strict_f1": self.strict.f1,
            "strict_f2": self.strict.f2,
            "lenient_precision": self.lenient.precision,
            "lenient_recall": self.lenient.recall,
            "lenient_f1": self.lenient.f1,
            "lenient_f2": self.lenient.f2,
            "char_precision": self.char.precision,
            "char_recall": self.char.recall,
            "char_f1": self.char.f1,
            "leak_rate": self.leak_rate,
            "leak_rate_raw": self.leak_rate_raw,
            "rows_with_leak_rate": self.rows_with_leak_rate,
            "rows_with_leak_rate_raw": self.rows_with_leak_rate_raw,
            "leak_rate_normalized": self.leak_rate_normalized,
            "rows_with_leak_rate_normalized": self.rows_with_leak_rate_normalized,
            "preservation_rate": self.preservation_rate,
            "faithful_rate": self.faithful_rate,
            "chatter_rate": self.chatter_rate,
            "leading_chatter_rate": self.leading_chatter_rate,
            "refusal_rate": self.refusal_rate,
            "invented_label_rate": self.invented_label_rate,
            "invented_placeholder_share": self.invented_placeholder_share,
            "kept_value_rate": self.kept_value_rate,
            "ambiguous_alignments": self.ambiguous_alignments,
            "gold_ambiguous_alignments": self.gold_ambiguous_alignments,
            "n_gold_spans": self.n_gold_spans,
            "n_pred_spans": self.n_pred_spans,
        }
        if self.safety_net_caught is not None:
            out["safety_net_caught"] = self.safety_net_caught
        return out

    def to_dataframe(self) -> pd.DataFrame:
        """The per-label table: support, strict P/R/F1/F2, lenient recall, leak rate."""
        out: pd.DataFrame = self.per_label.copy()
        return out

    def to_markdown(self) -> str:
        """Headline metrics, the per-label table and (when known) the per-language table."""
        summary = self.summary()
        head = pd.DataFrame(  # object dtype: counts print as integers, rates as decimals
            {"metric": list(summary), "value": pd.Series(list(summary.values()), dtype=object)}
        )
        title = f"### Evaluation: {self.model}" if self.model else "### Evaluation"
        parts = [title, markdown_table(head), "### Per label", markdown_table(self.per_label)]
        if len(self.per_language):
            parts += ["### Per language", markdown_table(self.per_language)]
        return "\n\n".join(parts) + "\n"

    def rows(self, show_pii: bool = False) -> pd.DataFrame:
        """The per-row frame; the text columns are left out unless ``show_pii``."""
        out: pd.DataFrame = (
            self._rows.copy()
            if show_pii
            else self._rows.drop(columns=[c for c in PII_COLUMNS if c in self._rows.columns])
        )
        return out

    def worst_rows(self, n: int = 10, show_pii: bool = False) -> pd.DataFrame:
        """The ``n`` worst rows: most leaked values, then lowest recall, then least preserved."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ConfigError(f"n must be a non-negative int, got {n!r}")
        df = self.rows(show_pii=show_pii)
        order = df.sort_values(
            ["leaked_normalized", "strict_recall", "preserved_rate"],
            ascending=[False, True, True],
            kind="stable",
        )
        out: pd.DataFrame = order.head(n)
        return out

    def iob2(self, show_pii: bool = False) -> IOB2:
        """Gold and predicted IOB2 tags per row, for seqeval and token-level tools.

        With ``show_pii`` the tokens (words of the source texts) come too, e.g. to write a
        CoNLL file. See ``pii_gemini._iob`` for the tokenisation.
        """
        gold: list[list[str]] = []
        pred: list[list[str]] = []
        words: list[list[str]] = []
        for source, (gs, ge, gl, ps, pe, pl) in zip(
            self._rows["source"], self._row_spans, strict=True
        ):
            tokens = tokenize(source)
            gold.append(iob2_tags(tokens, gs, ge, gl))
            pred.append(iob2_tags(tokens, ps, pe, pl))
            if show_pii:
                words.append([source[a:b] for a, b in tokens])
        return IOB2(gold, pred, words)

    def iob2_scores(self) -> SpanScores:
        """Entity-level P/R/F1/F2 over the IOB2 tags: what ``seqeval`` reports for
        :meth:`iob2` (an entity counts when its label and tokens match exactly)."""
        tags = self.iob2()
        hits = n_gold = n_pred = 0
        for g, p in zip(tags.gold, tags.pred, strict=True):
            gold_entities, pred_entities = set(iob2_entities(g)), set(iob2_entities(p))
            hits += len(gold_entities & pred_entities)
            n_gold += len(gold_entities)
            n_pred += len(pred_entities)
        return SpanScores.from_counts(hits, n_pred, hits, n_gold)

    def ner_schemes(
        self, unit: str = "token", *, by_label: bool = False, min_overlap: float = 1.0
    ) -> pd.DataFrame:
        """nervaluate's four schemes: strict, exact, partial and type.

        One row per scheme (with ``by_label``, per label and scheme) with ``correct``,
        ``incorrect``, ``partial``, ``missed``, ``spurious``, ``possible``, ``actual``,
        ``precision``, ``recall`` and ``f1``, as ``nervaluate.Evaluator`` computes them.
        ``unit="token"`` scores the entities of :meth:`iob2` (nervaluate's usual input),
        ``unit="char"`` the character spans themselves. ``min_overlap`` is nervaluate's
        ``min_overlap_percentage``.
        """
        if unit not in ("token", "char"):
            raise ConfigError(f"unit must be 'token' or 'char', got {unit!r}")
        if not 1.0 <= min_overlap <= 100.0:
            raise ConfigError(f"min_overlap must be in [1, 100], got {min_overlap!r}")
        if unit == "token":
            tags = self.iob2()
            docs = [
                (iob2_entities(g), iob2_entities(p))
                for g, p in zip(tags.gold, tags.pred, strict=True)
            ]
        else:
            docs = [
                (list(zip(gl, gs, ge, strict=True)), list(zip(pl, ps, pe, strict=True)))
                for gs, ge, gl, ps, pe, pl in self._row_spans
            ]
        overall, labels = score_schemes(docs, min_overlap=min_overlap)
        records: list[dict[str, Any]] = []
        groups = sorted(labels.items()) if by_label else [("", overall)]
        for label, counts in groups:
            for scheme in SCHEMES:
                row = counts[scheme].scores(half_partial=scheme in ("partial", "type"))
                head: dict[str, Any] = {"label": label} if by_label else {}
                records.append({**head, "scheme": scheme, **row})
        index = ["label", "scheme"] if by_label else ["scheme"]
        columns = [*index, *SchemeCounts().scores(half_partial=False)]
        out: pd.DataFrame = pd.DataFrame(records, columns=columns).set_index(index)
        return out

    def plot_recall(
        self, path: str | os.PathLike[str] | None = None, *, model: str | None = None
    ) -> Figure:
        """Bar chart of strict and lenient recall per label, with each label's support;
        saved as PNG if ``path``. The title names ``model`` (default: the report's)."""
        return plot_recall(self.per_label, self.n_rows, model or self.model, path)

    @staticmethod
    def plot_loss(loss: pd.DataFrame, path: str | os.PathLike[str] | None = None) -> Figure:
        """Training loss per step (columns ``step`` and ``mean_loss``); saved as PNG if ``path``."""
        return plot_loss(loss, path)

    def __getitem__(self, key: str) -> Any:
        """``report["strict_f1"]``: a headline number by name."""
        summary = self.summary()
        if key not in summary:
            raise KeyError(key)
        return summary[key]
