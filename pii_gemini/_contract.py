"""The training contract of a tuned model: stored with the model, checked before masking.

A model tuned on ``entity_lines`` answers ``LABEL: value`` lines; masking with it under the
default ``masked_text`` reading would mark every row ok with garbage. So ``Tuner.tune``
writes the contract (prompt template, instruction, target, client token) into the model's
description - the one free-text field both services keep - and a local model card, and the
Masker/``mask`` read it back: they build the same prompt, or refuse a mismatch.

The description keeps whatever the user wrote, then one line ``pii-gemini:{json}``.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

from ._exceptions import ConfigError, PermissionDeniedError
from ._types import TrainingContract, TuningSpec

__all__ = [
    "MARKER",
    "check_prompter",
    "contract_from_description",
    "contract_of",
    "credentials_rejected",
    "description_with_contract",
    "infer_contract",
    "infer_target",
    "new_client_token",
    "prompt_builder_for",
    "read_model_card",
    "spec_description",
    "spec_model_id",
    "tuned_model_id",
    "write_model_card",
]

MARKER = "pii-gemini:"
_MARKER_RE = re.compile(r"(?m)^pii-gemini:(\{.*\})\s*$")
_ID_MAX = 40  # Gemini API tuned model ids: [a-z]([a-z0-9-]{0,38}[a-z0-9])?
_TOKEN_CHARS = 12  # hex digits of a client token (48 bits: no collision in practice)
_ENTITY_LINE_RE = re.compile(r"[A-Z][A-Z0-9_]*: \S.*")  # PromptBuilder's entity_lines


class _Prompter(Protocol):
    @property
    def target(self) -> str: ...


def new_client_token() -> str:
    """A fresh client token: lowercase hex, valid in ids, labels and object names."""
    return secrets.token_hex(_TOKEN_CHARS // 2)


def tuned_model_id(display_name: str | None, token: str) -> str:
    """A Gemini API tuned model id carrying ``token``: ``<slug>-<token>``, at most 40 chars."""
    slug = re.sub(r"[^a-z0-9]+", "-", (display_name or "").lower()).strip("-")
    slug = slug.lstrip("0123456789-") or "pii-gemini"
    room = _ID_MAX - len(token) - 1
    return f"{slug[:room].rstrip('-')}-{token}"


def spec_model_id(spec: TuningSpec) -> str | None:
    """A Gemini API tuned model id for ``spec``: the caller's, else one with its token."""
    if spec.model_id or not spec.client_token:
        return spec.model_id
    return tuned_model_id(spec.display_name, spec.client_token)


def spec_description(spec: TuningSpec) -> str:
    """The model description for ``spec``: the caller's text and the training contract."""
    if spec.contract is None:
        return spec.description or ""
    return description_with_contract(spec.description, spec.contract)


def description_with_contract(description: str | None, contract: TrainingContract) -> str:
    """``description`` (user text, any earlier contract line dropped) + the contract line."""
    text = _MARKER_RE.sub("", description or "").rstrip()
    line = MARKER + json.dumps(asdict(contract), separators=(",", ":"), sort_keys=True)
    return f"{text}\n{line}" if text else line


def contract_from_description(description: str | None) -> TrainingContract | None:
    """The contract in a model description, or None (none written, or unreadable)."""
    match = _MARKER_RE.search(description or "")
    if match is None:
        return None
    try:
        data: Any = json.loads(match.group(1))
        return TrainingContract(
            target=str(data.get("target", "")),
            template=str(data.get("template", "")),
            instruction=str(data.get("instruction", "")),
            token=str(data.get("token", "")),
        )
    except (ValueError, AttributeError, TypeError):
        return None


def _target_of(output: str) -> str:
    """The PromptBuilder target one ``output`` cell looks like."""
    text = output.strip()
    if text == "NONE" or all(_ENTITY_LINE_RE.fullmatch(line) for line in text.split("\n")):
        return "entity_lines"
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            items = None
        if isinstance(items, list) and all(
            isinstance(i, dict) and {"label", "value"} <= i.keys() for i in items
        ):
            return "entities"
    return "masked_text"


