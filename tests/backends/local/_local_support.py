"""Shared by the local backend tests: generated rows, prompts and short memorisable pairs."""

from __future__ import annotations

import pandas as pd

from pii_gemini import PromptBuilder, load_pii_dataset
from pii_gemini._types import TuningExample
from pii_gemini.synthetic import generate_rows

BUILDER = PromptBuilder(target="entity_lines")  # the shortest answers: fast to memorise
NAMES = ("Ann", "Bob", "Chen", "Dana")


def prompts(n: int = 6, seed: int = 1) -> pd.DataFrame:
    """``n`` generated ai4privacy-style rows with ``text_input``/``output`` from ``BUILDER``."""
    data = load_pii_dataset(generate_rows(n, seed=seed))
    return data.join(BUILDER.build(data)[["text_input", "output"]])


def short_examples() -> list[TuningExample]:
    """Four tiny pairs: many quick steps for the cancel and crash tests."""
    return [TuningExample(f"Hi {n}", "FIRSTNAME: " + n) for n in NAMES]


def tokenizer_texts(frame: pd.DataFrame) -> list[str]:
    """What the tiny tokenizer is trained on: every prompt, answer and the short pairs."""
    short = [t for ex in short_examples() for t in (ex.text_input, ex.output)]
    return [*frame["text_input"], *frame["output"], *frame["target_text"], *short]
