"""Live checks against Google: skipped unless PII_GEMINI_LIVE=1 and credentials are set.

Run them by hand, never in CI::

    PII_GEMINI_LIVE=1 GOOGLE_API_KEY=... pytest -m live tests/live
    PII_GEMINI_LIVE=1 GOOGLE_CLOUD_PROJECT=... PII_GEMINI_GCS_URI=gs://... pytest -m live tests/live

Starting a real Vertex tuning job costs money and takes long; it also needs
``PII_GEMINI_LIVE_TUNE=1``.
"""

from __future__ import annotations

import contextlib
import os

import pytest

from pii_gemini._exceptions import BackendError, InvalidRequestError, NotFoundError
from pii_gemini._types import GenerationConfig, JobState, TuningExample, TuningSpec

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        os.environ.get("PII_GEMINI_LIVE") != "1", reason="live tests need PII_GEMINI_LIVE=1"
    ),
]

GEMINI_KEY = os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY")
needs_key = pytest.mark.skipif(not GEMINI_KEY, reason="needs GOOGLE_API_KEY or GEMINI_API_KEY")
needs_project = pytest.mark.skipif(
    not os.environ.get("GOOGLE_CLOUD_PROJECT"), reason="needs GOOGLE_CLOUD_PROJECT and ADC"
)
GEMINI_MODEL = os.environ.get("PII_GEMINI_LIVE_MODEL", "gemini-2.5-flash")
EXAMPLES = tuple(
    TuningExample(f"My name is {name}.", "My name is [NAME].")
    for name in ("Ann Lee", "Bo Chen", "Cy Diaz", "Di Egan", "Ed Fox")
)


@needs_key
def test_gemini_generate_with_a_base_model() -> None:
    from pii_gemini.backends.gemini import GeminiBackend

    with GeminiBackend(timeout=60) as backend:
        answer = backend.generate(
            f"models/{GEMINI_MODEL}", "Reply with the word OK.", GenerationConfig(temperature=0)
        )
    assert answer.text or answer.blocked


@needs_key
def test_gemini_tuning_is_withdrawn() -> None:
    from pii_gemini.backends.gemini import GEMINI_TUNING_WITHDRAWN, GeminiBackend

    with GeminiBackend(timeout=60) as backend:
        assert isinstance(backend.list_models(), list)
        with pytest.raises((NotFoundError, InvalidRequestError)) as info:
            backend.create_tuning_job(TuningSpec("models/gemini-1.5-flash-001-tuning", EXAMPLES))
    assert GEMINI_TUNING_WITHDRAWN in str(info.value)


@needs_project
def test_vertex_generate_with_a_base_model() -> None:
    from pii_gemini.backends.vertex import VertexBackend

    with VertexBackend(timeout=60) as backend:
        answer = backend.generate(GEMINI_MODEL, "Reply with the word OK.")
        assert answer.text or answer.blocked
        assert isinstance(backend.list_models(), list)


@needs_project
@pytest.mark.skipif(
    os.environ.get("PII_GEMINI_LIVE_TUNE") != "1" or not os.environ.get("PII_GEMINI_GCS_URI"),
    reason="starting a real tuning job needs PII_GEMINI_LIVE_TUNE=1 and PII_GEMINI_GCS_URI",
)
def test_vertex_tuning_job_starts_and_cancels() -> None:
    from pii_gemini.backends.vertex import VertexBackend

    with VertexBackend(timeout=120) as backend:
        info = backend.create_tuning_job(TuningSpec(GEMINI_MODEL, EXAMPLES * 4))
        assert info.state in (JobState.PENDING, JobState.RUNNING)
        with contextlib.suppress(BackendError):  # already past the point of cancelling
            backend.cancel_tuning_job(info.name)
        assert backend.get_tuning_job(info.name).name == info.name
