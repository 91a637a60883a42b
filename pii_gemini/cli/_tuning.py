"""``pii-gemini tune``, ``status`` and ``models``: start, follow and manage tuning jobs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import TuningError
from .._redact import redact
from ._common import (
    EXIT_OK,
    PROG,
    UsageError,
    echo,
    hint,
    open_backend,
    poll_interval,
    positive_float,
    positive_int,
    read_table,
)

if TYPE_CHECKING:
    from ._common import Subparsers


def _cmd_tune(args: argparse.Namespace) -> int:
    from ..tuning import Tuner

    if args.plot and not args.wait:
        raise UsageError("--plot needs --wait (the loss is known once the job has run)")
    train = read_table(args.train)
    with open_backend(args) as backend:
        tuner = Tuner(backend, poll_interval=poll_interval(args, backend))
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
            echo(f"follow it with: {PROG} status {job.name}")
    return EXIT_OK


def _print_job(job: Any) -> None:
    echo(f"job:         {job.name}")
    echo(f"model:       {job.model}")
    echo(f"total steps: {job.total_steps}")


def _finish_job(job: Any, args: argparse.Namespace) -> None:
    """Wait for ``job`` with a progress bar and optionally plot its loss."""
    try:
        model = job.wait(progress=not args.quiet, timeout=args.timeout)
    except (KeyboardInterrupt, TuningError):
        hint(f"the job is not waited for any more; see it with: {PROG} status {job.name}")
        raise
    echo(f"state:       {model.state.value}")
    if model.name != job.model:  # Vertex names the model only once the job succeeded
        echo(f"tuned model: {model.name}")
    snapshots = job.snapshots()
    if not snapshots.empty:
        echo(f"final loss:  {float(snapshots['mean_loss'].iloc[-1]):.4f}")
    if args.plot:
        plot = Path(args.plot).expanduser()
        plot.parent.mkdir(parents=True, exist_ok=True)
        job.plot_loss(plot)
        echo(f"loss plot:   {plot}")


def _cmd_status(args: argparse.Namespace) -> int:
    from ..tuning import Tuner

    if args.plot and not args.wait:
        raise UsageError("--plot needs --wait")
    with open_backend(args) as backend:
        tuner = Tuner(backend, poll_interval=poll_interval(args, backend))
        job = tuner.job(args.job)
        info = job.info
        echo(f"job:       {info.name}")
        echo(f"model:     {info.model}")
        echo(f"state:     {info.state.value}")
        echo(
            f"progress:  {info.completed_steps}/{info.total_steps} steps "
            f"({info.completed_percent:.0f}%)"
        )
        if info.snapshots:
            last = info.snapshots[-1]
            echo(f"last loss: {last.mean_loss:.4f} (step {last.step}, epoch {last.epoch})")
        if info.error:
            echo(f"error:     {redact(info.error)}")
        if args.wait and not info.state.is_terminal:
            _finish_job(job, args)
    return EXIT_OK


def _cmd_models(args: argparse.Namespace) -> int:
    from ..tuning import Tuner

    with open_backend(args) as backend:
        tuner = Tuner(backend)
        if args.action == "list":
            models = tuner.list_models()
            if not models:
                echo("no tuned models")
            for m in models:
                created = m.create_time.strftime("%Y-%m-%d %H:%M") if m.create_time else "-"
                echo(f"{m.name}\t{m.state.value}\t{m.base_model or '-'}\t{created}")
        else:
            if not args.name:
                raise UsageError("models delete needs a model NAME")
            tuner.delete_model(args.name)
            echo(f"deleted {args.name}")
    return EXIT_OK


def _add_wait_options(p: argparse.ArgumentParser) -> None:
    """``--wait``, ``--timeout``, ``--plot`` and ``--poll-interval`` of tune and status."""
    p.add_argument("--wait", action="store_true", help="wait for the job with a progress bar")
    p.add_argument("--timeout", type=positive_float, help="give up waiting after S seconds")
    p.add_argument("--plot", metavar="PNG", help="save the loss curve (needs --wait)")
    p.add_argument(
        "--poll-interval",
        type=float,
        metavar="S",
        help="seconds between polls (default 10; 0.1 with the fake backend)",
    )


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    """Add ``tune``, ``status`` and ``models`` to ``sub``; ``common`` carries the global options."""
    p = sub.add_parser(
        "tune", parents=[common], help="start a tuning job on a train file",
        description="Start tuning on a file with text_input/output columns.",
    )  # fmt: skip
    p.add_argument("train", help="train file (.jsonl/.csv/.parquet) with text_input, output")
    p.add_argument("--source-model", help="base model to tune (default: the tunable Flash)")
    p.add_argument("--model-id", help="id of the tuned model (lowercase, digits, dashes)")
    p.add_argument("--display-name")
    p.add_argument("--epochs", type=positive_int, default=2)
    p.add_argument("--batch-size", type=positive_int, default=4)
    p.add_argument("--learning-rate", type=positive_float, default=0.001)
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
