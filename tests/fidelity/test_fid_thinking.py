"""Issue 14.4: thinking models. Masking asks for thinking off (or the least the model
allows), never takes a thought part as the answer, and counts thought tokens in the
summary and in the tokens/minute limiter."""

from __future__ import annotations

import warnings

import pytest

from pii_gemini import Masker
from pii_gemini._retry import RetryPolicy
from pii_gemini._types import GenerationConfig, MaskStatus
from pii_gemini.backends._response import generation_from_response
from pii_gemini.backends.vertex import thinking_config
from pii_gemini.testing import Emulator

NO_WAIT = RetryPolicy(attempts=2, initial_delay=0.0, jitter=0.0)


def test_masking_asks_for_no_thinking_by_default() -> None:
    with Emulator() as emu, emu.vertex_backend() as backend:
        result = Masker(backend, "gemini-2.5-flash", retry=NO_WAIT).mask("Call Ann at noon.")
        assert result.status is MaskStatus.OK
        body = emu.requests_to(":generateContent")[-1].body
        assert body["generationConfig"]["thinkingConfig"] == {"thinking_budget": 0}
        assert "thoughtsTokenCount" not in str(emu.requests)  # nothing thought, nothing billed


def test_least_thinking_per_model_family() -> None:
    assert thinking_config("gemini-2.5-pro", 0) == {"thinking_budget": 128}
    assert thinking_config("gemini-3.5-flash", 0) == {"thinking_level": "MINIMAL"}
    assert thinking_config("gemini-2.0-flash-001", 0) is None  # does not think
    assert thinking_config("gemini-2.5-flash", None) is None  # the model's default
    with Emulator() as emu, emu.vertex_backend() as backend:
        answer = backend.generate("gemini-2.5-pro", "hello")  # 0 -> 128 for 2.5 Pro
        assert answer.text and answer.thought_tokens <= 128


def test_thoughts_are_counted_in_the_summary_and_the_limiter() -> None:
    with Emulator() as emu, emu.vertex_backend() as backend:
        masker = Masker(
            backend,
            "gemini-3.5-flash",
            generation_config=GenerationConfig(thinking_budget=-1),  # let it think
            tokens_per_minute=1_000_000,
            retry=NO_WAIT,
        )
        masker.mask_many(["Call Ann at noon.", "Write to Bob."])
        summary = masker.last_summary
        assert summary is not None and summary.thought_tokens == 2 * 128
        assert summary.total_tokens == (
            summary.prompt_tokens + summary.output_tokens + summary.thought_tokens
        )
        assert "thoughts 256" in str(summary)


def test_thoughts_can_exhaust_max_output_tokens() -> None:
    with Emulator() as emu, emu.vertex_backend() as backend:
        config = GenerationConfig(thinking_budget=-1, max_output_tokens=64)
        result = Masker(backend, "gemini-3.5-flash", generation_config=config).mask("Hi Ann.")
        assert result.status is MaskStatus.TRUNCATED and result.masked_text is None


def test_thought_parts_are_never_the_answer() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from google import genai
        from google.genai import types

    with Emulator() as emu:
        client = genai.Client(api_key="emulator-api-key", http_options={"base_url": emu.url})
        config = types.GenerateContentConfig(
            thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=-1)
        )
        response = client.models.generate_content(
            model="gemini-2.5-flash-lite", contents="Hi Ann.", config=config
        )
        flash = client.models.generate_content(
            model="gemini-3.5-flash",
            contents="Hi Ann.",
            config=types.GenerateContentConfig(
                thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_level="HIGH")
            ),
        )
    parts = flash.candidates[0].content.parts
    assert parts[0].thought and not parts[1].thought
    generation = generation_from_response(flash, lambda v: getattr(v, "value", None))
    assert generation.text == parts[1].text and generation.thought_tokens == 128
    assert response.text  # 2.5 Flash-Lite does not think by default


def test_todays_models_refuse_what_they_cannot_do() -> None:
    from google.genai import errors as genai_errors
    from google.genai import types

    with Emulator() as emu, emu.vertex_backend() as backend:
        off = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=0))
        with pytest.raises(genai_errors.ClientError, match="only works in thinking mode"):
            backend._client.models.generate_content(
                model="gemini-2.5-pro", contents="x", config=off
            )


def test_google_generativeai_cannot_see_thought_tokens() -> None:
    """The old SDK's protos predate thinking: it drops thoughtsTokenCount (documented in
    docs/backends.md), so its thought tokens are billed but not counted."""
    with Emulator() as emu, emu.gemini_backend() as backend:
        answer = backend.generate("models/gemini-3.5-flash", "Hi Ann.")
        assert answer.text and answer.thought_tokens == 0
        assert "thinkingConfig" not in str(emu.requests[-1].body)  # it cannot send one
