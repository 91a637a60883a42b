"""``pii-gemini mask`` and ``unmask``: mask a file with a tuned model, restore with a vault."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._contract import credentials_rejected
from .._cost import masking_cost
from .._exceptions import (
    BackendError,
    CircuitOpenError,
    ConfigError,
    DatasetError,
    QuotaExhaustedError,
    StorageError,
    TuningError,
)
from .._types import JobState
from ..backends.base import Backend
from ..dataset import PromptBuilder
from ._common import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    MAX_CONCURRENCY,
    UsageError,
    command,
    concurrency,
    echo,
    existing_file,
    hint,
    non_empty,
    open_backend,
    positive_float,
    positive_int,
    print_error,
)

if TYPE_CHECKING:
    from ..masking import MaskSummary
    from ._common import Subparsers

_HASH_KEY_ENV = "PII_GEMINI_HASH_KEY"
_OPERATORS = ("replace", "numbered", "redact", "mask_chars", "hash", "surrogate")
_REVERSIBLE = ("numbered", "surrogate")


def _check_model_ready(args: argparse.Namespace, backend: Backend, model: str) -> str:
    """Refuse to mask with a tuned model that is still training or has failed.

    Otherwise every row would be sent, fail and be written as failed. Names the backend does
    not know as tuned models (a base model such as ``models/gemini-2.5-flash-lite``, for a
    baseline) pass; the Masker reports truly unknown ones. Returns the base model (what
    the run is billed as), else ``model``.
    """
    try:
        info = backend.get_model(model)
    except (BackendError, ConfigError) as exc:  # not a tuned model (name) of this backend
        if credentials_rejected(exc):
            raise  # a wrong key: stop before any row is sent
        return model
    if info.state is not JobState.SUCCEEDED:
        raise TuningError(
            f"model {model} is {info.state.value}, not ready to generate; "
            f"follow its job with `{command(args, backend, 'status', model)}`"
        )
    return info.base_model or model


def _same_path(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` name the same file (whether or not it exists)."""
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def _operator_params(operator: str) -> dict[str, Any]:
    """Parameters for ``--operator``: the ``hash`` key comes from the environment."""
    if operator != "hash":
        return {}
    key = os.environ.get(_HASH_KEY_ENV, "")
    if not key:
        raise UsageError(f"--operator hash needs a secret key in ${_HASH_KEY_ENV}")
    return {"key": key}


def _cmd_mask(args: argparse.Namespace) -> int:
    from ..masking import Masker

    existing_file(args.input)
    if args.operator in _REVERSIBLE and not args.vault:
        raise UsageError(
            f"--operator {args.operator} needs --vault PATH to keep what the tokens stand for"
        )
    if args.vault and args.operator not in _REVERSIBLE:
        raise UsageError(f"--vault needs a reversible --operator ({', '.join(_REVERSIBLE)})")
    if args.vault and _same_path(args.vault, args.output):
        raise UsageError("--vault must differ from OUT (the vault holds the original values)")
    params = _operator_params(args.operator)
    with open_backend(args) as backend:
        base = _check_model_ready(args, backend, args.model)
        # The model's training contract decides the prompt and the answer format; an
        # explicit --target must agree with it.
        masker = Masker.for_model(
            backend,
            args.model,
            prompt_builder=PromptBuilder(target=args.target) if args.target else None,
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
                retry_failed=not args.keep_failed,
                progress=not args.quiet,
                vault_path=Path(args.vault).expanduser() if args.vault else None,
                vault_allow_same_dir=args.vault_same_dir,
            )
        except KeyboardInterrupt:
            hint("rows written so far are kept; run the same command again to resume")
            raise
        except (QuotaExhaustedError, CircuitOpenError) as exc:
            return _stopped(exc, masker.last_summary)
        except StorageError as exc:  # a full disk, a folder we may not write: resumable
            print_error(f"{type(exc).__name__}: {exc}")
            return EXIT_INCOMPLETE
        except (DatasetError, ConfigError) as exc:  # the library's advice, in options' words
            exc.args = (_option_words(str(exc)), *exc.args[1:])
            raise
    echo(str(summary))
    cost = masking_cost(base, summary.prompt_tokens, summary.output_tokens + summary.thought_tokens)
    echo(f"estimated cost: {cost}")
    echo(f"output: {args.output}")
    if args.vault:
        echo(f"vault: {args.vault} (holds the original values: keep it private)")
    if summary.left_failed:
        _advise_on_failures(summary)
    if summary.done and not summary.ok and not summary.skipped_resumed:
        hint(
            f"no row was masked: all {summary.done} came back failed, blocked, empty or cut "
            "(see `status` and `error` in OUT); OUT holds no masked text"
        )
        return EXIT_INCOMPLETE
    return EXIT_INCOMPLETE if summary.left_failed else EXIT_OK


def _advise_on_failures(summary: MaskSummary) -> None:
    """Say what failed and what helps: a rerun for service errors, fixing the data for
    input rows that cannot be masked as they are (a rerun would fail them again)."""
    hint(summary.describe_failures())
    bad_input = summary.input_failures
    if bad_input:
        rows = "row" if bad_input == 1 else "rows"
        hint(
            f"{bad_input} {rows} of the input cannot be masked as they are (see each row's "
            "`error` in OUT); running again will not fix them: fix the input file, then run "
            "with --no-resume (or a new OUT)"
        )
    if summary.left_failed > bad_input:
        hint("run the same command again (later) to retry the other failed rows")


