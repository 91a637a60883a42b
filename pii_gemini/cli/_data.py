"""``pii-gemini prepare``: an ai4privacy dataset -> train/test JSONL files of prompts (streamed:
see ``dataset._prepare``)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .._contract import write_model_card
from .._exceptions import ConfigError
from .._types import TrainingContract
from ..dataset import PromptBuilder
from ..dataset._prepare import prepare_files
from ._common import EXIT_OK, UsageError, echo, folder, keep_earlier_card, positive_int

if TYPE_CHECKING:
    from ._common import Subparsers


_TEST_SIZE = "test_size="  # how the library names --test-size in its errors


def _test_size(raw: str) -> int | float:
    """``--test-size``: a row count (``100``) or a fraction (``0.05``)."""
    allowed = f"a row count >= 1 or a fraction between 0 and 1, got {raw!r}"
    try:
        count = int(raw)
    except ValueError:
        pass
    else:
        if count < 1:
            raise argparse.ArgumentTypeError(f"must be {allowed}")
        return count
    try:
        fraction = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {allowed}") from None
    if not 0 < fraction < 1:
        raise argparse.ArgumentTypeError(f"must be {allowed}")
    return fraction


@contextmanager
def _removed_if_failed(out: Path) -> Iterator[None]:
    """Remove the folders of ``out`` that did not exist before, when the block fails and
    they are still empty: a failed ``prepare`` (a bad input file) leaves no empty ``--out``
    behind. Only empty folders it created go (``rmdir``): never a folder that was there
    before, never a file."""
    created = [folder for folder in (out, *out.parents) if not folder.exists()]
    try:
        yield
    except BaseException:
        for folder in created:  # deepest first
            try:
                folder.rmdir()
            except FileNotFoundError:  # never made (the failure came first)
                continue
            except OSError:  # not empty: something was written there, keep it (and above)
                break
        raise


def _cmd_prepare(args: argparse.Namespace) -> int:
    with _removed_if_failed(Path(args.out).expanduser().resolve()):
        return _prepare(args)


def _prepare(args: argparse.Namespace) -> int:
    builder = PromptBuilder(target=args.target)
    try:
        summary = prepare_files(
            args.source,
            args.out,
            builder=builder,
            test_size=args.test_size,
            method=args.split,
            seed=args.seed,
            split=args.hf_split,
            language=args.language,
            limit=args.limit,
            errors=args.errors,
        )
    except ConfigError as exc:  # a --test-size the data cannot split: name the option
        message = str(exc)
        if not message.startswith(_TEST_SIZE):
            raise
        raise UsageError(f"--test-size {message.removeprefix(_TEST_SIZE)}") from None
    contract = TrainingContract(builder.target, builder.template, builder.instruction)
    card = summary.train_path.parent / "model-card.json"
    keep_earlier_card(card, "")
    write_model_card(card, "", "", contract)
    echo(f"train: {summary.train_rows} rows -> {summary.train_path}")
    echo(f"test:  {summary.test_rows} rows -> {summary.test_path}")
    if summary.skipped_rows:
        why = "; ".join(f"{reason}: {count}" for reason, count in summary.skipped_reasons)
        rows = "row" if summary.skipped_rows == 1 else "rows"
        echo(f"skipped {summary.skipped_rows} {rows} ({why})")
    return EXIT_OK


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    """Add ``prepare`` to ``sub``; ``common`` carries the global options."""
    p = sub.add_parser(
        "prepare", parents=[common], help="dataset -> train/test JSONL of prompts",
        description="Load an ai4privacy dataset (HF name or local file), build prompts, split.",
    )  # fmt: skip
    p.add_argument("source", help="HF dataset name or a .jsonl/.json/.csv/.parquet file/folder")
    p.add_argument("--out", "-o", default=".", metavar="DIR", type=folder,
                   help="folder for train/test.jsonl")  # fmt: skip
    p.add_argument("--hf-split", default="train", help="dataset split to load (default train)")
    p.add_argument("--language", action="append", help="keep this language (repeatable)")
    p.add_argument("--limit", type=positive_int, help="keep the first N rows (after --language)")
    p.add_argument("--test-size", type=_test_size, default=100, help="rows or fraction (100)")
    p.add_argument("--split", choices=("head_tail", "shuffle"), default="head_tail")
    p.add_argument("--seed", type=int, default=0, help="seed of the shuffled split")
    p.add_argument("--target", choices=PromptBuilder.TARGETS, default="masked_text")
    p.add_argument("--errors", choices=("raise", "skip"), default="raise", help="bad rows")
    p.set_defaults(func=_cmd_prepare)
