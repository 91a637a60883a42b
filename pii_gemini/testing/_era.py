"""The emulator as a dated model: what each era's Google accepts, refuses and bills.

``EraRules`` holds one era's catalogue (``backends/_catalogue.py``) and answers the
questions the routes ask: may this model be tuned here, does it still serve, how much
does it think, is this request body one Google would parse. Each rule cites the page it
follows (``SOURCES`` keys of the catalogue); rules the pages do not settle are marked
"modelled".
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ..backends._catalogue import (
    GEMINI_TUNING_WITHDRAWN,
    VERTEX_TUNING_REGIONS,
    bare_model,
    era_catalogue,
    model_facts,
)
from ._server import HttpError

__all__ = ["EraRules", "QuotaTracker", "Quotas", "Thinking"]

_HELP_URL = "https://ai.google.dev/gemini-api/docs/rate-limits"
_QUOTA_METRIC = "generativelanguage.googleapis.com/generate_content_requests"
_VERTEX_429 = (
    "Resource exhausted. Please try again later. Please refer to "
    "https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details."
)  # vertex-429 (2025-12-09): no RetryInfo, no QuotaFailure


class Host(Protocol):
    """What route handlers need from the emulator: the service, the era, the quotas."""

    @property
    def service(self) -> Any: ...

    @property
    def rules(self) -> EraRules: ...

    @property
    def quotas(self) -> QuotaTracker | None: ...


@dataclass(frozen=True)
class Thinking:
    """What a generate request thinks: thought tokens spent, and whether to show them."""

    tokens: int = 0
    include: bool = False


class EraRules:
    """One era's rules for the routes of the emulator."""

    def __init__(self, era: str) -> None:
        self.era = era
        self.catalogue = era_catalogue(era)
        self.current = era != "2024"

    # -- Gemini API --------------------------------------------------------------------
    def gemini_create(self, base: str | None) -> None:
        """Refuse a tunedModels.create as the era's Gemini API does.

        2026: gemini-api-tuning-withdrawn (2026-03-14). The exact error body of a refused
        create is not documented: modelled as 404 for a retired model and 400 otherwise.
        """
        if not self.current:
            return
        name = base or "tunedModels"
        if base and bare_model(base) in self.catalogue.gemini_retired:
            raise HttpError(404, _not_found(base, "createTunedModel"), "NOT_FOUND")
        raise HttpError(
            400,
            f"{name} does not support createTunedModel. {GEMINI_TUNING_WITHDRAWN}",
            "INVALID_ARGUMENT",
        )

    def gemini_generate(self, model: str) -> None:
        """404 for a base model the era's Gemini API no longer serves (python-genai#969)."""
        retired = bare_model(model) in self.catalogue.gemini_retired
        if self.current and model.startswith("models/") and retired:
            raise HttpError(404, _not_found(model, "generateContent"), "NOT_FOUND")

    # -- Vertex AI ---------------------------------------------------------------------
    def vertex_create(self, base: str, location: str) -> None:
        """Refuse a base model Vertex does not tune (vertex-tuning-models, 2026-09-25), and
        Gemini 3 models outside their tuning regions."""
        bare = bare_model(base)
        if bare not in self.catalogue.vertex_tunes:
            raise HttpError(
                400,
                f"Base model {base} is not supported for supervised tuning.",
                "INVALID_ARGUMENT",
            )
        for prefix, regions in VERTEX_TUNING_REGIONS.items():
            if self.current and bare.startswith(prefix) and location not in regions:
                raise HttpError(
                    400,
                    f"Tuning {bare} is not supported in {location}; use one of "
                    f"{', '.join(regions)}.",
                    "INVALID_ARGUMENT",
                )

    # -- thinking (thinking, 2026-10) ----------------------------------------------------
    def thinking(self, base: str, config: dict[str, Any]) -> Thinking:
        """Thought tokens a request spends on ``base``; 400 for a config the model refuses.

        2.5 models take ``thinkingBudget`` (0 = off where allowed, 2.5 Pro at least 128),
        Gemini 3 ``thinkingLevel``; both at once is a 400. In 2024 nothing thinks.
        """
        raw = config.get("thinkingConfig") or config.get("thinking_config")
        facts = model_facts(base)
        if not self.current:
            return Thinking()  # 2024: nothing thinks; the lenient parser ignores the field
        if facts is None or facts.thinking == "none":
            if raw:
                raise HttpError(400, f"Thinking is not supported by {bare_model(base)}.")
            return Thinking()
        raw = raw or {}
        budget = raw.get("thinkingBudget", raw.get("thinking_budget"))
        level = raw.get("thinkingLevel", raw.get("thinking_level"))
        include = bool(raw.get("includeThoughts", raw.get("include_thoughts")))
        if budget is not None and level is not None:
            raise HttpError(400, "thinking_budget and thinking_level cannot both be set.")
        tokens = facts.default_thoughts
        if budget is not None:
            budget = int(budget)
            if budget == 0 and facts.min_budget > 0:
                raise HttpError(400, "Budget 0 is invalid. This model only works in thinking mode.")
            if budget >= 0:
                tokens = min(tokens, budget)
        elif level is not None:
            share = {"MINIMAL": 0.0, "LOW": 0.25, "MEDIUM": 0.5, "HIGH": 1.0}.get(
                str(level).upper()
            )
            if share is None:
                raise HttpError(400, f"Invalid thinking_level {level!r}.")
            tokens = int(tokens * share)
        return Thinking(tokens, include)

    # -- request bodies ----------------------------------------------------------------
    def check_fields(self, body: dict[str, Any], allowed: Iterable[str], where: str) -> None:
        """400 "Unknown name" for a field Google would not parse (current era only)."""
        if not self.current:
            return
        known = set(allowed)
        for key in body:
            if key not in known:
                raise HttpError(400, _unknown_name(key, where))