def infer_target(outputs: Iterable[str]) -> str | None:
    """The target every ``output`` follows (``masked_text``, ``entities`` or
    ``entity_lines``, as ``PromptBuilder`` writes them), or None when the rows disagree.

    A model learns whatever format its outputs have; recording it lets masking read the
    answers the same way instead of taking entity lines for a masked text.
    """
    found = {_target_of(output) for output in outputs}
    return found.pop() if len(found) == 1 else None


def infer_contract(examples: Sequence[Any]) -> TrainingContract | None:
    """The contract of prompts made without a known ``PromptBuilder``: the target their
    outputs follow, and the default template when every prompt has it (else none: the
    template is unknown). None when the outputs mix formats."""
    from .dataset import PromptBuilder

    target = infer_target(ex.output for ex in examples)
    if target is None:
        return None
    default = PromptBuilder()
    if all(
        ex.text_input.startswith(default.prefix) and ex.text_input.endswith(default.suffix)
        for ex in examples
    ):
        return TrainingContract(target, default.template, default.instruction)
    return TrainingContract(target)


def check_prompter(contract: TrainingContract, prompter: object, model: str) -> None:
    """ConfigError when ``prompter`` would prompt or read differently than ``model`` learnt."""
    target = str(getattr(prompter, "target", "masked_text"))
    if contract.target and target != contract.target:
        raise ConfigError(
            f"model {model} was tuned to answer {contract.target!r} but the prompt builder's "
            f"target is {target!r}: use PromptBuilder(target={contract.target!r}) "
            f"(CLI: --target {contract.target}) or leave it out to follow the model"
        )
    for field in ("template", "instruction"):
        wanted = getattr(contract, field)
        have = getattr(prompter, field, None)
        if wanted and isinstance(have, str) and have != wanted:
            raise ConfigError(
                f"model {model} was tuned with another prompt {field} than this prompt "
                "builder's: masking with a different prompt gives unreliable answers; "
                "build the PromptBuilder from the model's contract"
            )


def credentials_rejected(exc: BaseException) -> bool:
    """True when ``exc`` says no request can pass (a wrong API key: 400 API_KEY_INVALID,
    401), as opposed to a 403 or 404 for a name that is not a model of this backend.

    Looking a model up is the first request of a run, so callers that treat a failed
    lookup as "not a tuned model" re-raise these instead of sending rows that must fail.
    """
    return isinstance(exc, PermissionDeniedError) and exc.code != 403


def contract_of(backend: Any, model: str, retry: Any = None) -> TrainingContract | None:
    """The contract stored with ``model``, or None (a base model, none stored, or the
    model cannot be described: then masking cannot check and goes on as configured)."""
    from ._exceptions import BackendError
    from ._retry import Retrier

    try:
        info = Retrier(retry).call(backend.get_model, model)
    except (BackendError, ConfigError) as exc:
        if credentials_rejected(exc):
            raise
        return None
    contract = getattr(info, "contract", None)
    return contract if isinstance(contract, TrainingContract) else None


def prompt_builder_for(contract: TrainingContract) -> Any:
    """A ``PromptBuilder`` that prompts and reads as the contract says."""
    from .dataset import PromptBuilder

    kwargs: dict[str, str] = {}
    if contract.template:
        kwargs["template"] = contract.template
    if contract.instruction:
        kwargs["instruction"] = contract.instruction
    return PromptBuilder(target=contract.target or "masked_text", **kwargs)


def write_model_card(
    path: str | Path, model: str, base_model: str, contract: TrainingContract
) -> Path:
    """Write the local model card (JSON): the model, its base and its contract."""
    card = Path(path).expanduser()
    card.parent.mkdir(parents=True, exist_ok=True)
    data = {"model": model, "base_model": base_model, "contract": asdict(contract)}
    card.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return card


def read_model_card(path: str | Path) -> tuple[str, TrainingContract]:
    """``(model name, contract)`` from a model card; ConfigError when it is not one."""
    card = Path(path).expanduser()
    try:
        data = json.loads(card.read_text(encoding="utf-8"))
        raw = data["contract"]
        return str(data["model"]), TrainingContract(
            target=str(raw["target"]),
            template=str(raw.get("template", "")),
            instruction=str(raw.get("instruction", "")),
            token=str(raw.get("token", "")),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{card.name} is not a pii-gemini model card ({type(exc).__name__})"
        ) from None
