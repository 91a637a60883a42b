"""One exception tree, rooted at PiiGeminiError."""

from __future__ import annotations

import inspect

import pii_gemini
from pii_gemini import _exceptions


def test_every_library_exception_derives_from_the_root() -> None:
    classes = [
        obj
        for _, obj in inspect.getmembers(_exceptions, inspect.isclass)
        if issubclass(obj, Exception) and obj.__module__ == _exceptions.__name__
    ]
    assert len(classes) >= 10
    for cls in classes:
        assert issubclass(cls, pii_gemini.PiiGeminiError), cls


def test_every_exception_is_public() -> None:
    for name in _exceptions.__all__:
        assert getattr(pii_gemini, name) is getattr(_exceptions, name)


def test_only_transient_errors_are_retryable() -> None:
    assert pii_gemini.RateLimitError("x").retryable
    assert pii_gemini.TransientBackendError("x").retryable
    assert not pii_gemini.InvalidRequestError("x").retryable
    assert not pii_gemini.NotFoundError("x").retryable


def test_context_is_kept() -> None:
    err = pii_gemini.DatasetError("bad privacy_mask", column="privacy_mask", row=7)
    assert (err.column, err.row) == ("privacy_mask", 7)
    assert pii_gemini.TuningJobFailed("x", job_name="op/1").job_name == "op/1"
