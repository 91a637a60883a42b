"""The evaluation report: headline numbers, per-label table, per-row frame, plots.

Built by :func:`pii_gemini.metrics.evaluate`. Texts and PII values stay out of ``repr()``
and out of :meth:`EvaluationReport.rows` unless ``show_pii=True`` is asked for explicitly.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._exceptions import ConfigError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["EvaluationReport", "SpanScores", "markdown_table"]

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
        return cls(p, r, _f_beta(p, r, 1.0), _f_beta(p, r, 2.0))


def _f_beta(p: float, r: float, beta: float) -> float:
    b2 = beta * beta
    denom = b2 * p + r
    return (1 + b2) * p * r / denom if denom > 0 else 0.0


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


@dataclass(frozen=True, eq=False)
class EvaluationReport:
    """What :func:`pii_gemini.metrics.evaluate` measured over a set of rows.

    Rates are in [0, 1]. ``strict`` spans must have the same boundaries and label as a gold
    span; ``lenient`` spans only need to overlap one (any PII label). Leakage counts gold PII
    values still present in the output more often than in the ideal masked text, verbatim
    and after normalising case, whitespace and digit separators.
    """

    n_rows: int
    exact_match: float
    strict: SpanScores
    lenient: SpanScores
    leak_rate: float  # share of gold values leaked verbatim
    leak_rate_normalized: float  # ... or after normalising case/whitespace/separators
    rows_with_leak_rate: float  # share of rows with at least one verbatim leak
    rows_with_leak_rate_normalized: float
    leak_rate_raw: float  # verbatim, counting the raw answer incl. removed chatter
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
            "leak_rate": self.leak_rate,
            "leak_rate_normalized": self.leak_rate_normalized,
            "rows_with_leak_rate": self.rows_with_leak_rate,
            "rows_with_leak_rate_normalized": self.rows_with_leak_rate_normalized,
            "leak_rate_raw": self.leak_rate_raw,
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
        """Headline metrics and the per-label table as markdown."""
        summary = self.summary()
        head = pd.DataFrame(  # object dtype: counts print as integers, rates as decimals
            {"metric": list(summary), "value": pd.Series(list(summary.values()), dtype=object)}
        )
        return (
            "### Evaluation\n\n"
            + markdown_table(head)
            + "\n\n### Per label\n\n"
            + markdown_table(self.per_label)
            + "\n"
        )

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

    def plot_recall(self, path: str | os.PathLike[str] | None = None) -> Figure:
        """Bar chart of strict and lenient recall per gold label; saved as PNG if ``path``."""
        from matplotlib.figure import Figure

        table = self.per_label.sort_values("strict_recall")
        fig = Figure(figsize=(8, max(3.0, 0.28 * len(table) + 1.2)))
        ax = fig.add_subplot()
        y = list(range(len(table)))
        ax.barh([v + 0.2 for v in y], table["lenient_recall"], height=0.4, label="lenient")
        ax.barh([v - 0.2 for v in y], table["strict_recall"], height=0.4, label="strict")
        ax.set_yticks(y)
        ax.set_yticklabels(list(table["label"]), fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_xlabel("recall")
        ax.set_title(f"Recall per label ({self.n_rows} rows)")
        ax.legend(loc="lower right")
        fig.tight_layout()
        if path is not None:
            fig.savefig(os.fspath(path), format="png", dpi=120)
        return fig

    @staticmethod
    def plot_loss(loss: pd.DataFrame, path: str | os.PathLike[str] | None = None) -> Figure:
        """Training loss per step (columns ``step`` and ``mean_loss``); saved as PNG if ``path``."""
        from matplotlib.figure import Figure

        missing = {"step", "mean_loss"} - set(loss.columns)
        if missing:
            raise ConfigError(f"loss frame lacks column(s) {sorted(missing)}")
        fig = Figure(figsize=(7, 4))
        ax = fig.add_subplot()
        ax.plot(loss["step"], loss["mean_loss"], marker="o", markersize=3)
        ax.set_xlabel("step")
        ax.set_ylabel("mean loss")
        ax.set_title("Tuning loss")
        fig.tight_layout()
        if path is not None:
            fig.savefig(os.fspath(path), format="png", dpi=120)
        return fig

    def __getitem__(self, key: str) -> Any:
        """``report["strict_f1"]``: a headline number by name."""
        summary = self.summary()
        if key not in summary:
            raise KeyError(key)
        return summary[key]
