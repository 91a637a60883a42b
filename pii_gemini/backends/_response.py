"""Reading a generateContent response, the same for both SDKs.

google-generativeai and google-genai return objects of the same shape (``usage_metadata``,
``prompt_feedback.block_reason``, ``candidates[0].content.parts``, ``finish_reason``); only
their enums differ, so each backend passes its own ``enum_name``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._types import Generation

__all__ = ["generation_from_response"]


def generation_from_response(response: Any, enum_name: Callable[[Any], str | None]) -> Generation:
    """A GenerateContentResponse -> Generation; blocked prompts/answers are not errors.

    Reads the candidates directly (``response.text`` raises in google-generativeai for a
    blocked prompt or an answer stopped with no parts); thought parts are not answer text.
    """
    usage = getattr(response, "usage_metadata", None)
    prompt_tokens = int(getattr(usage, "prompt_token_count", 0) or 0)
    output_tokens = int(getattr(usage, "candidates_token_count", 0) or 0)
    # Thoughts are billed as output but are not in candidates_token_count (google-genai;
    # google-generativeai 0.8.6 predates the field and never reports them).
    thought_tokens = int(getattr(usage, "thoughts_token_count", 0) or 0)
    feedback = getattr(response, "prompt_feedback", None)
    block_reason = enum_name(getattr(feedback, "block_reason", None))
    candidates = list(getattr(response, "candidates", None) or ())
    if block_reason or not candidates:
        return Generation(
            text=None,
            finish_reason=None,
            block_reason=block_reason,
            prompt_tokens=prompt_tokens,
            output_tokens=output_tokens,
            thought_tokens=thought_tokens,
        )
    candidate = candidates[0]
    parts = getattr(getattr(candidate, "content", None), "parts", None) or ()
    texts = [p.text for p in parts if getattr(p, "text", None) and not getattr(p, "thought", None)]
    return Generation(
        text="".join(texts) if texts else None,
        finish_reason=enum_name(getattr(candidate, "finish_reason", None)),
        block_reason=None,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        thought_tokens=thought_tokens,
    )
