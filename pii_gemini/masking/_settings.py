"""The Masker's settings, validated once, and the cache-key prefix they define.

Every argument of ``Masker(...)`` is checked here before any request, so a bad option is a
``ConfigError`` naming it, never a failure halfway through a file. The settings that change
an answer (model, generation config, target, chunking, safety net, operators, repair) make
up the prefix of every cache key, so a cached or resumed result is reused only under the
same settings.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from .._chunking import default_overlap
from .._exceptions import ConfigError
from .._retry import RetryPolicy
from .._types import GenerationConfig
from ..backends.base import Backend
from ..detectors import SafetyNet
from ..operators import Operator, anonymize, get_operator
from ..vault import Vault

if TYPE_CHECKING:
    from ..dataset import PromptBuilder

__all__ = ["MaskerSettings", "OperatorSpec", "Prompter", "check_int"]

TARGETS = ("masked_text", "entities", "entity_lines")
_MIN_INPUT_CHARS = 50  # smallest sensible max_input_chars

OperatorSpec = str | Operator


class Prompter(Protocol):
    """What the Masker needs from a prompt builder."""

    @property
    def target(self) -> str: ...

    def format(self, text: str) -> str: ...


def check_int(name: str, value: object, minimum: int) -> int:
    """``value`` if it is an int >= ``minimum``, else a ConfigError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


@dataclass(frozen=True, eq=False)
class MaskerSettings:
    """Validated Masker settings (see ``Masker`` for what each one means)."""

    model: str
    prompter: Prompter
    target: str
    generation_config: GenerationConfig
    retry: RetryPolicy
    safety_net: SafetyNet | None
    operator: OperatorSpec | Mapping[str, OperatorSpec]
    operator_params: dict[str, Any]
    repair: bool
    concurrency: int
    max_input_chars: int
    overlap: int
    cache_size: int  # 0 when caching is off
    reversible: bool  # an operator records tokens in a vault
    key_prefix: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key_prefix", self._key_prefix())

    @property
    def plain_replace(self) -> bool:
        """The default operator with no parameters: ``[LABEL]`` for every value."""
        return (
            isinstance(self.operator, str)
            and self.operator == "replace"
            and not self.operator_params
        )

    @classmethod
    def validate(
        cls,
        backend: object,
        model: object,
        *,
        prompt_builder: PromptBuilder | None,
        generation_config: object,
        retry: object,
        concurrency: object,
        max_input_chars: object,
        cache: bool,
        cache_size: object,
        safety_net: object,
        operator: OperatorSpec | Mapping[str, OperatorSpec],
        operator_params: object,
        vault: object,
        repair: object,
    ) -> MaskerSettings:
        """Check every argument; raise ``ConfigError`` naming the first bad one."""
        if not isinstance(backend, Backend):
            raise ConfigError(f"backend must be a Backend, got {type(backend).__name__}")
        if not isinstance(model, str) or not model.strip():
            raise ConfigError("model must be a non-empty model name")
        if generation_config is not None and not isinstance(generation_config, GenerationConfig):
            raise ConfigError("generation_config must be a GenerationConfig")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigError("retry must be a RetryPolicy")
        prompter: Prompter = prompt_builder or _default_prompter()
        if not callable(getattr(prompter, "format", None)):
            raise ConfigError("prompt_builder must have a format(text) method")
        target = str(getattr(prompter, "target", "masked_text"))
        if target not in TARGETS:
            raise ConfigError(f"prompt_builder.target must be one of {TARGETS}, got {target!r}")
        if isinstance(safety_net, bool):
            net: SafetyNet | None = SafetyNet() if safety_net else None
        elif isinstance(safety_net, SafetyNet):
            net = safety_net
        else:
            raise ConfigError(
                f"safety_net must be True, False or a SafetyNet, got {type(safety_net).__name__}"
            )
        if operator_params is not None and not isinstance(operator_params, Mapping):
            raise ConfigError("operator_params must be a mapping of parameter names to values")
        if vault is not None and not isinstance(vault, Vault):
            raise ConfigError(f"vault must be a Vault, got {type(vault).__name__}")
        if not isinstance(repair, bool):
            raise ConfigError(f"repair must be a bool, got {type(repair).__name__}")
        params: dict[str, Any] = dict(operator_params or {})
        # validates the operator(s) and their parameters before any request
        anonymize("", (), operator, vault=Vault(), **params)
        workers = check_int("concurrency", concurrency, 1)
        chars = check_int("max_input_chars", max_input_chars, _MIN_INPUT_CHARS)
        size = check_int("cache_size", cache_size, 0)
        return cls(
            model=model,
            prompter=prompter,
            target=target,
            generation_config=generation_config or GenerationConfig(),
            retry=retry or RetryPolicy(),
            safety_net=net,
            operator=operator,
            operator_params=params,
            repair=repair,
            concurrency=workers,
            max_input_chars=chars,
            overlap=default_overlap(chars),
            cache_size=size if cache else 0,
            reversible=any(op.reversible for op in _operators_of(operator)),
        )

    def _key_prefix(self) -> bytes:
        """What every cache key starts with: the settings that change an answer."""
        parts = [
            self.model,
            repr(dataclasses.astuple(self.generation_config)),
            self.target,
            str(self.max_input_chars),
            str(self.overlap),
            _post_model_digest(self.safety_net, self.operator, self.operator_params, self.repair),
        ]
        return ("\x00".join(parts) + "\x00").encode()


def _default_prompter() -> Prompter:
    from ..dataset import PromptBuilder  # late: dataset pulls in heavier imports

    builder: Prompter = PromptBuilder()
    return builder


def _operators_of(spec: OperatorSpec | Mapping[str, OperatorSpec]) -> list[Operator]:
    """The Operator instances an ``operator=`` argument names (already validated)."""
    specs = list(spec.values()) if isinstance(spec, Mapping) else [spec]
    return [s if isinstance(s, Operator) else get_operator(s) for s in specs]


def _describe(value: object) -> str:
    """A description of a setting that is stable across processes (for the cache key)."""
    if value is None or isinstance(value, (str, bytes, int, float, bool)):
        return repr(value)
    if isinstance(value, Mapping):
        items = sorted((str(k), _describe(v)) for k, v in value.items())
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "(" + ",".join(_describe(v) for v in value) + ")"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _describe_op(op: OperatorSpec) -> str:
    if isinstance(op, Operator):
        return f"{type(op).__module__}.{type(op).__qualname__}:{op.name}"
    return op


def _post_model_digest(
    net: SafetyNet | None,
    operator: OperatorSpec | Mapping[str, OperatorSpec],
    params: Mapping[str, Any],
    repair: bool,
) -> str:
    """sha256 of the post-model settings: safety net, operator(s), their params, repair.

    Hashed so that the cache key prefix never holds a hash key in clear.
    """
    parts = ["net:none"]
    if net is not None:
        detectors = ",".join(f"{type(d).__module__}.{d!r}" for d in net.detectors)
        parts = [f"net:{detectors}", _describe(net.labels_map)]
    if isinstance(operator, Mapping):
        parts.append("op:" + _describe({k: _describe_op(v) for k, v in operator.items()}))
    else:
        parts.append("op:" + _describe_op(operator))
    parts += ["params:" + _describe(dict(params)), f"repair:{repair}"]
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
