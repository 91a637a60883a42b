"""The public surface is exactly ``pii_gemini.__all__``, sorted, and every name resolves."""

from __future__ import annotations

import pii_gemini

INCLUDED_PRIVATE = {"__version__"}
PUBLIC_MODULES = {"backends", "dataset", "masking", "metrics", "tuning"}


def test_all_imports_are_exported() -> None:
    public = {
        name
        for name, value in vars(pii_gemini).items()
        if (not name.startswith("_") or name in INCLUDED_PRIVATE)
        and not (name in PUBLIC_MODULES or type(value).__name__ == "module")
    }
    assert len(pii_gemini.__all__) == len(set(pii_gemini.__all__))
    assert set(pii_gemini.__all__) == public


def test_all_resolves_and_public_modules_are_there() -> None:
    # the order of __all__ is ruff's (RUF022, isort-style), checked by `ruff check`
    for module in PUBLIC_MODULES:
        assert type(getattr(pii_gemini, module)).__name__ == "module"
    for name in pii_gemini.__all__:
        assert getattr(pii_gemini, name) is not None


def test_public_names_report_the_package_as_their_module() -> None:
    for name in pii_gemini.__all__:
        obj = getattr(pii_gemini, name)
        if isinstance(obj, type):
            assert obj.__module__.startswith("pii_gemini"), name


def test_sdk_backends_load_lazily_from_backends() -> None:
    from pii_gemini import backends

    assert backends.GeminiBackend.name == "gemini"
    assert backends.VertexBackend.name == "vertex"
    assert set(backends.__all__) >= {"Backend", "FakeBackend", "GeminiBackend", "VertexBackend"}
