"""Which Gemini models each Google service serves and tunes, dated, with the page it follows.

One table for the library's defaults (``default_source_model``), its thinking settings and
cost estimates, and for the emulator's model of each era (``pii_gemini.testing``). Every
fact names the page it was read from and when (``Source``); Google changes these lists
often, so check the pages before relying on a row. ``CHECKED`` is when the table was last
compared with them.

Eras: ``"2024"`` is the Google of the seed notebook (Gemini API tuning of
``gemini-1.5-flash-001-tuning``, Vertex tuning of 1.5/2.0); ``"2026"`` is the current one
(no Gemini API tuning since May 2025, Vertex tunes 2.5/3.x thinking models).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from .._exceptions import ConfigError

__all__ = [
    "CHECKED",
    "CURRENT_ERA",
    "ERAS",
    "GEMINI_TUNING_WITHDRAWN",
    "PRICES",
    "SOURCES",
    "VERTEX_DEFAULT_SOURCE_MODEL",
    "VERTEX_TUNING_REGIONS",
    "Era",
    "ModelFacts",
    "Price",
    "Source",
    "bare_model",
    "era_catalogue",
    "model_facts",
    "resolve_era",
]

CHECKED = "2026-12-02"  # when the rows below were last compared with their pages

Era = Literal["2024", "2026"]
ERAS: tuple[Era, ...] = ("2024", "2026")
CURRENT_ERA: Era = "2026"


@dataclass(frozen=True)
class Source:
    """A Google page (or a public report of Google's behaviour) and the date it says."""

    url: str
    dated: str  # the page's own "last updated" date, or the report's date
    what: str


SOURCES: dict[str, Source] = {
    "vertex-tuning-models": Source(
        "https://docs.cloud.google.com/gemini-enterprise-agent-platform/reference/models/tuning",
        "2026-09-25",
        "supervised tuning supports Gemini 3.5 Flash-Lite, 3.5 Flash, 3.1 Flash-Lite, 2.5 Pro, "
        "2.5 Flash-Lite, 2.5 Flash; 3.x tunes only in us-central1 and europe-west4",
    ),
    "vertex-tuning-limits": Source(
        "https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning",
        "2026-09-25",
        "validation set at most 5,000 examples (or 30% of training); adapter sizes; thinking "
        "budget off or lowest for tuned models",
    ),
    "vertex-tuning-2024": Source(
        "https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-supervised-tuning",
        "2024-10",
        "gemini-1.5-pro-002, gemini-1.5-flash-002, gemini-1.0-pro-002 tune; validation set "
        "at most 256 examples",
    ),
    "gemini-api-tuning-withdrawn": Source(
        "https://ai.google.dev/gemini-api/docs/model-tuning",
        "2026-03-14",
        "since Gemini 1.5 Flash-001 was deprecated (May 2025) no model can be tuned in the "
        "Gemini API or AI Studio; tune on Vertex AI",
    ),
    "gemini-api-deprecations": Source(
        "https://ai.google.dev/gemini-api/docs/deprecations",
        "2026-11-10",
        "2.0 Flash/Flash-Lite shut down 2026-06-01; 2.5 Flash and 2.5 Pro shut down "
        "2026-12-01; 2.5 Flash-Lite stays; 3.x Flash models current",
    ),
    "thinking": Source(
        "https://docs.cloud.google.com/vertex-ai/generative-ai/docs/thinking",
        "2026-10",
        "thinking is on by default; 2.5 models take thinking_budget (0 = off on Flash and "
        "Flash-Lite, Pro at least 128), Gemini 3 models take thinking_level",
    ),
    "quota-429": Source(
        "https://github.com/googleapis/python-genai/issues/2044",
        "2026-01",
        "Gemini API 429 carries google.rpc.QuotaFailure violations (quotaId ...PerDay... or "
        "...PerMinute...), a Help link and a RetryInfo retryDelay",
    ),
    "vertex-429": Source(
        "https://github.com/google-gemini/gemini-cli/issues/14831",
        "2025-12-09",
        "Vertex AI 429 'Resource exhausted. Please try again later.' with no RetryInfo",
    ),
    "tuned-model-403": Source(
        "https://github.com/google-gemini/deprecated-generative-ai-js/issues/240",
        "2024",
        "a missing or foreign tuned model answers 403 'You do not have permission to access "
        "tuned model ...', not 404",
    ),
    "vertex-batch-tuned": Source(
        "https://cloud.google.com/vertex-ai/generative-ai/docs/samples/googlegenaisdk-batchpredict-with-gcs",
        "2025",
        "batch prediction takes a tuned model as projects/P/locations/L/models/M",
    ),
    "vertex-batch-list": Source(
        "https://docs.cloud.google.com/gemini-enterprise-agent-platform/reference/rest/v1/"
        "projects.locations.batchPredictionJobs/list",
        "2026-12-04",
        "batchPredictionJobs.list takes filter= on display_name (=, !=, : wildcard), "
        "model_display_name, state, create_time and labels.key=value; displayName is "
        "required on create (the page is undated: the date is when it was read)",
    ),
    "prices": Source(
        "https://redresscompliance.com/google-cloud-vertex-ai-gemini-negotiation-download",
        "2026-06",
        "list prices per 1M tokens: 2.5 Pro $1.25 in / $10 out, 2.5 Flash $0.30 / $2.50, "
        "2.5 Flash-Lite $0.10 / $0.40 (quoted from Google's pricing page; batch -50%)",
    ),
}

#: The message of every refusal to tune through the Gemini API (library and emulator).
GEMINI_TUNING_WITHDRAWN = (
    "Gemini API tuning was withdrawn by Google: since May 2025 no base model can be tuned "
    "through the Gemini API (AI Studio). Tune on Vertex AI instead: backend 'vertex' "
    "(pip install 'pii-gemini[vertex]'), see docs/backends.md."
)

#: Regions where Vertex AI tunes Gemini 3.x models (vertex-tuning-models).
VERTEX_TUNING_REGIONS: dict[str, tuple[str, ...]] = {
    "gemini-3": ("us-central1", "europe-west4"),
}

#: The base model the vertex backend tunes when none is given: current, tunable, not
#: announced for shutdown, the cheapest tunable Flash (gemini-api-deprecations, prices).
VERTEX_DEFAULT_SOURCE_MODEL = "gemini-2.5-flash-lite"


@dataclass(frozen=True)
class ModelFacts:
    """What one base model does: thinking, and its limits, as the pages above say."""

    name: str  # bare id, e.g. "gemini-2.5-flash"
    thinking: Literal["none", "budget", "level"] = "none"
    min_budget: int = 0  # smallest thinking budget (0: thinking can be switched off)
    min_level: str = "low"  # smallest thinking level (Gemini 3)
    default_thoughts: int = 0  # thought tokens a default request spends (emulator)
    adapter_sizes: tuple[int, ...] = (1, 2, 4, 8, 16)


_FACTS: tuple[ModelFacts, ...] = (
    ModelFacts("gemini-1.0-pro-001"),
    ModelFacts("gemini-1.0-pro-002"),
    ModelFacts("gemini-1.5-flash-001"),
    ModelFacts("gemini-1.5-flash-001-tuning"),
    ModelFacts("gemini-1.5-flash-002", adapter_sizes=(1, 4, 8, 16)),
    ModelFacts("gemini-1.5-pro-002", adapter_sizes=(1, 4)),
    ModelFacts("gemini-2.0-flash-001"),
    ModelFacts("gemini-2.0-flash-lite-001"),
    ModelFacts("gemini-2.5-flash", "budget", 0, default_thoughts=96),
    ModelFacts("gemini-2.5-flash-lite", "budget", 0, default_thoughts=0),
    ModelFacts("gemini-2.5-pro", "budget", 128, default_thoughts=160, adapter_sizes=(1, 2, 4, 8)),
    ModelFacts("gemini-3.1-flash-lite", "level", min_level="minimal", default_thoughts=64),
    ModelFacts("gemini-3.5-flash", "level", min_level="minimal", default_thoughts=128),
    ModelFacts("gemini-3.5-flash-lite", "level", min_level="minimal", default_thoughts=64),
    ModelFacts("gemini-3.8-flash", "level", min_level="minimal", default_thoughts=128),
)
_BY_NAME = {f.name: f for f in _FACTS}


def bare_model(name: str) -> str:
    """``models/x``, ``publishers/google/models/x`` or a Vertex path -> ``x``."""
    return name.rsplit("/", 1)[-1].split("@", 1)[0]


def model_facts(name: str) -> ModelFacts | None:
    """The facts of a base model by any of its names, or None when the table lacks it."""
    return _BY_NAME.get(bare_model(name))


@dataclass(frozen=True)
class Catalogue:
    """One era's models per service (bare ids)."""

    gemini_serves: tuple[str, ...]  # models/x that generate on the Gemini API
    gemini_tunes: tuple[str, ...]  # models/x that tunedModels.create accepts
    gemini_retired: tuple[str, ...]  # known names that answer 404 now
    vertex_tunes: tuple[str, ...]
    vertex_serves: tuple[str, ...]


_CATALOGUES: dict[Era, Catalogue] = {
    # The seed notebook's Google (vertex-tuning-2024, gemini-api-tuning-withdrawn history).
    "2024": Catalogue(
        gemini_serves=(
            "gemini-1.5-flash-001-tuning",
            "gemini-1.0-pro-001",
            "gemini-1.5-flash-001",
            "gemini-1.5-flash-002",
            "gemini-1.5-pro-002",
            "gemini-2.0-flash-001",
        ),
        gemini_tunes=("gemini-1.5-flash-001-tuning", "gemini-1.0-pro-001"),
        gemini_retired=(),
        vertex_tunes=(
            "gemini-1.5-pro-002",
            "gemini-1.5-flash-002",
            "gemini-1.0-pro-002",
            "gemini-2.0-flash-001",
            "gemini-2.0-flash-lite-001",
            "gemini-2.5-flash",
            "gemini-2.5-flash-lite",
            "gemini-2.5-pro",
        ),
        vertex_serves=("gemini-1.5-pro-002", "gemini-1.5-flash-002", "gemini-2.0-flash-001"),
    ),
    # Today's Google (vertex-tuning-models, gemini-api-deprecations, CHECKED).
    "2026": Catalogue(
        gemini_serves=(
            "gemini-2.5-flash-lite",
            "gemini-3.1-flash-lite",
            "gemini-3.5-flash",
            "gemini-3.5-flash-lite",
            "gemini-3.8-flash",
        ),
        gemini_tunes=(),
        gemini_retired=(
            "gemini-1.0-pro-001",
            "gemini-1.5-flash-001",
            "gemini-1.5-flash-001-tuning",
            "gemini-1.5-flash-002",
            "gemini-1.5-pro-002",
            "gemini-2.0-flash-001",
            "gemini-2.0-flash-lite-001",
            "gemini-2.5-flash",
            "gemini-2.5-pro",
        ),
        vertex_tunes=(
            "gemini-3.5-flash-lite",
            "gemini-3.5-flash",
            "gemini-3.1-flash-lite",
            "gemini-2.5-pro",
            "gemini-2.5-flash-lite",
            "gemini-2.5-flash",
        ),
        vertex_serves=(
            "gemini-2.5-flash-lite",
            "gemini-2.5-flash",
            "gemini-2.5-pro",
            "gemini-3.1-flash-lite",
            "gemini-3.5-flash",
            "gemini-3.5-flash-lite",
            "gemini-3.8-flash",
        ),
    ),
}


def era_catalogue(era: str) -> Catalogue:
    """The catalogue of ``era`` ("2024" or "2026"); ValueError for another."""
    if era not in _CATALOGUES:
        raise ValueError(f"unknown era {era!r}: choose one of {', '.join(ERAS)}")
    return _CATALOGUES[era]  # type: ignore[index]


def resolve_era(era: str | None = None) -> Era:
    """The era a backend checks base models against: ``era``, else ``PII_GEMINI_ERA`` (the
    emulator's ``fake_backend`` sets it), else today's. ConfigError for an unknown one."""
    wanted = era or os.environ.get("PII_GEMINI_ERA") or CURRENT_ERA
    if wanted not in _CATALOGUES:
        raise ConfigError(f"unknown era {wanted!r}: choose one of {', '.join(ERAS)}")
    return wanted  # type: ignore[return-value]


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens: input and output of generation, training tokens of tuning."""

    input: float
    output: float
    training: float | None = None  # None: not found in the stored copies of Google's pages


#: Dated list prices ("prices" source, 2026-06; online, not batch). Tuned models bill as
#: their base model. Training prices were not in the stored copies of the pricing page:
#: the estimate says so instead of inventing one.
PRICES: dict[str, Price] = {
    "gemini-2.5-pro": Price(1.25, 10.00),
    "gemini-2.5-flash": Price(0.30, 2.50),
    "gemini-2.5-flash-lite": Price(0.10, 0.40),
}
