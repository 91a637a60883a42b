"""generateContent of the emulator, shared by the Gemini API and Vertex routes.

One request: the prompt from the body, the era's checks (unknown fields, retired models,
thinking settings), the quota, the ``FakeService``'s answer, and the response JSON with
thought parts and ``thoughtsTokenCount`` where the model thinks. Thoughts are billed as
output and count against ``maxOutputTokens``: a small cap on a thinking model ends with
``MAX_TOKENS`` and no text (thinking, 2026-10).
"""

from __future__ import annotations

from typing import Any

from ..backends._learner import approx_tokens
from ._era import Host, Thinking
from ._server import HttpError

__all__ = ["count_tokens_json", "generate", "generate_json", "prompt_from_body"]

#: Fields of a GenerateContentRequest body (google.ai.generativelanguage / aiplatform).
_REQUEST_FIELDS = (
    "contents",
    "generationConfig",
    "safetySettings",
    "systemInstruction",
    "tools",
    "toolConfig",
    "cachedContent",
    "labels",
    "model",
)
_THOUGHT = "Thinking about which spans are personal data."


_Host = Host


def prompt_from_body(body: dict[str, Any]) -> str:
    """The prompt text of a generateContent body: every text part, in order."""
    contents = body.get("contents")
    if not isinstance(contents, list) or not contents:
        raise HttpError(400, "* GenerateContentRequest.contents: contents is not specified")
    texts: list[str] = []
    for content in contents:
        if not isinstance(content, dict):
            raise HttpError(400, "Invalid JSON payload received. Unknown content shape.")
        for part in content.get("parts") or []:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
    if not texts:
        raise HttpError(
            400, "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty."
        )
    return "\n".join(texts)


def generate(
    host: _Host, service: str, model: str, base: str, body: dict[str, Any], version: str | None
) -> dict[str, Any]:
    """Answer one generateContent body with ``model`` (whose base model is ``base``)."""
    host.rules.check_fields(body, _REQUEST_FIELDS, "generate_content_request")
    prompt = prompt_from_body(body)
    cfg = body.get("generationConfig") or body.get("generation_config") or {}
    thinking = host.rules.thinking(base, cfg)
    if host.quotas is not None:
        host.quotas.admit(service, base, approx_tokens(prompt))
    cap = cfg.get("maxOutputTokens", cfg.get("max_output_tokens"))
    if cap is not None and thinking.tokens >= int(cap):
        # The thoughts used the whole output budget: no answer text at all.
        usage = _usage(approx_tokens(prompt), 0, int(cap))
        candidate = {"index": 0, "finishReason": "MAX_TOKENS", "content": {"role": "model"}}
        return {"candidates": [candidate], "usageMetadata": usage}
    gen = host.service.generate_content(
        model,
        prompt,
        temperature=cfg.get("temperature"),
        top_p=cfg.get("topP", cfg.get("top_p")),
        top_k=cfg.get("topK", cfg.get("top_k")),
        max_output_tokens=int(cap) - thinking.tokens if cap is not None else None,
    )
    return generate_json(gen, model_version=version, thinking=thinking)


def _usage(prompt: int, output: int, thoughts: int) -> dict[str, int]:
    usage = {
        "promptTokenCount": prompt,
        "candidatesTokenCount": output,
        "totalTokenCount": prompt + output + thoughts,
    }
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    return usage


def count_tokens_json(host: _Host, body: dict[str, Any]) -> dict[str, Any]:
    """A countTokens answer: ``{"totalTokens": n}`` (about four characters a token)."""
    inner = body.get("generateContentRequest") or body
    return {"totalTokens": approx_tokens(prompt_from_body(inner))}


def generate_json(
    gen: Any, *, model_version: str | None = None, thinking: Thinking | None = None
) -> dict[str, Any]:
    """A GenerateContentResponse, including blocked prompts, SAFETY stops and thoughts."""
    thinking = thinking or Thinking()
    usage = _usage(int(gen.prompt_tokens), int(gen.output_tokens), thinking.tokens)
    out: dict[str, Any] = {}
    if gen.block_reason:
        out["promptFeedback"] = {
            "blockReason": gen.block_reason,
            "safetyRatings": [
                {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
            ],
        }
        out["usageMetadata"] = _usage(int(gen.prompt_tokens), 0, 0)
        return out
    candidate: dict[str, Any] = {"index": 0}
    parts: list[dict[str, Any]] = []
    if thinking.include and thinking.tokens:
        parts.append({"text": _THOUGHT, "thought": True})
    if gen.text is not None:
        parts.append({"text": gen.text})
    if parts:
        candidate["content"] = {"parts": parts, "role": "model"}
    candidate["finishReason"] = gen.finish_reason or "STOP"
    if candidate["finishReason"] == "SAFETY":
        candidate["safetyRatings"] = [
            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}
        ]
    out["candidates"] = [candidate]
    out["usageMetadata"] = usage
    if model_version:
        out["modelVersion"] = model_version
    return out
