"""``pii-gemini tune``, ``status`` and ``models``: start, follow and manage tuning jobs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import TuningError
from .._redact import redact
from .._types import JobState
from ._common import (
    EXIT_OK,
    PROG,
    UsageError,
    command,
    echo,
    hint,
    keep_earlier_card,
    non_negative_float,
    open_backend,
    poll_interval,
    positive_float,
    positive_int,
    read_table,
)

if TYPE_CHECKING:
    from ._common import Subparsers


_CARD = "model-card.json"  # the local model card `prepare` starts and `tune` completes
_SERVICE = {"vertex": "Vertex AI", "gemini": "the Gemini API"}  # names in messages


def _card_path(args: argparse.Namespace) -> Path:
    """The model card of this run; UsageError when ``--card`` names no file (a typo would
    otherwise tune without the prompt contract)."""
    if not args.card:
        return Path(args.train).parent / _CARD
    card = Path(args.card).expanduser()
    if not card.is_file():
        raise UsageError(
            f"--card {args.card} does not exist (a model card is the {_CARD} `{PROG} prepare` "
            "writes "
            "beside train.jsonl); leave --card out to infer the target from the output column"
        )
    return card


def _prompt_builder(card: Path, train: Any, args: argparse.Namespace) -> Any:
    """The PromptBuilder the prompts were made with: the model card's, else one inferred
    from the train file (target from the ``output`` column, the default template), else a
    UsageError naming what to pass. An explicit ``--target`` must agree with either."""
    from .._contract import infer_contract, prompt_builder_for, read_model_card
    from .._types import TrainingContract
    from ..tuning import _examples

    if card.is_file():
        contract = read_model_card(card)[1]
        origin = f"model card {card}"
    else:
        found = infer_contract(_examples(train, "text_input", "output"))
        if found is None and not args.target:
            raise UsageError(
                f"the output column of {args.train} mixes answer formats and there is no "
                f"model card ({card}): pass --card PATH or --target "
                "{masked_text,entities,entity_lines} to say what the model learns"
            )
        contract = found or TrainingContract(args.target)
        if not contract.template:
            raise UsageError(
                f"the prompts in {args.train} do not follow the default template and there is "
                f"no model card ({card}): `mask` could not prompt the model as it learnt; "
                f"pass --card PATH (a {_CARD} with the template) and --target if needed"
            )
        origin = f"the output column of {args.train} (no model card at {card})"
        if not args.target:
            hint(f"target {contract.target}: inferred from {origin}")
    if args.target and args.target != contract.target:
        raise UsageError(f"--target {args.target}, but the target of {origin} is {contract.target}")
    return prompt_builder_for(contract)


def _hyperparameters(backend: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The hyperparameter flags ``backend`` sends; warns once about the others given."""
    from ..tuning import ignored_hyperparameters

    flags = {
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "learning_rate_multiplier": args.learning_rate_multiplier,
        "adapter_size": args.adapter_size,
    }
    ignored = ignored_hyperparameters(backend, flags)
    if ignored:
        used = ", ".join("--" + n.replace("_", "-") for n in backend.tuning_hyperparameters)
        named = ", ".join("--" + n.replace("_", "-") for n in ignored)
        hint(
            f"warning: the {backend.name} backend does not use {named}: ignored (it tunes "
            f"with {used.replace('--epoch-count', '--epochs')})"
        )
    return {name: None if name in ignored else value for name, value in flags.items()}


def _check_plot(backend: Any, args: argparse.Namespace) -> None:
    """UsageError for ``--plot`` on a backend that reports no loss (before any work)."""
    if args.plot and not backend.reports_loss:
        raise UsageError(f"--plot: {backend.no_loss}; drop --plot")


def _model_id(raw: str) -> str:
    """Argument type of ``--model-id``: the service's rule, checked before any work."""
    from ..tuning import MODEL_ID_RULE, valid_model_id

    if not valid_model_id(raw):
        raise argparse.ArgumentTypeError(f"{MODEL_ID_RULE}, got {raw!r}")
    return raw


def _cmd_tune(args: argparse.Namespace) -> int:
    from .._contract import write_model_card
    from ..tuning import Tuner

    if args.plot and not args.wait:
        raise UsageError("--plot needs --wait (the loss is known once the job has run)")
    card = _card_path(args)
    train = read_table(args.train)
    validation = read_table(args.validation) if args.validation else None
    builder = _prompt_builder(card, train, args)
    with open_backend(args) as backend:
        _check_plot(backend, args)
        tuner = Tuner(backend, poll_interval=poll_interval(args, backend))
        source = args.source_model or backend.default_source_model
        if source is None:
            raise UsageError(backend.no_default_source_model)
        tuner.check_source_model(source, allow_unlisted=args.allow_unlisted_model)
        hyperparameters = _hyperparameters(backend, args)
        if args.dry_run:
            _dry_run(backend, source, train, args)
            return EXIT_OK
        job = tuner.tune(
            train,
            source_model=source,
            model_id=args.model_id,
            display_name=args.display_name,
            epoch_count=args.epochs,
            validation=validation,
            prompt_builder=builder,
            allow_unlisted_model=True,  # checked above
            **hyperparameters,
        )
        _print_job(job, backend)
        if job.contract is not None:
            keep_earlier_card(card, job.model)
            write_model_card(card, job.model, job.base_model, job.contract)
            echo(f"model card:  {card}")
        if args.wait:
            model = _finish_job(job, args, backend)
            if job.contract is not None and model != job.model:  # Vertex names it now
                write_model_card(card, model, job.base_model, job.contract)
        else:
            echo(f"follow it with: {command(args, backend, 'status', job.name)}")
    return EXIT_OK


