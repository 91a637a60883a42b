"""Item 6 of issue 13: a circuit breaker stops a run in a sustained outage (consecutive
failures, or the failure rate over a window), keeps what is done and says to resume later;
a quota that will not refill within the run stops it at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from _rel_support import MODEL, ScriptedBackend, fast_retry, patch_cli, read_jsonl, write_jsonl

from pii_gemini import CircuitOpenError, QuotaExhaustedError, TransientBackendError
from pii_gemini.cli import main
from pii_gemini.masking import BreakerPolicy, Masker

N = 400


def _input(tmp_path: Path) -> Path:
    return write_jsonl(
        tmp_path / "in.jsonl", [{"source_text": f"Row {i}: Alice"} for i in range(N)]
    )


def _row(text: str) -> int:
    return int(text.split(":")[0].split()[1])


def _masker(backend: ScriptedBackend, **kwargs: object) -> Masker:
    return Masker(backend, MODEL, retry=fast_retry(5), sleep=lambda s: None, concurrency=4,
                  **kwargs)  # type: ignore[arg-type]  # fmt: skip


def test_a_total_outage_stops_the_run_after_consecutive_failures(tmp_path: Path) -> None:
    def down_after_50(text: str, attempt: int) -> TransientBackendError | None:
        return TransientBackendError("unavailable", code=503) if _row(text) >= 50 else None

    backend = ScriptedBackend(fault=down_after_50)
    masker = _masker(backend, breaker=BreakerPolicy(consecutive=10))
    src, out = _input(tmp_path), tmp_path / "out.jsonl"
    with pytest.raises(CircuitOpenError, match="resume") as info:
        masker.mask_file(src, out, progress=False)
    assert "503" in str(info.value)
    assert backend.calls < 50 + 5 * 20  # not 5 requests for each of the 350 rows left
    records = read_jsonl(out)  # what was done before the stop: a prefix, kept
    assert [r["row"] for r in records] == list(range(len(records)))
    assert all((r["status"] == "ok") == (r["row"] < 50) for r in records)
    summary = masker.last_summary
    assert summary is not None and summary.stopped is not None
    # later, the service is back: resume retries the failed rows and finishes
    done = _masker(ScriptedBackend()).mask_file(src, out, progress=False)
    assert done.failed == 0
    assert [r["status"] for r in read_jsonl(out)] == ["ok"] * N


def test_a_high_failure_rate_over_a_window_stops_the_run(tmp_path: Path) -> None:
    def two_of_three(text: str, attempt: int) -> TransientBackendError | None:
        return TransientBackendError("x", code=500) if _row(text) % 3 else None

    backend = ScriptedBackend(fault=two_of_three)
    masker = _masker(backend, breaker=BreakerPolicy(consecutive=1000, window=30,
                                                   max_failure_rate=0.5))  # fmt: skip
    with pytest.raises(CircuitOpenError, match="rate"):
        masker.mask_file(_input(tmp_path), tmp_path / "out.jsonl", progress=False)
    assert backend.calls < 5 * 60


def test_scattered_failures_do_not_trip_the_default_breaker(tmp_path: Path) -> None:
    def one_in_ten(text: str, attempt: int) -> TransientBackendError | None:
        return TransientBackendError("x", code=503) if _row(text) % 10 == 0 else None

    summary = _masker(ScriptedBackend(fault=one_in_ten)).mask_file(
        _input(tmp_path), tmp_path / "out.jsonl", progress=False
    )
    assert summary.failed == N // 10 and summary.stopped is None


def test_the_breaker_can_be_switched_off(tmp_path: Path) -> None:
    def down(text: str, attempt: int) -> TransientBackendError:
        return TransientBackendError("x", code=503)

    summary = _masker(ScriptedBackend(fault=down), breaker=None).mask_file(
        _input(tmp_path), tmp_path / "out.jsonl", progress=False
    )
    assert summary.failed == N


def test_a_daily_quota_stops_at_once(tmp_path: Path) -> None:
    def quota(text: str, attempt: int) -> QuotaExhaustedError | None:
        if _row(text) >= 20:
            return QuotaExhaustedError("per day", quota="GenerateRequestsPerDayPerProjectPerModel")
        return None

    backend = ScriptedBackend(fault=quota)
    masker = _masker(backend)
    with pytest.raises(QuotaExhaustedError):
        masker.mask_file(_input(tmp_path), tmp_path / "out.jsonl", progress=False)
    assert backend.calls <= 20 + 4  # at most the rows already in flight
    records = read_jsonl(tmp_path / "out.jsonl")
    assert 16 <= len(records) <= 20 and {r["status"] for r in records} == {"ok"}


def test_no_request_starts_after_the_stop_even_from_a_rate_limit_wait() -> None:
    # Worker A's request meets the daily quota while worker B waits for its rate-limit slot;
    # once the run has stopped, B's wait ends and B must not send its request.
    waiting, stopped = threading.Event(), threading.Event()

    def quota(text: str, attempt: int) -> QuotaExhaustedError | None:
        assert waiting.wait(5)  # B is in the limiter's wait
        return QuotaExhaustedError("per day", quota="GenerateRequestsPerDay")

    now = [0.0]

    def sleep(seconds: float) -> None:  # the limiter's wait (rpm=1: about a minute)
        waiting.set()
        assert stopped.wait(5)
        now[0] += seconds

    backend = ScriptedBackend(fault=quota)
    masker = Masker(backend, MODEL, retry=fast_retry(5), sleep=sleep, clock=lambda: now[0],
                    concurrency=2, requests_per_minute=1, cache=False)  # fmt: skip
    with pytest.raises(QuotaExhaustedError):
        masker.mask_many(["Row 0: Alice", "Row 1: Bob"])
    stopped.set()
    time.sleep(0.3)  # B, if it were to send, does so at once
    assert backend.calls == 1


@pytest.mark.parametrize("kind", ["quota", "outage"])
def test_cli_stops_cleanly_with_a_resume_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:  # fmt: skip
    def fault(text: str, attempt: int) -> Exception | None:
        if _row(text) < 10:
            return None
        if kind == "quota":
            return QuotaExhaustedError("per day", quota="GenerateRequestsPerDay")
        return TransientBackendError("unavailable", code=503)

    patch_cli(monkeypatch, lambda: ScriptedBackend(fault=fault))
    rc = main(["mask", str(_input(tmp_path)), str(tmp_path / "o.jsonl"), "--model", MODEL,
               "-q", "--concurrency", "1"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 4
    assert "run the same command again" in err and "later" in err
    assert "Traceback" not in err
