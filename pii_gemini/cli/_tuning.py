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


_CARD = "model-card.json"  # the local model card `prepare` starts and `tune` completes


def _card_path(args: argparse.Namespace) -> Path:
    return Path(args.card).expanduser() if args.card else Path(args.train).parent / _CARD


def _cmd_tune(args: argparse.Namespace) -> int:
    from .._contract import prompt_builder_for, read_model_card, write_model_card
    from ..tuning import Tuner

    if args.plot and not args.wait:
        raise UsageError("--plot needs --wait (the loss is known once the job has run)")
    train = read_table(args.train)
    validation = read_table(args.validation) if args.validation else None
    card = _card_path(args)
    builder = prompt_builder_for(read_model_card(card)[1]) if card.is_file() else None
    with open_backend(args) as backend:
        tuner = Tuner(backend, poll_interval=poll_interval(args, backend))
        source = args.source_model or backend.default_source_model
        if args.dry_run:
            _dry_run(backend, source, train, args)
            return EXIT_OK
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
            learning_rate_multiplier=args.learning_rate_multiplier,
            adapter_size=args.adapter_size,
            validation=validation,
            prompt_builder=builder,
            **kwargs,
        )
        _print_job(job)
        if job.contract is not None:
            write_model_card(card, job.model, job.base_model, job.contract)
            echo(f"model card:  {card}")
        if args.wait:
            model = _finish_job(job, args)
            if job.contract is not None and model != job.model:  # Vertex names it now
                write_model_card(card, model, job.base_model, job.contract)
        else:
            echo(f"follow it with: {PROG} status {job.name}")
    return EXIT_OK


def _dry_run(backend: Any, source: str | None, train: Any, args: argparse.Namespace) -> None:
    """Print what tuning would send and cost, without starting anything."""
    from .._cost import masking_cost, tuning_cost
    from ..tuning import _examples

    if source is None:
        raise UsageError(backend.no_default_source_model)
    examples = _examples(train, "text_input", "output")
    text = "\n".join(f"{ex.text_input}\n{ex.output}" for ex in examples)
    tokens = backend.count_tokens(source, text) if backend.name != "fake" else (len(text) + 3) // 4
    prompt = sum(len(ex.text_input) for ex in examples) * tokens // max(len(text), 1)
    answer = tokens - prompt
    per_1000 = masking_cost(source, prompt * 1000 // len(examples), answer * 1000 // len(examples))
    echo(f"base model:  {source} ({backend.name})")
    echo(f"examples:    {len(examples)}, {tokens:,} tokens")
    echo(f"epochs:      {args.epochs}")
    training = tuning_cost(source, tokens, args.epochs, training_price=args.training_price)
    echo(f"estimate:    {training}")
    echo(f"per 1,000 masked rows like these: {per_1000}")
    echo("dry run: nothing was uploaded or started")


def _print_job(job: Any) -> None:
    echo(f"job:         {job.name}")
    echo(f"model:       {job.model}")
    echo(f"total steps: {job.total_steps}")


def _finish_job(job: Any, args: argparse.Namespace) -> str:
    """Wait for ``job`` with a progress bar and optionally plot its loss; the model name."""
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
    return str(model.name)


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
    p.add_argument("--source-model",
                   help="base model (default: the backend's current tunable model)")  # fmt: skip
    p.add_argument("--model-id", help="id of the tuned model (lowercase, digits, dashes)")
    p.add_argument("--display-name")
    p.add_argument("--epochs", type=positive_int, default=2)
    p.add_argument("--batch-size", type=positive_int, default=4)
    p.add_argument("--learning-rate", type=positive_float, default=0.001,
                   help="Gemini API only (the seed's rate); Vertex takes a multiplier")  # fmt: skip
    p.add_argument("--learning-rate-multiplier", type=positive_float,
                   help="Vertex: factor on Vertex's default learning rate")  # fmt: skip
    p.add_argument("--adapter-size", type=int, choices=(1, 2, 4, 8, 16, 32),
                   help="Vertex: LoRA adapter size")  # fmt: skip
    p.add_argument("--validation", metavar="FILE",
                   help="Vertex: validation rows, <= 5000 and 30%% of train")  # fmt: skip
    p.add_argument("--card", metavar="PATH",
                   help=f"model card to read the prompt contract from and write the model to "
                   f"(default: {_CARD} beside the train file)")  # fmt: skip
    p.add_argument("--dry-run", action="store_true",
                   help="print base model, tokens and cost; start nothing")  # fmt: skip
    p.add_argument("--training-price", type=positive_float, metavar="USD_PER_1M",
                   help="price per 1M training tokens for the estimate")  # fmt: skip
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
