"""Charts of an evaluation: recall per label and the tuning loss (matplotlib, imported lazily).

Each chart says what it shows: the recall chart names the model and the number of rows in
its title, gives every label's support (``LABEL (n=12)``), writes the two recalls next to
the bars so that a zero is visibly a zero, and marks a label with no gold span ("no gold
spans": it was only predicted, there was nothing to recall) instead of drawing an empty bar.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

import pandas as pd

from ._exceptions import ConfigError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_loss", "plot_recall"]


def plot_recall(
    per_label: pd.DataFrame,
    n_rows: int,
    model: str | None,
    path: str | os.PathLike[str] | None = None,
) -> Figure:
    """Bar chart of strict and lenient recall per label; saved as PNG if ``path``."""
    from matplotlib.figure import Figure

    order = per_label.assign(_none=per_label["support"] == 0)
    table = order.sort_values(["_none", "strict_recall"], ascending=[False, True], kind="stable")
    fig = Figure(figsize=(9, max(3.0, 0.3 * len(table) + 1.4)))
    ax = fig.add_subplot()
    y = list(range(len(table)))
    strict = [0.0 if math.isnan(v) else v for v in table["strict_recall"]]
    lenient = [0.0 if math.isnan(v) else v for v in table["lenient_recall"]]
    ax.barh([v + 0.2 for v in y], lenient, height=0.4, label="lenient")
    ax.barh([v - 0.2 for v in y], strict, height=0.4, label="strict")
    for pos, row in zip(y, table.itertuples(index=False), strict=True):
        if row.support == 0:
            note = "no gold spans"
        else:
            note = f"strict {row.strict_recall:.2f}, lenient {row.lenient_recall:.2f}"
        ax.text(1.02, pos, note, va="center", fontsize=6, transform=ax.get_yaxis_transform())
    ax.set_yticks(y)
    ticks = [f"{lab} (n={n})" for lab, n in zip(table["label"], table["support"], strict=True)]
    ax.set_yticklabels(ticks)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("recall (n = gold spans of the label)")
    who = model if model else "model not named"
    ax.set_title(f"Recall per label: {who} ({n_rows} rows)")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    if path is not None:
        fig.savefig(os.fspath(path), format="png", dpi=120)
    return fig


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
