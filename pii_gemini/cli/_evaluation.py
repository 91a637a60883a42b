"""``pii-gemini evaluate`` and ``demo``: score predictions; the quickstart end to end."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .._exceptions import DatasetError
from ._common import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    PROG,
    command,
    concurrency,
    echo,
    existing_file,
    folder,
    hint,
    open_backend,
    poll_interval,
    positive_float,
    positive_int,
    read_table,
    write_jsonl,
)

if TYPE_CHECKING:
    from ._common import Subparsers

_OK = "ok"  # the status of a row `mask` masked (see MaskStatus)
_DEMO_METRICS = (
    ("exact_match", "exact match"),
    ("strict_f1", "strict span F1"),
    ("lenient_recall", "lenient recall"),
    ("leak_rate", "leaked values"),
    ("preservation_rate", "non-PII kept"),
)


def _predictions_for(pred: pd.DataFrame, gold: pd.DataFrame) -> tuple[list[str], Counter[str]]:
    """The texts to score in gold order (joined on ``id`` or on the row number), and the
    statuses of the rows ``mask`` left unmasked.

    A row without a masked text (``status`` failed, blocked, empty or truncated) is scored
    as its unmasked source text: what reaches a reader of that row is the source or
    nothing, so its values count as leaked and none as found, never as a clean answer.
    """
    if "masked_text" not in pred.columns:
        raise DatasetError(
            "predictions file has no 'masked_text' column (write it with `pii-gemini mask`)",
            column="masked_text",
        )
    statuses = pred["status"].tolist() if "status" in pred.columns else [_OK] * len(pred)
    rows = _in_gold_order(
        pred, gold, list(zip(pred["masked_text"].tolist(), statuses, strict=True))
    )
    texts: list[str] = []
    unmasked: Counter[str] = Counter()
    for (text, status), source in zip(rows, gold["source_text"].tolist(), strict=True):
        if isinstance(text, str) and status == _OK:
            texts.append(text)
        else:
            unmasked[status if isinstance(status, str) and status != _OK else "no text"] += 1
            texts.append(source)
    return texts, unmasked


def _unmasked_note(unmasked: Counter[str], n_rows: int) -> str:
    """One line saying how many rows were scored as their source, and why."""
    why = ", ".join(f"{status}={n}" for status, n in unmasked.most_common())
    return (
        f"{unmasked.total()} of {n_rows} rows were not masked ({why}) and are scored as "
        "their unmasked source text: their values count as leaked"
    )


def _in_gold_order(pred: pd.DataFrame, gold: pd.DataFrame, values: list[Any]) -> list[Any]:
    """``values`` (one per prediction row) in gold order, joined on ``id`` or ``row``."""
    texts = values
    if "id" in pred.columns and pred["id"].notna().all():
        by_id = dict(zip(pred["id"].astype(str).tolist(), texts, strict=True))
        missing = [i for i in gold["id"].astype(str).tolist() if i not in by_id]
        if missing:
            raise DatasetError(
                f"{len(missing)} gold rows have no prediction (first id: {missing[0]!r})",
                column="id",
            )
        return [by_id[i] for i in gold["id"].astype(str).tolist()]
    order = pred["row"].astype(int).tolist() if "row" in pred.columns else list(range(len(pred)))
    if len(texts) != len(gold) or sorted(order) != list(range(len(gold))):
        raise DatasetError(
            f"predictions have {len(texts)} rows but the gold file has {len(gold)} "
            "(and no 'id' column to join on)"
        )
    ordered: list[Any] = [None] * len(gold)
    for row, text in zip(order, texts, strict=True):
        ordered[row] = text
    return ordered


def _evaluate_and_write(
    sources: list[str],
    predictions: list[str],
    gold: pd.DataFrame,
    plots: str | None,
    name: str = "recall.png",
    safety_net_spans: list[Any] | None = None,
    model: str | None = None,
) -> Any:
    from .. import metrics

    languages = gold["language"] if "language" in gold.columns else None
    report = metrics.evaluate(
        sources,
        predictions,
        references=gold["target_text"].tolist(),
        gold_spans=gold["privacy_mask"].tolist(),
        safety_net_spans=safety_net_spans,
        languages=languages.tolist() if languages is not None and languages.notna().any() else None,
        model=model,
    )
    if plots:
        folder = Path(plots).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        report.plot_recall(folder / name)
    return report


def _score_file(
    predictions_path: str | Path,
    gold_path: str | Path,
    plots: str | None,
    *,
    name: str = "recall.png",
    model: str | None = None,
) -> tuple[Any, Counter[str], int]:
    """Score a ``mask`` output against a gold file: the report, the statuses of the rows
    left unmasked and the number of gold rows (``evaluate``, and ``demo`` on its files)."""
    from ..dataset import load_pii_dataset

    pred = read_table(str(predictions_path))
    gold = load_pii_dataset(str(existing_file(str(gold_path))))
    predictions, unmasked = _predictions_for(pred, gold)
    nets = None
    if "safety_net_spans" in pred.columns:  # written by `mask`: the report counts catches
        raw = [v if isinstance(v, list) else [] for v in pred["safety_net_spans"].tolist()]
        nets = _in_gold_order(pred, gold, raw)
    report = _evaluate_and_write(
        gold["source_text"].tolist(), predictions, gold, plots, name=name,
        safety_net_spans=nets, model=model or Path(predictions_path).name,
    )  # fmt: skip
    return report, unmasked, len(gold)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    report, unmasked, n_gold = _score_file(args.predictions, args.gold, args.plots)
    markdown = report.to_markdown()
    note = _unmasked_note(unmasked, n_gold) if unmasked else None
    if note is not None:
        markdown = f"> {note}.\n\n{markdown}"
    if args.output:
        out = Path(args.output).expanduser()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(markdown, encoding="utf-8")
    echo(markdown)
    if args.plots:
        echo(f"plots: {Path(args.plots).expanduser() / 'recall.png'}")
    if note is not None:
        hint(f"{note}; run `{PROG} mask` again to retry them")
        return EXIT_INCOMPLETE
    return EXIT_OK


def _comparison_table(reports: dict[str, Any]) -> str:
    """Markdown: one row per headline metric, one column per model."""
    names = list(reports)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key, label in _DEMO_METRICS:
        cells = [f"{float(reports[n][key]):.3f}" for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cmd_demo(args: argparse.Namespace) -> int:
    from ..dataset import PromptBuilder, load_pii_dataset, train_test_split
    from ..masking import Masker
    from ..synthetic import generate_rows
    from ..tuning import Tuner

    out = Path(args.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    test_size = args.test_size if args.test_size is not None else min(100, max(1, args.rows // 20))
    echo(f"1/6 generating {args.rows} synthetic rows (Faker, ai4privacy format)")
    df = load_pii_dataset(generate_rows(args.rows, seed=args.seed))
    builder = PromptBuilder()
    prompts = builder.build(df)
    full = pd.concat([df, prompts.drop(columns=["id"], errors="ignore")], axis=1)
    train, test = train_test_split(full, test_size=test_size, method="head_tail")
    gold_path = out / "test.jsonl"  # the gold file, as `prepare` writes it
    write_jsonl(test, gold_path)
    echo(f"2/6 prompts built; split {len(train)} train / {len(test)} test (gold: {gold_path})")
    with open_backend(args) as backend:
        tuner = Tuner(backend, poll_interval=poll_interval(args, backend))
        job = tuner.tune(
            train,
            source_model=args.source_model,  # None: the backend's default base model
            epoch_count=args.epochs,
            display_name="pii-gemini demo",
            **{  # Vertex picks its own batch size and rate: send them only where used
                k: v
                for k, v in (("batch_size", args.batch_size), ("learning_rate", args.learning_rate))
                if k in backend.tuning_hyperparameters
            },
        )
        echo(f"3/6 tuning {job.model} from {job.base_model}: {job.total_steps} steps")
        job.wait(progress=not args.quiet)
        loss_png = out / "loss.png"
        if backend.reports_loss:
            job.plot_loss(loss_png)
            echo(f"4/6 loss plot -> {loss_png}")
        else:
            echo(f"4/6 no loss plot: {backend.no_loss}")
        reports: dict[str, Any] = {}
        for label, model in (("tuned", job.model), ("untuned", job.base_model)):
            # what `pii-gemini mask` and `evaluate` do, so their files and figures agree
            masker = Masker(backend, model, prompt_builder=builder, concurrency=args.concurrency)
            predictions = out / f"predictions_{label}.jsonl"
            _remove_mask_output(predictions)  # an earlier demo's, maybe in an older format
            masker.mask_file(gold_path, predictions, id_column="id", progress=not args.quiet)
            reports[label], _, _ = _score_file(
                predictions, gold_path, str(out), name=f"recall_{label}.png",
                model=f"{label} ({model})",
            )  # fmt: skip
        echo(f"5/6 masked {len(test)} test rows with the tuned and the untuned model")
    table = _comparison_table(reports)
    (out / "metrics.md").write_text(
        table + "\n\n" + reports["tuned"].to_markdown(), encoding="utf-8"
    )
    echo(f"6/6 metrics on the test rows (details in {out / 'metrics.md'}):")
    echo()
    echo(table)
    echo()
    echo(f"next: {PROG} evaluate {out / 'predictions_tuned.jsonl'} --gold {gold_path}")
    echo(f"      {command(args, backend, 'mask', 'IN.jsonl', 'OUT.jsonl', '--model', job.model)}")
    return EXIT_OK


def _remove_mask_output(path: Path) -> None:
    """Delete a demo's earlier predictions file and the state file ``mask_file`` keeps
    beside it, so each demo run masks afresh."""
    for stale in (path, path.with_name(path.name + ".state")):
        stale.unlink(missing_ok=True)


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    """Add ``evaluate`` and ``demo`` to ``sub``; ``common`` carries the global options."""
    p = sub.add_parser(
        "evaluate", parents=[common], help="score predictions against gold data",
        description="Compare `mask` output with the gold test file; print a markdown report.",
    )  # fmt: skip
    p.add_argument("predictions", metavar="PRED_FILE", help="output of `pii-gemini mask`")
    p.add_argument("--gold", required=True, help="gold file, e.g. test.jsonl from `prepare`")
    p.add_argument("--plots", metavar="DIR", type=folder,
                   help="save recall-per-label plot here")  # fmt: skip
    p.add_argument("--output", "-o", metavar="MD", help="also write the report to this file")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser(
        "demo", parents=[common], help="the quickstart end to end (offline with fake)",
        description="Generate rows, tune, plot the loss, mask the test rows with the tuned "
        "and the untuned model and compare them.",
    )  # fmt: skip
    p.add_argument("--rows", type=positive_int, default=2000, help="rows to generate (2000)")
    p.add_argument("--out", "-o", default="pii-gemini-demo", metavar="DIR", type=folder)
    p.add_argument("--test-size", type=positive_int, help="test rows (default min(100, rows/20))")
    p.add_argument("--epochs", type=positive_int, default=2)
    p.add_argument("--batch-size", type=positive_int, default=4)
    p.add_argument("--learning-rate", type=positive_float, default=0.001)
    p.add_argument("--concurrency", type=concurrency, default=8)
    p.add_argument(
        "--source-model",
        help="base model (default: the backend's, e.g. gemini-2.5-flash-lite on vertex)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_demo, poll_interval=None)
