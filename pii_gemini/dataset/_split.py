"""``train_test_split``: the seed notebook's head/tail split, or a seeded shuffle."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._exceptions import ConfigError

__all__ = ["check_split", "count_test_rows", "train_test_split"]


def train_test_split(
    df: pd.DataFrame,
    *,
    test_size: int | float = 100,
    method: str = "head_tail",
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into (train, test) with fresh indexes.

    ``method="head_tail"`` is the seed notebook's split: the last ``test_size`` rows are the
    test set (2,000 rows -> 1,900/100). ``"shuffle"`` draws a seeded permutation first.
    ``test_size`` is a row count or a fraction in (0, 1); both parts must be non-empty.
    """
    if not isinstance(df, pd.DataFrame):
        raise ConfigError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    check_split(test_size, method, seed)
    n = len(df)
    n_test = count_test_rows(n, test_size)
    if method == "head_tail":
        train, test = df.iloc[: n - n_test], df.iloc[n - n_test :]
    else:
        order = np.random.default_rng(int(seed)).permutation(n)
        train, test = df.iloc[order[n_test:]], df.iloc[order[:n_test]]
    return train.reset_index(drop=True), test.reset_index(drop=True)


def check_split(test_size: object, method: object, seed: object) -> None:
    """ConfigError unless the split options are valid (before any row is read)."""
    if method not in ("head_tail", "shuffle"):
        raise ConfigError(f"method must be 'head_tail' or 'shuffle', got {method!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative int, got {seed!r}")
    if isinstance(test_size, bool) or not isinstance(
        test_size, (int, float, np.integer, np.floating)
    ):
        raise ConfigError(f"test_size must be an int or a float fraction, got {test_size!r}")
    if isinstance(test_size, (float, np.floating)) and not 0.0 < float(test_size) < 1.0:
        raise ConfigError(f"a fractional test_size must be in (0, 1), got {test_size!r}")


def count_test_rows(n: int, test_size: int | float) -> int:
    """How many of ``n`` rows go to the test set; ConfigError unless both parts have rows."""
    if isinstance(test_size, (float, np.floating)):
        n_test = round(n * float(test_size))
    else:
        n_test = int(test_size)
    if not 0 < n_test < n:
        raise ConfigError(
            f"test_size={test_size!r} gives {n_test} test rows out of {n}; both the train and "
            "the test part must be non-empty"
        )
    return n_test