def _dry_run(backend: Any, source: str, train: Any, args: argparse.Namespace) -> None:
    """Print what tuning would send and cost, without starting anything."""
    from .._cost import masking_cost, tuning_cost
    from ..tuning import _examples

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


def _print_job(job: Any, backend: Any) -> None:
    echo(f"job:         {job.name}")
    echo(f"model:       {job.model}")
    service = _SERVICE.get(backend.name, backend.name)
    if "batch_size" in backend.tuning_hyperparameters:
        echo(f"total steps: {job.total_steps}")
    elif job.total_steps:
        echo(f"total steps: {job.total_steps} (as {service} reports them)")
    else:  # the service picks the batch size; it reports the count once it read the data
        echo(f"total steps: set by {service} (it picks the batch size)")


def _finish_job(job: Any, args: argparse.Namespace, backend: Any) -> str:
    """Wait for ``job`` with a progress bar and optionally plot its loss; the model name."""
    try:
        model = job.wait(progress=not args.quiet, timeout=args.timeout)
    except (KeyboardInterrupt, TuningError):
        again = command(args, backend, "status", job.name)
        hint(f"the job is not waited for any more; see it with: {again}")
        raise
    echo(f"state:       {model.state.value}")
    if model.name != job.model:  # Vertex names the model only once the job succeeded
        echo(f"tuned model: {model.name}")
    snapshots = job.snapshots()
    if not snapshots.empty:
        echo(f"final loss:  {float(snapshots['mean_loss'].iloc[-1]):.4f}")
    _save_plot(job, args, "loss plot:  ")
    return str(model.name)


def _save_plot(job: Any, args: argparse.Namespace, label: str) -> None:
    """Save the job's loss curve to ``--plot`` (when given) and say where."""
    if args.plot:
        plot = Path(args.plot).expanduser()
        plot.parent.mkdir(parents=True, exist_ok=True)
        job.plot_loss(plot)
        echo(f"{label} {plot}")


def _cmd_status(args: argparse.Namespace) -> int:
    from ..tuning import Tuner

    if args.plot and not args.wait:
        raise UsageError("--plot needs --wait")
    with open_backend(args) as backend:
        _check_plot(backend, args)
        tuner = Tuner(backend, poll_interval=poll_interval(args, backend))
        job = tuner.job(args.job)
        info = job.info
        echo(f"job:       {info.name}")
        echo(f"model:     {info.model}")
        echo(f"state:     {info.state.value}")
        echo(f"progress:  {_progress(info, backend)}")
        if info.snapshots:
            last = info.snapshots[-1]
            echo(f"last loss: {last.mean_loss:.4f} (step {last.step}, epoch {last.epoch})")
        if info.error:
            echo(f"error:     {redact(info.error)}")
        if args.wait and not info.state.is_terminal:
            _finish_job(job, args, backend)
        elif args.wait:  # already finished: nothing to wait for, but the plot was asked for
            _save_plot(job, args, "loss plot:")
    return EXIT_OK


def _progress(info: Any, backend: Any) -> str:
    """``completed/total steps (N%)``, or, when the service reports no steps while the job
    runs (Vertex: 0 until it succeeds; the Gemini API for a model whose job it no longer
    lists), that it does not, rather than a stuck-looking 0."""
    if (backend.reports_steps and info.total_steps) or info.state is JobState.SUCCEEDED:
        return f"{info.completed_steps}/{info.total_steps} steps ({info.completed_percent:.0f}%)"
    total = f" ({info.total_steps} steps in all)" if info.total_steps else ""
    return (
        f"not reported by {_SERVICE.get(backend.name, backend.name)} until the job succeeds{total}"
    )


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
        type=non_negative_float,
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
    p.add_argument("--model-id", type=_model_id,
                   help="id of the tuned model (lowercase, digits, dashes)")  # fmt: skip
    p.add_argument("--display-name")
    p.add_argument("--epochs", type=positive_int, default=2)
    p.add_argument("--batch-size", type=positive_int,
                   help="Gemini API/fake/local (default 4); Vertex picks its own")  # fmt: skip
    p.add_argument("--learning-rate", type=positive_float,
                   help="Gemini API/fake/local (default 0.001, the seed's); Vertex takes "
                   "--learning-rate-multiplier")  # fmt: skip
    p.add_argument("--learning-rate-multiplier", type=positive_float,
                   help="Vertex: factor on Vertex's default learning rate")  # fmt: skip
    p.add_argument("--adapter-size", type=int, choices=(1, 2, 4, 8, 16, 32),
                   help="Vertex: LoRA adapter size")  # fmt: skip
    p.add_argument("--validation", metavar="FILE",
                   help="Vertex: validation rows, <= 5000 and 30%% of train")  # fmt: skip
    p.add_argument("--card", metavar="PATH",
                   help=f"model card to read the prompt contract from and write the model to "
                   f"(default: {_CARD} beside the train file; without one the target is "
                   "inferred from the output column)")  # fmt: skip
    p.add_argument("--target", choices=("masked_text", "entities", "entity_lines"),
                   help="what the outputs are, when there is no model card")  # fmt: skip
    p.add_argument("--allow-unlisted-model", action="store_true",
                   help="send a --source-model the dated catalogue does not list as "
                   "tunable (one newer than it)")  # fmt: skip
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