#: How the library names what ``mask`` and ``unmask`` spell as an option, in its error messages.
_OPTION_WORDS = (
    ("resume=False (--no-resume)", "--no-resume"),
    ("resume=False", "--no-resume"),
    ("vault_allow_same_dir=True, --vault-same-dir on the command line", "--vault-same-dir"),
    ("force=True (--force)", "--force"),
)


def _option_words(message: str) -> str:
    """``message`` with the library's keyword arguments replaced by the command's options."""
    for library, option in _OPTION_WORDS:
        message = message.replace(library, option)
    return message


def _stopped(exc: QuotaExhaustedError | CircuitOpenError, summary: MaskSummary | None) -> int:
    """A run that stopped itself cleanly: say why and that a later run resumes it."""
    if summary is not None:
        echo(str(summary))
    if isinstance(exc, QuotaExhaustedError):
        quota = f" ({exc.quota})" if exc.quota else ""
        why = f"the service's quota{quota} is exhausted and will not refill within this run"
    else:
        why = str(exc).removeprefix("stopped: ")
    hint(f"stopped: {why}")
    hint("rows written so far are kept; run the same command again later to resume "
         "(failed rows are retried)")  # fmt: skip
    return EXIT_INCOMPLETE


def _cmd_unmask(args: argparse.Namespace) -> int:
    from .._unmaskfile import unmask_file

    src = existing_file(args.input)
    dst = Path(args.output).expanduser()
    vault = Path(args.vault).expanduser()
    try:
        done = unmask_file(src, dst, vault, column=args.column, force=args.force)
    except (DatasetError, ConfigError) as exc:  # the library's advice, in options' words
        exc.args = (_option_words(str(exc)), *exc.args[1:])
        raise
    what = "text" if done.text else f"{done.rows} rows ({args.column}) as {done.format}"
    echo(f"unmasked {what}: {dst}; {done}")
    if done.text:
        hint(
            "warning: a text file names no vault, so pii-gemini cannot check that "
            f"{vault.name} is the vault of the masked text it answers; make sure it is"
        )
    elif done.unverified:
        rows = "row" if done.unverified == 1 else "rows"
        hint(
            f"warning: {done.unverified} {rows} of {src.name} name no vault id (masked before "
            f"vault ids, or not by `mask --vault`): pii-gemini cannot check that {vault.name} "
            "is the vault they were masked with; make sure it is"
        )
    return EXIT_OK


def add_parsers(sub: Subparsers, common: argparse.ArgumentParser) -> None:
    """Add ``mask`` and ``unmask`` to ``sub``; ``common`` carries the global options."""
    p = sub.add_parser(
        "mask", parents=[common], help="mask a file (JSONL out, resumable)",
        description="Mask the text column of IN into OUT (JSONL), resuming a previous run.",
    )  # fmt: skip
    p.add_argument("input", metavar="IN", help=".jsonl/.json/.csv/.tsv/.parquet input")
    p.add_argument("output", metavar="OUT", help=".jsonl output")
    p.add_argument("--model", required=True, type=non_empty,
                   help="tuned model name, e.g. tunedModels/x (or a base model for a "
                   "baseline, e.g. models/gemini-2.5-flash-lite)")  # fmt: skip
    p.add_argument("--text-column", "--column", dest="text_column", default="source_text",
                   help="the column to mask (default: source_text)")  # fmt: skip
    p.add_argument("--id-column", help="column copied to the output as `id`")
    p.add_argument("--target", choices=PromptBuilder.TARGETS, default=None,
                   help="what the model was tuned to answer (default: its training "
                   "contract, else masked_text); a mismatch is refused")  # fmt: skip
    p.add_argument("--concurrency", type=concurrency, default=8,
                   help=f"requests in flight (1 to {MAX_CONCURRENCY})")  # fmt: skip
    p.add_argument("--rpm", type=positive_float, help="requests per minute limit")
    p.add_argument("--tpm", type=positive_float, help="tokens per minute limit")
    p.add_argument("--chunk-size", type=positive_int, default=1000, help="rows per fsync")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="skip rows an earlier run already wrote (default: on)")  # fmt: skip
    p.add_argument("--keep-failed", action="store_true",
                   help="on resume, keep rows an earlier run left failed instead of "
                   "retrying them")  # fmt: skip
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
        "(a text file, or the --column of a file of records: the output of mask as JSONL, or "
        "re-saved as a .json array, CSV, TSV or Parquet) into OUT, in IN's format, using the "
        "vault of `mask`.",
    )  # fmt: skip
    p.add_argument("input", metavar="IN",
                   help="text file, or .jsonl/.json/.csv/.tsv/.parquet records (e.g. the "
                   "output of mask)")  # fmt: skip
    p.add_argument("output", metavar="OUT",
                   help="where to write the restored text (0600), in IN's format")  # fmt: skip
    p.add_argument("--vault", required=True, metavar="PATH", help="the vault saved by mask")
    p.add_argument("--column", default="masked_text", help="the field of each record to unmask")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=_cmd_unmask)
