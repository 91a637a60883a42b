"""``pii-gemini prepare``: an ai4privacy dataset -> train/test JSONL files of prompts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .._contract import write_model_card
from .._exceptions import DatasetError
from .._types import TrainingContract
from ..dataset import PromptBuilder, load_pii_dataset, train_test_split
from ._common import EXIT_OK, echo, write_jsonl

if TYPE_CHECKING:
    from ._common import Subparsers


def _test_size(raw: str) -> int | float:
    """``--test-size``: a row count (``100``) or a fraction (``0.05``)."""
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        return float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a row count or a fraction: {raw!r}") from None


def _cmd_prepare(args: argparse.Namespace) -> int:
    df = load_pii_dataset(
        args.source,
        split=args.hf_split,
        language=args.language,
        limit=args.limit,
        errors=args.errors,
    )
    if df.empty:
        raise DatasetError("no rows left after loading and filtering the source")
    builder = PromptBuilder(target=args.target)
    prompts = builder.build(df)
    full = pd.concat(
        [df.reset_index(drop=True), prompts.drop(columns=["id"], errors="ignore")], axis=1
    )
    train, test = train_test_split(
        full, test_size=args.test_size, method=args.split, seed=args.seed
    )
    out = Path(args.out).expanduser()
    train_path, test_path = out / "train.jsonl", out / "test.jsonl"
    write_jsonl(train, train_path)
    write_jsonl(test, test_path)
    contract = TrainingContract(builder.target, builder.template, builder.instruction)
    write_model_card(out / "model-card.json", "", "", contract)  # `tune` adds the model
    skipped = int(df.attrs.get("skipped_rows", 0) or 0)
    echo(f"train: {len(train)} rows -> {train_path}")
    echo(f"test:  {len(test)} rows -> {test_path}")
    if skipped:
        echo(f"skipped {skipped} malformed rows")
    return EXIT_OK


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    """Add ``prepare`` to ``sub``; ``common`` carries the global options."""
    p = sub.add_parser(
        "prepare", parents=[common], help="dataset -> train/test JSONL of prompts",
        description="Load an ai4privacy dataset (HF name or local file), build prompts, split.",
    )  # fmt: skip
    p.add_argument("source", help="HF dataset name or a .jsonl/.json/.csv/.parquet file/folder")
    p.add_argument("--out", "-o", default=".", metavar="DIR", help="folder for train/test.jsonl")
    p.add_argument("--hf-split", default="train", help="dataset split to load (default train)")
    p.add_argument("--language", action="append", help="keep this language (repeatable)")
    p.add_argument("--limit", type=int, help="keep the first N rows (after --language)")
    p.add_argument("--test-size", type=_test_size, default=100, help="rows or fraction (100)")
    p.add_argument("--split", choices=("head_tail", "shuffle"), default="head_tail")
    p.add_argument("--seed", type=int, default=0, help="seed of the shuffled split")
    p.add_argument("--target", choices=PromptBuilder.TARGETS, default="masked_text")
    p.add_argument("--errors", choices=("raise", "skip"), default="raise", help="bad rows")
    p.set_defaults(func=_cmd_prepare)
