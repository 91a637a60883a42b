"""pii_gemini.dataset._split: train_test_split."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from pii_gemini._exceptions import ConfigError
from pii_gemini.dataset import train_test_split


def test_head_tail_split_matches_the_seed() -> None:
    df = pd.DataFrame({"x": range(2000)})
    train, test = train_test_split(df)
    assert len(train) == 1900 and len(test) == 100
    assert train["x"].tolist() == list(range(1900)) and test["x"].tolist() == list(
        range(1900, 2000)
    )
    assert test.index.tolist() == list(range(100))


def test_shuffle_split_is_seeded() -> None:
    df = pd.DataFrame({"x": range(50)})
    a_train, a_test = train_test_split(df, test_size=0.2, method="shuffle", seed=1)
    _b_train, b_test = train_test_split(df, test_size=0.2, method="shuffle", seed=1)
    _, c_test = train_test_split(df, test_size=0.2, method="shuffle", seed=2)
    assert len(a_test) == 10 and len(a_train) == 40
    assert a_test["x"].tolist() == b_test["x"].tolist() != c_test["x"].tolist()
    assert sorted(a_train["x"].tolist() + a_test["x"].tolist()) == list(range(50))
    assert a_train.index.tolist() == list(range(40))


@pytest.mark.parametrize(
    "kwargs",
    [{"test_size": 0}, {"test_size": 10}, {"test_size": 11}, {"test_size": -1},
     {"test_size": 1.0}, {"test_size": 0.0}, {"test_size": 0.01}, {"test_size": True},
     {"test_size": "5"}, {"method": "random"}, {"seed": -1}],
)  # fmt: skip
def test_bad_split_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        train_test_split(pd.DataFrame({"x": range(10)}), **kwargs)


def test_split_needs_a_frame() -> None:
    with pytest.raises(ConfigError):
        train_test_split([1, 2, 3])  # type: ignore[arg-type]
