"""Request validation of the fake service, with the real API's limits and messages.

Each check raises ``ServiceError`` 400 INVALID_ARGUMENT, as the Gemini API (v1beta) does,
so user code meets the same failures offline. Messages name the field or example index,
never its text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from ._service_errors import invalid

__all__ = [
    "check_examples",
    "check_model_id",
    "check_sampling",
    "hyperparameters",
    "page_start",
]

# Server-side defaults and limits (proto docs of google.ai.generativelanguage.v1beta).
_DEFAULT_EPOCHS = 5
_DEFAULT_BATCH = 4
_DEFAULT_LR = 0.001
_MAX_EPOCHS = 100
_MAX_BATCH = 64
_MAX_INPUT_CHARS = 40_000
_MAX_OUTPUT_CHARS = 5_000
_MAX_PAGE_SIZE = 1000
_ID_RE = re.compile(r"[a-z]([a-z0-9-]{0,38}[a-z0-9])?")


def hyperparameters(
    epoch_count: int | None, batch_size: int | None, learning_rate: float | None
) -> tuple[int, int, float]:
    """Epoch count, batch size and learning rate, the server's defaults for those not given."""
    epochs = _DEFAULT_EPOCHS if epoch_count is None else epoch_count
    batch = _DEFAULT_BATCH if batch_size is None else batch_size
    rate = _DEFAULT_LR if learning_rate is None else learning_rate
    _check_hyperparameters(epochs, batch, rate)
    return epochs, batch, rate


def _check_hyperparameters(epochs: object, batch: object, rate: object) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= _MAX_EPOCHS:
        raise invalid(f"epoch_count must be an integer in [1, {_MAX_EPOCHS}].")
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= _MAX_BATCH:
        raise invalid(f"batch_size must be an integer in [1, {_MAX_BATCH}].")
    if (
        isinstance(rate, bool)
        or not isinstance(rate, (int, float))
        or not math.isfinite(rate)
        or not 0 < rate <= 1
    ):
        raise invalid("learning_rate must be in (0, 1].")


def check_sampling(temperature: float | None, top_p: float | None, top_k: int | None) -> None:
    """Sampling settings (those given) within the API's ranges."""
    if temperature is not None and not 0.0 <= temperature <= 2.0:
        raise invalid("temperature must be in [0, 2].")
    if top_p is not None and not 0.0 <= top_p <= 1.0:
        raise invalid("top_p must be in [0, 1].")
    if top_k is not None and top_k < 1:
        raise invalid("top_k must be >= 1.")


def check_examples(examples: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The training pairs as a list, each a non-empty ``(text_input, output)`` within limits."""
    pairs = list(examples)
    if not pairs:
        raise invalid("The training dataset must contain at least one example.")
    for index, pair in enumerate(pairs):
        if len(pair) != 2 or not all(isinstance(part, str) for part in pair):
            raise invalid(f"Example {index} must be a (text_input, output) pair of strings.")
        text_input, output = pair
        if not text_input:
            raise invalid(f"Example {index} has an empty text_input.")
        if not output:
            raise invalid(f"Example {index} has an empty output.")
        if len(text_input) > _MAX_INPUT_CHARS:
            raise invalid(
                f"Example {index}: text_input is longer than {_MAX_INPUT_CHARS} characters."
            )
        if len(output) > _MAX_OUTPUT_CHARS:
            raise invalid(f"Example {index}: output is longer than {_MAX_OUTPUT_CHARS} characters.")
    return [(a, b) for a, b in pairs]


def check_model_id(tuned_model_id: object) -> str:
    """A caller-chosen tuned model id, if it has the API's form."""
    if not isinstance(tuned_model_id, str) or not _ID_RE.fullmatch(tuned_model_id):
        raise invalid(
            "tuned_model_id must match [a-z]([a-z0-9-]{0,38}[a-z0-9])? "
            "(lowercase letters, digits and dashes, at most 40 characters)."
        )
    return tuned_model_id


def page_start(page_size: int, page_token: str | None) -> int:
    """Index of the first item of a list page (page tokens are plain offsets here)."""
    if not 1 <= page_size <= _MAX_PAGE_SIZE:
        raise invalid(f"page_size must be in [1, {_MAX_PAGE_SIZE}].")
    start = 0
    if page_token:
        if not page_token.isdigit():
            raise invalid("Invalid page token.")
        start = int(page_token)
    return start
