"""What one generateContent call of the fake service answers.

The learner's text, unless a test block stops the prompt or the answer; token counts at
about four characters a token; answers longer than ``max_output_tokens`` are cut with
finish reason ``MAX_TOKENS``, as the API does.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._learner import Learner, approx_tokens
from ._service_faults import Faults

__all__ = ["GenerateRecord", "answer"]


@dataclass
class GenerateRecord:
    """One generateContent answer."""

    text: str | None
    finish_reason: str | None
    block_reason: str | None
    prompt_tokens: int
    output_tokens: int


def answer(
    learner: Learner, prompt: str, faults: Faults, max_output_tokens: int | None
) -> GenerateRecord:
    """``learner``'s answer to ``prompt``, blocked or cut as the service's settings say."""
    prompt_tokens = approx_tokens(prompt)
    reason = faults.blocked(prompt, "prompt")
    if reason is not None:
        return GenerateRecord(None, None, reason, prompt_tokens, 0)
    text = learner.generate(prompt)
    reason = faults.blocked(text, "candidate")
    if reason is not None:
        return GenerateRecord(None, reason, None, prompt_tokens, 0)
    finish = "STOP"
    if max_output_tokens is not None and approx_tokens(text) > max_output_tokens:
        text = text[: max_output_tokens * 4]
        finish = "MAX_TOKENS"
    return GenerateRecord(text, finish, None, prompt_tokens, approx_tokens(text))