def _not_found(model: str, method: str) -> str:
    return (
        f"{model} is not found for API version v1beta, or is not supported for {method}. "
        "Call ListModels to see the list of available models and their supported methods."
    )


def _unknown_name(field: str, where: str) -> str:
    return (
        f"Invalid JSON payload received. Unknown name \"{field}\" at '{where}': Cannot find field."
    )


# -- quotas -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quotas:
    """Per-model limits the emulator enforces on generate: requests per minute, input
    tokens per minute, requests per day. ``None`` switches a limit off.

    The Gemini API answers 429 with QuotaFailure details naming the quota (``...PerDay...``
    or ``...PerMinute...``), a Help link and a RetryInfo delay (quota-429); Vertex answers
    a bare 429 (vertex-429). ``retry_after_header`` adds HTTP ``Retry-After`` (proxies do).
    """

    rpm: int | None = None
    tpm: int | None = None
    rpd: int | None = None
    retry_after_header: bool = False


class QuotaTracker:
    """Rolling-window counts per (service, model); raises the service's 429."""

    def __init__(self, quotas: Quotas, clock: Callable[[], float] = time.monotonic) -> None:
        self.quotas = quotas
        self.clock = clock
        self._lock = threading.Lock()
        self._minute: dict[tuple[str, str], collections.deque[tuple[float, int]]] = {}
        self._day: collections.Counter[tuple[str, str]] = collections.Counter()

    def admit(self, service: str, model: str, tokens: int) -> None:
        """Count one request of ``tokens`` input tokens, or raise 429 when over a quota."""
        q = self.quotas
        key = (service, bare_model(model))
        now = self.clock()
        with self._lock:
            window = self._minute.setdefault(key, collections.deque())
            while window and window[0][0] <= now - 60.0:
                window.popleft()
            wait = 60.0 - (now - window[0][0]) if window else 60.0
            if q.rpd is not None and self._day[key] >= q.rpd:
                raise self._error(
                    service, key[1], "GenerateRequestsPerDayPerProjectPerModel", q.rpd, None
                )
            if q.rpm is not None and len(window) >= q.rpm:
                raise self._error(
                    service, key[1], "GenerateRequestsPerMinutePerProjectPerModel", q.rpm, wait
                )
            used = sum(t for _, t in window)
            if q.tpm is not None and used + tokens > q.tpm:
                raise self._error(
                    service, key[1], "GenerateContentInputTokensPerModelPerMinute", q.tpm, wait
                )
            window.append((now, tokens))
            self._day[key] += 1

    def _error(
        self, service: str, model: str, quota_id: str, value: int, wait: float | None
    ) -> HttpError:
        header = wait if self.quotas.retry_after_header and wait is not None else None
        if service == "vertex":
            return HttpError(429, _VERTEX_429, "RESOURCE_EXHAUSTED", retry_after_header=header)
        details: list[dict[str, Any]] = [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": _QUOTA_METRIC,
                        "quotaId": quota_id,
                        "quotaDimensions": {"location": "global", "model": model},
                        "quotaValue": str(value),
                    }
                ],
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [{"description": "Learn more about Gemini API quotas", "url": _HELP_URL}],
            },
        ]
        return HttpError(
            429,
            "You exceeded your current quota, please check your plan and billing details. "
            f"For more information on this error, head to: {_HELP_URL}.",
            "RESOURCE_EXHAUSTED",
            retry_delay=round(wait) if wait is not None else None,
            details=details,
            retry_after_header=header,
        )
