"""Fixtures of the local backend tests: a tiny random Gemma checkpoint, built once, offline.

Tests that need the ``local`` extra (torch, transformers, peft) ask for ``tiny_base``,
which skips them cleanly when the extra is not installed.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _local_support import prompts, tokenizer_texts


@pytest.fixture(scope="session")
def rows() -> pd.DataFrame:
    return prompts()


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory, rows: pd.DataFrame) -> Path:
    for module in ("torch", "transformers", "peft"):
        pytest.importorskip(module, reason="the local extra is not installed")
    from pii_gemini.backends._local_tiny import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-gemma"), tokenizer_texts(rows))
