"""The ``pii-gemini`` command line: prepare, tune, status, models, mask, unmask, evaluate, demo.

A thin layer over the public API: it parses arguments, calls ``dataset``, ``Tuner``,
``Masker`` and ``metrics``, and turns library errors into one-line messages and exit codes:

* 0 - success
* 1 - runtime or backend error (a failed tuning job, a service error)
* 2 - usage or configuration error (a bad option, a missing credential)
* 3 - data error (a missing or malformed input file, a missing column)
* 130 - interrupted (Ctrl-C)

Messages never contain input text, PII values or API keys; ``--verbose`` adds tracebacks.

The fake backend keeps its tuned models in a local state file (``--state`` or
``PII_GEMINI_FAKE_STATE``; default ``~/.cache/pii-gemini/fake-state.pkl``) so that ``tune``
in one process and ``status``/``mask`` in the next see the same models.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pandas as pd

from ._build import build_description
from ._exceptions import BackendError, ConfigError, DatasetError, PiiGeminiError, TuningError
from ._redact import redact
from ._types import JobState
from ._version import __version__
from .backends._fake_state import (
    DEFAULT_SPEED,
    SPEED_ENV,
    STATE_ENV,
    FakeState,
    fake_speed,
    state_path,
)
from .backends.base import Backend
from .dataset import PromptBuilder

if TYPE_CHECKING:
    from .vault import Vault

__all__ = ["main"]

logger = logging.getLogger(__name__)

PROG = "pii-gemini"
EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_USAGE = 2
EXIT_DATA = 3
EXIT_INTERRUPTED = 130

_BACKENDS = ("fake", "gemini", "vertex")
_HASH_KEY_ENV = "PII_GEMINI_HASH_KEY"
_OPERATORS = ("replace", "numbered", "redact", "mask_chars", "hash", "surrogate")
_REVERSIBLE = ("numbered", "surrogate")
_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_FAKE_POLL_INTERVAL = 0.1  # seconds between polls of a fake job (the real default is 10)
_TABLE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".pq")
_DEMO_METRICS = (
    ("exact_match", "exact match"),
    ("strict_f1", "strict span F1"),
    ("lenient_recall", "lenient recall"),
    ("leak_rate", "leaked values"),
    ("preservation_rate", "non-PII kept"),
)


class _UsageError(Exception):
    """A bad combination of options found after parsing (exit code 2)."""


# --------------------------------------------------------------------------- backends


@contextmanager
def _backend(args: argparse.Namespace) -> Iterator[Backend]:
    """The backend chosen by ``--backend``; the fake one is loaded from and saved to its state."""
    from ._credentials import backend_name, make_backend

    name = backend_name(args.backend)
    if name != "fake":
        with make_backend(name) as backend:
            yield backend
        return
    store = FakeState(state_path(args.state), fake_speed(args.fake_speed))
    fake = store.load()
    try:
        yield fake
    finally:
        store.save(fake)
        fake.close()


def _poll_interval(args: argparse.Namespace, backend: Backend) -> float:
    if getattr(args, "poll_interval", None) is not None:
        return float(args.poll_interval)
    return _FAKE_POLL_INTERVAL if backend.name == "fake" else 10.0


# --------------------------------------------------------------------------- files


def _existing(path: str) -> Path:
    p = Path(path).expanduser()
    if not p.is_file():
        raise DatasetError(f"input file not found: {path}")
    return p


def _read_table(path: str) -> pd.DataFrame:
    """A JSONL/JSON/CSV/Parquet file as a DataFrame (DatasetError if unreadable)."""
    p = _existing(path)
    suffix = p.suffix.lower()
    if suffix not in _TABLE_SUFFIXES:
        raise DatasetError(
            f"unsupported file type {suffix or '(none)'!r} for {p.name}; "
            f"use {', '.join(_TABLE_SUFFIXES)}"
        )
    try:
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(p, lines=True, dtype=False)
        if suffix == ".json":
            try:
                return pd.read_json(p, dtype=False)
            except ValueError:
                return pd.read_json(p, lines=True, dtype=False)
        if suffix == ".csv":
            return pd.read_csv(p, dtype=str, keep_default_na=False)
        return pd.read_parquet(p)
    except Exception as exc:  # parsers raise many types and may quote the data
        raise DatasetError(f"could not read {p.name}: {type(exc).__name__}") from exc


def _write_jsonl(df: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_json(path, orient="records", lines=True, force_ascii=False)


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


def _positive_float(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {raw!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {raw}")
    return value


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {raw!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {raw}")
    return value


def _out(text: str = "") -> None:
    print(text, file=sys.stdout, flush=True)


def _hint(text: str) -> None:
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- commands


def _cmd_prepare(args: argparse.Namespace) -> int:
    from .dataset import PromptBuilder, load_pii_dataset, train_test_split

    df = load_pii_dataset(
        args.source,
        split=args.hf_split,
        language=args.language,
        limit=args.limit,
        errors=args.errors,
    )
    if df.empty:
        raise DatasetError("no rows left after loading and filtering the source")
    prompts = PromptBuilder(target=args.target).build(df)
    full = pd.concat(
        [df.reset_index(drop=True), prompts.drop(columns=["id"], errors="ignore")], axis=1
    )
    train, test = train_test_split(
        full, test_size=args.test_size, method=args.split, seed=args.seed
    )
    out = Path(args.out).expanduser()
    train_path, test_path = out / "train.jsonl", out / "test.jsonl"
    _write_jsonl(train, train_path)
    _write_jsonl(test, test_path)
    skipped = int(df.attrs.get("skipped_rows", 0) or 0)
    _out(f"train: {len(train)} rows -> {train_path}")
    _out(f"test:  {len(test)} rows -> {test_path}")
    if skipped:
        _out(f"skipped {skipped} malformed rows")
    return EXIT_OK


def _print_job(job: Any) -> None:
    _out(f"job:         {job.name}")
    _out(f"model:       {job.model}")
    _out(f"total steps: {job.total_steps}")


def _finish_job(job: Any, args: argparse.Namespace) -> None:
    """Wait for ``job`` with a progress bar and optionally plot its loss."""
    try:
        model = job.wait(progress=not args.quiet, timeout=args.timeout)
    except (KeyboardInterrupt, TuningError):
        _hint(f"the job is not waited for any more; see it with: {PROG} status {job.name}")
        raise
    _out(f"state:       {model.state.value}")
    if model.name != job.model:  # Vertex names the model only once the job succeeded
        _out(f"tuned model: {model.name}")
    snapshots = job.snapshots()
    if not snapshots.empty:
        _out(f"final loss:  {float(snapshots['mean_loss'].iloc[-1]):.4f}")
    if args.plot:
        plot = Path(args.plot).expanduser()
        plot.parent.mkdir(parents=True, exist_ok=True)
        job.plot_loss(plot)
        _out(f"loss plot:   {plot}")


def _cmd_tune(args: argparse.Namespace) -> int:
    from .tuning import Tuner

    if args.plot and not args.wait:
        raise _UsageError("--plot needs --wait (the loss is known once the job has run)")
    train = _read_table(args.train)
    with _backend(args) as backend:
        tuner = Tuner(backend, poll_interval=_poll_interval(args, backend))
        kwargs: dict[str, Any] = {}
        if args.source_model:
            kwargs["source_model"] = args.source_model
        job = tuner.tune(
            train,
            model_id=args.model_id,
            display_name=args.display_name,
            epoch_count=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            **kwargs,
        )
        _print_job(job)
        if args.wait:
            _finish_job(job, args)
        else:
            _out(f"follow it with: {PROG} status {job.name}")
    return EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    from .tuning import Tuner

    if args.plot and not args.wait:
        raise _UsageError("--plot needs --wait")
    with _backend(args) as backend:
        tuner = Tuner(backend, poll_interval=_poll_interval(args, backend))
        job = tuner.job(args.job)
        info = job.info
        _out(f"job:       {info.name}")
        _out(f"model:     {info.model}")
        _out(f"state:     {info.state.value}")
        _out(
            f"progress:  {info.completed_steps}/{info.total_steps} steps "
            f"({info.completed_percent:.0f}%)"
        )
        if info.snapshots:
            last = info.snapshots[-1]
            _out(f"last loss: {last.mean_loss:.4f} (step {last.step}, epoch {last.epoch})")
        if info.error:
            _out(f"error:     {redact(info.error)}")
        if args.wait and not info.state.is_terminal:
            _finish_job(job, args)
    return EXIT_OK


def _cmd_models(args: argparse.Namespace) -> int:
    from .tuning import Tuner

    with _backend(args) as backend:
        tuner = Tuner(backend)
        if args.action == "list":
            models = tuner.list_models()
            if not models:
                _out("no tuned models")
            for m in models:
                created = m.create_time.strftime("%Y-%m-%d %H:%M") if m.create_time else "-"
                _out(f"{m.name}\t{m.state.value}\t{m.base_model or '-'}\t{created}")
        else:
            if not args.name:
                raise _UsageError("models delete needs a model NAME")
            tuner.delete_model(args.name)
            _out(f"deleted {args.name}")
    return EXIT_OK


def _check_model_ready(backend: Backend, model: str) -> None:
    """Refuse to mask with a tuned model that is still training or has failed.

    Otherwise every row would be sent, fail and be written as failed. Names the backend does
    not know as tuned models (base models) pass; the Masker reports truly unknown ones.
    """
    try:
        info = backend.get_model(model)
    except BackendError:
        return
    if info.state is not JobState.SUCCEEDED:
        raise TuningError(
            f"model {model} is {info.state.value}, not ready to generate; "
            f"follow its job with `{PROG} status` (or `{PROG} models list`)"
        )


def _operator_params(operator: str) -> dict[str, Any]:
    """Parameters for ``--operator``: the ``hash`` key comes from the environment."""
    if operator != "hash":
        return {}
    key = os.environ.get(_HASH_KEY_ENV, "")
    if not key:
        raise _UsageError(f"--operator hash needs a secret key in ${_HASH_KEY_ENV}")
    return {"key": key}


def _cmd_mask(args: argparse.Namespace) -> int:
    from .dataset import PromptBuilder
    from .masking import Masker

    _existing(args.input)
    if args.operator in _REVERSIBLE and not args.vault:
        raise _UsageError(
            f"--operator {args.operator} needs --vault PATH to keep what the tokens stand for"
        )
    if args.vault and args.operator not in _REVERSIBLE:
        raise _UsageError(f"--vault needs a reversible --operator ({', '.join(_REVERSIBLE)})")
    params = _operator_params(args.operator)
    with _backend(args) as backend:
        _check_model_ready(backend, args.model)
        masker = Masker(
            backend,
            args.model,
            prompt_builder=PromptBuilder(target=args.target),
            concurrency=args.concurrency,
            requests_per_minute=args.rpm,
            tokens_per_minute=args.tpm,
            safety_net=args.safety_net,
            operator=args.operator,
            operator_params=params,
        )
        try:
            summary = masker.mask_file(
                args.input,
                args.output,
                text_column=args.text_column,
                id_column=args.id_column,
                chunk_size=args.chunk_size,
                resume=args.resume,
                progress=not args.quiet,
                vault_path=Path(args.vault).expanduser() if args.vault else None,
                vault_allow_same_dir=args.vault_same_dir,
            )
        except KeyboardInterrupt:
            _hint("rows written so far are kept; run the same command again to resume")
            raise
    _out(str(summary))
    _out(f"output: {args.output}")
    if args.vault:
        _out(f"vault: {args.vault} (holds the original values: keep it private)")
    return EXIT_OK


def _cmd_unmask(args: argparse.Namespace) -> int:
    from .vault import Vault

    src = _existing(args.input)
    dst = Path(args.output).expanduser()
    if dst.exists() and dst.resolve() == src.resolve():
        raise ConfigError("OUT must differ from IN")
    vault = Vault.load(Path(args.vault).expanduser())
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp")
    # the result holds the original PII: readable by the owner only, like the vault
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            if src.suffix.lower() in _JSONL_SUFFIXES:
                n = _unmask_jsonl(src, out, vault, args.column)
                what = f"{n} rows ({args.column})"
            else:
                out.write(vault.unmask(src.read_text(encoding="utf-8")))
                what = "text"
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _out(f"unmasked {what}: {dst}")
    return EXIT_OK


def _unmask_jsonl(src: Path, out: TextIO, vault: Vault, column: str) -> int:
    """Unmask ``column`` of every JSON line of ``src`` into ``out``; other fields kept."""
    n = 0
    with src.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise DatasetError(f"line {number} of {src.name} is not valid JSON") from None
            if not isinstance(record, dict) or column not in record:
                raise DatasetError(
                    f"line {number} of {src.name} has no {column!r} field", column=column
                )
            value = record[column]
            if isinstance(value, str):
                record[column] = vault.unmask(value)
            elif value is not None:
                raise DatasetError(
                    f"line {number} of {src.name}: {column!r} is not text", column=column
                )
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    return n


def _predictions_for(pred: pd.DataFrame, gold: pd.DataFrame) -> list[str]:
    """The predicted masked texts in gold order, joined on ``id`` or on the row number."""
    if "masked_text" not in pred.columns:
        raise DatasetError(
            "predictions file has no 'masked_text' column (write it with `pii-gemini mask`)",
            column="masked_text",
        )
    texts = ["" if not isinstance(t, str) else t for t in pred["masked_text"].tolist()]
    ordered: list[str] = _in_gold_order(pred, gold, texts)
    return ordered


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
) -> Any:
    from . import metrics

    report = metrics.evaluate(
        sources,
        predictions,
        references=gold["target_text"].tolist(),
        gold_spans=gold["privacy_mask"].tolist(),
        safety_net_spans=safety_net_spans,
    )
    if plots:
        folder = Path(plots).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        report.plot_recall(folder / name)
    return report


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .dataset import load_pii_dataset

    pred = _read_table(args.predictions)
    gold = load_pii_dataset(str(_existing(args.gold)))
    predictions = _predictions_for(pred, gold)
    nets = None
    if "safety_net_spans" in pred.columns:  # written by `mask`: the report counts catches
        raw = [v if isinstance(v, list) else [] for v in pred["safety_net_spans"].tolist()]
        nets = _in_gold_order(pred, gold, raw)
    report = _evaluate_and_write(
        gold["source_text"].tolist(), predictions, gold, args.plots, safety_net_spans=nets
    )
    markdown = report.to_markdown()
    if args.output:
        out = Path(args.output).expanduser()
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(markdown, encoding="utf-8")
    _out(markdown)
    if args.plots:
        _out(f"plots: {Path(args.plots).expanduser() / 'recall.png'}")
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
    from .dataset import PromptBuilder, load_pii_dataset, train_test_split
    from .masking import Masker
    from .synthetic import generate_rows
    from .tuning import Tuner

    out = Path(args.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    test_size = args.test_size if args.test_size is not None else min(100, max(1, args.rows // 20))
    _out(f"1/6 generating {args.rows} synthetic rows (Faker, ai4privacy format)")
    df = load_pii_dataset(generate_rows(args.rows, seed=args.seed))
    builder = PromptBuilder()
    prompts = builder.build(df)
    full = pd.concat([df, prompts.drop(columns=["id"], errors="ignore")], axis=1)
    train, test = train_test_split(full, test_size=test_size, method="head_tail")
    _out(f"2/6 prompts built; split {len(train)} train / {len(test)} test")
    with _backend(args) as backend:
        tuner = Tuner(backend, poll_interval=_poll_interval(args, backend))
        job = tuner.tune(
            train,
            source_model=args.source_model or _default_source(),
            epoch_count=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.learning_rate,
            display_name="pii-gemini demo",
        )
        _out(f"3/6 tuning {job.model}: {job.total_steps} steps")
        job.wait(progress=not args.quiet)
        loss_png = out / "loss.png"
        job.plot_loss(loss_png)
        _out(f"4/6 loss plot -> {loss_png}")
        sources = test["source_text"].tolist()
        reports: dict[str, Any] = {}
        for label, model in (
            ("tuned", job.model),
            ("untuned", job.base_model or _default_source()),
        ):
            masker = Masker(backend, model, prompt_builder=builder, concurrency=args.concurrency)
            masked = masker.mask_dataframe(test, text_column="source_text", progress=not args.quiet)
            _write_jsonl(
                masked[["id", "masked_text", "mask_status", "mask_error"]],
                out / f"predictions_{label}.jsonl",
            )
            predictions = ["" if not isinstance(t, str) else t for t in masked["masked_text"]]
            reports[label] = _evaluate_and_write(
                sources, predictions, test, str(out), name=f"recall_{label}.png"
            )
        _out(f"5/6 masked {len(test)} test rows with the tuned and the untuned model")
    table = _comparison_table(reports)
    (out / "metrics.md").write_text(
        table + "\n\n" + reports["tuned"].to_markdown(), encoding="utf-8"
    )
    _out(f"6/6 metrics on the test rows (details in {out / 'metrics.md'}):")
    _out()
    _out(table)
    _out()
    _out(f"next: {PROG} mask IN.jsonl OUT.jsonl --model {job.model}")
    return EXIT_OK


def _default_source() -> str:
    """The default source model, the "untuned" baseline of the demo."""
    from .tuning import DEFAULT_SOURCE_MODEL

    return DEFAULT_SOURCE_MODEL


# --------------------------------------------------------------------------- parser


def _add_wait_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait", action="store_true", help="wait for the job with a progress bar")
    p.add_argument("--timeout", type=_positive_float, help="give up waiting after S seconds")
    p.add_argument("--plot", metavar="PNG", help="save the loss curve (needs --wait)")
    p.add_argument(
        "--poll-interval",
        type=float,
        metavar="S",
        help="seconds between polls (default 10; 0.1 with the fake backend)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``pii-gemini`` (exposed for docs and tests)."""
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("global options")
    g.add_argument(
        "--backend",
        choices=_BACKENDS,
        default=argparse.SUPPRESS,
        help="where to tune and generate (default: $PII_GEMINI_BACKEND, else fake)",
    )
    g.add_argument(
        "--state",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help=f"fake backend state file (default: ${STATE_ENV}, else "
        "~/.cache/pii-gemini/fake-state.pkl)",
    )
    g.add_argument(
        "--fake-speed",
        metavar="STEPS_PER_S",
        default=argparse.SUPPRESS,
        help=f"fake training speed, 0 = instant (default: ${SPEED_ENV}, else {DEFAULT_SPEED:g})",
    )
    g.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
        help="log progress details and show tracebacks",
    )  # fmt: skip
    g.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
        help="no progress bars",
    )  # fmt: skip

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Fine-tune Gemini to mask personal data (PII), mask files, evaluate.",
        parents=[common],
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__} ({build_description()})"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

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

    p = sub.add_parser(
        "tune", parents=[common], help="start a tuning job on a train file",
        description="Start tuning on a file with text_input/output columns.",
    )  # fmt: skip
    p.add_argument("train", help="train file (.jsonl/.csv/.parquet) with text_input, output")
    p.add_argument("--source-model", help="base model to tune (default: the tunable Flash)")
    p.add_argument("--model-id", help="id of the tuned model (lowercase, digits, dashes)")
    p.add_argument("--display-name")
    p.add_argument("--epochs", type=_positive_int, default=2)
    p.add_argument("--batch-size", type=_positive_int, default=4)
    p.add_argument("--learning-rate", type=_positive_float, default=0.001)
    _add_wait_options(p)
    p.set_defaults(func=_cmd_tune)

    p = sub.add_parser("status", parents=[common], help="state, progress and loss of a job")
    p.add_argument("job", help="job name printed by `tune`")
    _add_wait_options(p)
    p.set_defaults(func=_cmd_status)

    p = sub.add_parser("models", parents=[common], help="list or delete tuned models")
    p.add_argument("action", choices=("list", "delete"))
    p.add_argument("name", nargs="?", help="model to delete, e.g. tunedModels/my-model")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser(
        "mask", parents=[common], help="mask a file (JSONL out, resumable)",
        description="Mask the text column of IN into OUT (JSONL), resuming a previous run.",
    )  # fmt: skip
    p.add_argument("input", metavar="IN", help=".jsonl/.csv/.tsv/.parquet input")
    p.add_argument("output", metavar="OUT", help=".jsonl output")
    p.add_argument("--model", required=True, help="tuned model name, e.g. tunedModels/x")
    p.add_argument("--text-column", default="source_text")
    p.add_argument("--id-column", help="column copied to the output as `id`")
    p.add_argument("--target", choices=PromptBuilder.TARGETS, default="masked_text",
                   help="what the model was tuned to answer")  # fmt: skip
    p.add_argument("--concurrency", type=_positive_int, default=8, help="requests in flight")
    p.add_argument("--rpm", type=_positive_float, help="requests per minute limit")
    p.add_argument("--tpm", type=_positive_float, help="tokens per minute limit")
    p.add_argument("--chunk-size", type=_positive_int, default=1000, help="rows per fsync")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="skip rows an earlier run already wrote (default: on)")  # fmt: skip
    p.add_argument("--no-safety-net", dest="safety_net", action="store_false",
                   help="do not run the deterministic detectors after the model")  # fmt: skip
    p.add_argument("--operator", choices=_OPERATORS, default="replace",
                   help="what replaces each value (default: [LABEL]); hash reads its key "
                   f"from ${_HASH_KEY_ENV}; numbered/surrogate need --vault")  # fmt: skip
    p.add_argument("--vault", metavar="PATH",
                   help="save token -> original value here (0600, not beside OUT)")  # fmt: skip
    p.add_argument("--vault-same-dir", action="store_true",
                   help="allow --vault in the folder of OUT")  # fmt: skip
    p.set_defaults(func=_cmd_mask)

    p = sub.add_parser(
        "unmask", parents=[common], help="put the original values back (with a vault)",
        description="Restore the values behind numbered placeholders and surrogates in IN "
        "(a text file, or a JSONL file's --column) into OUT, using the vault of `mask`.",
    )  # fmt: skip
    p.add_argument("input", metavar="IN", help="text file, or .jsonl (e.g. the output of mask)")
    p.add_argument("output", metavar="OUT", help="where to write the restored text (0600)")
    p.add_argument("--vault", required=True, metavar="PATH", help="the vault saved by mask")
    p.add_argument("--column", default="masked_text", help="JSONL field to unmask")
    p.set_defaults(func=_cmd_unmask)

    p = sub.add_parser(
        "evaluate", parents=[common], help="score predictions against gold data",
        description="Compare `mask` output with the gold test file; print a markdown report.",
    )  # fmt: skip
    p.add_argument("predictions", metavar="PRED_FILE", help="output of `pii-gemini mask`")
    p.add_argument("--gold", required=True, help="gold file, e.g. test.jsonl from `prepare`")
    p.add_argument("--plots", metavar="DIR", help="save recall-per-label plot here")
    p.add_argument("--output", "-o", metavar="MD", help="also write the report to this file")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser(
        "demo", parents=[common], help="the quickstart end to end (offline with fake)",
        description="Generate rows, tune, plot the loss, mask the test rows with the tuned "
        "and the untuned model and compare them.",
    )  # fmt: skip
    p.add_argument("--rows", type=_positive_int, default=2000, help="rows to generate (2000)")
    p.add_argument("--out", "-o", default="pii-gemini-demo", metavar="DIR")
    p.add_argument("--test-size", type=_positive_int, help="test rows (default min(100, rows/20))")
    p.add_argument("--epochs", type=_positive_int, default=2)
    p.add_argument("--batch-size", type=_positive_int, default=4)
    p.add_argument("--learning-rate", type=_positive_float, default=0.001)
    p.add_argument("--concurrency", type=_positive_int, default=8)
    p.add_argument("--source-model", help="base model (e.g. gemini-2.5-flash on vertex)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_cmd_demo, poll_interval=None)
    return parser


# --------------------------------------------------------------------------- main


_GLOBAL_DEFAULTS: dict[str, Any] = {
    "backend": None,
    "state": None,
    "fake_speed": None,
    "verbose": False,
    "quiet": False,
}


def _error(message: str) -> None:
    print(f"{PROG}: error: {redact(message)}", file=sys.stderr, flush=True)


def _exit_code(exc: PiiGeminiError) -> int:
    if isinstance(exc, ConfigError):
        return EXIT_USAGE
    if isinstance(exc, DatasetError):
        return EXIT_DATA
    return EXIT_RUNTIME


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pii-gemini`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # argparse: --help/--version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    for key, value in _GLOBAL_DEFAULTS.items():
        if not hasattr(args, key):
            setattr(args, key, value)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except _UsageError as exc:
        parser.print_usage(sys.stderr)
        _error(str(exc))
        return EXIT_USAGE
    except PiiGeminiError as exc:
        if args.verbose:
            traceback.print_exc()
        _error(f"{type(exc).__name__}: {exc}")
        return _exit_code(exc)
    except OSError as exc:  # a file we could not write, a full disk: no data in the message
        if args.verbose:
            traceback.print_exc()
        _error(f"{type(exc).__name__}: {exc.strerror or 'I/O error'} ({exc.filename})")
        return EXIT_RUNTIME
    except Exception as exc:  # a bug: its message may quote data, so print only its type
        if args.verbose:
            traceback.print_exc()
        _error(f"unexpected {type(exc).__name__}; rerun with --verbose for the traceback")
        return EXIT_RUNTIME


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
