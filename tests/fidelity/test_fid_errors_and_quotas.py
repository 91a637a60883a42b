"""Issue 14.5 (quota realism) and issue 13.3/13.10 (no echoed PII or keys in errors; a
malformed 200 is transient), driven through the unmodified SDKs against the emulator."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import pytest

from pii_gemini import Masker
from pii_gemini._exceptions import (
    QuotaExhaustedError,
    RateLimitError,
    TransientBackendError,
)
from pii_gemini._retry import RetryPolicy
from pii_gemini._types import MaskStatus
from pii_gemini.testing import Emulator, Quotas

BASE = "models/gemini-2.5-flash-lite"
SECRET = "AIzaSyEchoedKey-0123456789abcdefghijklm"
PII = "alice.hidden@example.com"
NO_WAIT = RetryPolicy(attempts=3, initial_delay=0.0, jitter=0.0)


def masker(backend: object, **kwargs: object) -> Masker:
    return Masker(backend, BASE, retry=NO_WAIT, sleep=lambda s: None, **kwargs)  # type: ignore[arg-type]


# -- 14.5: quotas -----------------------------------------------------------------------------


def test_per_minute_quota_backs_off_with_the_servers_delay() -> None:
    with Emulator(quotas=Quotas(rpm=1)) as emu, emu.gemini_backend() as backend:
        backend.generate(BASE, "one")
        with pytest.raises(RateLimitError) as info:
            backend.generate(BASE, "two")
    error = info.value
    assert not isinstance(error, QuotaExhaustedError)
    assert error.retry_after is not None and 0 < error.retry_after <= 60
    assert "PerMinute" in str(error)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_per_day_quota_stops_the_run_at_once(concurrency: int) -> None:
    with Emulator(quotas=Quotas(rpd=2)) as emu, emu.gemini_backend() as backend:
        with pytest.raises(QuotaExhaustedError) as info:
            masker(backend, concurrency=concurrency, cache=False).mask_many(
                [f"Row {i} of the file." for i in range(12)]
            )
        generate_calls = emu.requests_to(":generateContent")
    assert info.value.quota == "GenerateRequestsPerDayPerProjectPerModel"
    statuses = sorted(r.status for r in generate_calls)
    # two answered, then refusals, none retried: the first refusal stops the run, and only
    # requests already in flight when it came back (the other workers': fewer than
    # `concurrency`) may still land, refused too; no request starts after it
    assert statuses[:2] == [200, 200] and set(statuses[2:]) == {429}, statuses
    assert len(statuses) - 2 <= concurrency, statuses


def test_vertex_429_has_no_retry_info_but_retry_after_is_read() -> None:
    quotas = Quotas(rpm=1, retry_after_header=True)
    with Emulator(quotas=quotas) as emu, emu.vertex_backend() as backend:
        backend.generate("gemini-2.5-flash-lite", "one")
        with pytest.raises(RateLimitError) as info:
            backend.generate("gemini-2.5-flash-lite", "two")
        body = emu.requests_to(":generateContent")[-1]
    assert body.status == 429
    assert info.value.retry_after is not None and info.value.retry_after > 0  # Retry-After


# -- 13.10: a malformed 200 is transient ------------------------------------------------------


@pytest.mark.parametrize("mode", ["truncate", "shape"])
def test_malformed_answer_is_retried_then_the_row_succeeds(mode: str) -> None:
    with Emulator() as emu, emu.vertex_backend() as backend:
        emu.fault_after_commit("vertex.generate_base", mode)
        result = Masker(backend, "gemini-2.5-flash-lite", retry=NO_WAIT, sleep=lambda s: None).mask(
            "Call Ann on Monday."
        )
        assert result.status is MaskStatus.OK
        assert len(emu.requests_to(":generateContent")) == 2


def test_malformed_answer_on_the_gemini_api_is_transient() -> None:
    with Emulator() as emu, emu.gemini_backend() as backend:
        emu.fault_after_commit("gemini.generate", "truncate", times=10)
        with pytest.raises(TransientBackendError, match="could not be read"):
            backend.generate(BASE, "hello")
        result = masker(backend).mask("Call Ann on Monday.")
        assert result.status is MaskStatus.FAILED and result.error == "TransientBackendError(502)"


# -- 13.3: no server-echoed PII or key anywhere -----------------------------------------------


@pytest.fixture()
def echoing() -> Iterator[Emulator]:
    with Emulator(api_key=SECRET) as emu:
        yield emu


def _leaks(text: str) -> bool:
    return PII in text or SECRET in text or SECRET[:20] in text


def test_echoed_request_never_reaches_messages_logs_or_chains(
    echoing: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    echoing.echo_errors("gemini.generate", 500, times=10)
    with caplog.at_level(logging.DEBUG), echoing.gemini_backend() as backend:
        result = masker(backend).mask(f"Write to {PII} today.")
        assert result.status is MaskStatus.FAILED
        with pytest.raises(TransientBackendError) as info:
            backend.generate(BASE, f"Write to {PII} today.")
    shown = "".join(traceback.format_exception(info.value))
    assert not _leaks(shown) and not _leaks(str(result.error))
    assert not _leaks(caplog.text)
    assert "withheld" in shown  # the SDK error is chained by type only


def test_echoed_403_in_the_cli_one_line_error_and_traceback(
    tmp_path: object, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    from pii_gemini.backends import Progression
    from pii_gemini.cli import main

    folder = Path(str(tmp_path))
    source = folder / "in.jsonl"
    source.write_text(f'{{"source_text": "Mail {PII} now"}}\n', encoding="utf-8")
    with Emulator(era="2024", api_key=SECRET, progression=Progression.immediate()) as emu:
        emu.service.create_tuned_model(
            examples=[("a b", "a b")], base_model="models/gemini-1.5-flash-001-tuning",
            tuned_model_id="m",
        )  # fmt: skip
        emu.echo_errors("gemini.generate", 403, times=10)
        monkeypatch.setenv("PII_GEMINI_ENDPOINT", emu.url)
        monkeypatch.setenv("GOOGLE_API_KEY", SECRET)
        monkeypatch.delenv("GEMINI_API_KEY", raising=False)
        code = main(["--backend", "gemini", "-v", "-q", "mask", str(source),
                     str(folder / "out.jsonl"), "--model", "tunedModels/m"])  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0 and "PermissionDeniedError" in err and "Traceback" in err
    assert not _leaks(err)
