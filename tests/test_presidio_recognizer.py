"""GeminiRecognizer in a real presidio-analyzer AnalyzerEngine (pii_gemini.presidio).

The engine runs with presidio's no-op NLP engine (or a minimal one on versions without it):
no spaCy model is downloaded, and the registry holds only the recognizers under test (the
default set includes URL and e-mail recognizers that fetch a public-suffix list).
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
from _masking_support import ScriptedBackend, mask_known

from pii_gemini import BackendError, BackendUnavailableError, ConfigError, Masker
from pii_gemini.presidio import AI4PRIVACY_TO_PRESIDIO

presidio_analyzer = pytest.importorskip("presidio_analyzer")

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry, RecognizerResult  # noqa: E402

from pii_gemini.presidio import GeminiRecognizer  # noqa: E402

TEXT = "Alice wrote to alice@example.org, call 555-0101."


def _nlp_engine() -> Any:
    """An NLP engine that loads no model."""
    try:
        from presidio_analyzer.nlp_engine import NoOpNlpEngine
    except ImportError:  # older presidio: the smallest engine spaCy can run without a model
        import spacy
        from presidio_analyzer.nlp_engine import SpacyNlpEngine

        engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank"}])
        engine.nlp = {"en": spacy.blank("en")}
        return engine
    return NoOpNlpEngine([{"lang_code": "en", "model_name": "none"}])


def _engine(*recognizers: Any) -> AnalyzerEngine:
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in recognizers:
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=_nlp_engine(), supported_languages=["en"])


def _found(results: list[RecognizerResult]) -> list[tuple[str, str, float]]:
    return sorted((r.entity_type, TEXT[r.start : r.end], r.score) for r in results)


def test_a_masker_answers_presidio_with_presidio_entity_names() -> None:
    backend = ScriptedBackend()
    recognizer = GeminiRecognizer(Masker(backend, "tunedModels/pii-1", safety_net=False))
    results = _engine(recognizer).analyze(TEXT, language="en")
    assert _found(results) == [
        ("EMAIL_ADDRESS", "alice@example.org", 0.85),
        ("PERSON", "Alice", 0.85),
        ("PHONE_NUMBER", "555-0101", 0.85),
    ]
    meta = results[0].recognition_metadata
    assert meta[RecognizerResult.RECOGNIZER_NAME_KEY] == "GeminiRecognizer"
    only = _engine(recognizer).analyze(TEXT, language="en", entities=["PERSON"])
    assert _found(only) == [("PERSON", "Alice", 0.85)]
    assert "PERSON" in recognizer.supported_entities and "AGE" in recognizer.supported_entities


def test_the_safety_net_adds_what_the_model_missed() -> None:
    names_only = ScriptedBackend(answer=lambda text: text.replace("Alice", "[FIRSTNAME]"))
    recognizer = GeminiRecognizer(Masker(names_only, "tunedModels/pii-1"), score=0.6)
    results = _engine(recognizer).analyze(TEXT, language="en", return_decision_process=True)
    found = _found(results)
    assert ("PERSON", "Alice", 0.6) in found
    assert ("EMAIL_ADDRESS", "alice@example.org", 1.0) in found  # the checksum-free e-mail rule
    net = next(r for r in results if r.entity_type == "EMAIL_ADDRESS")
    assert "safety net" in net.analysis_explanation.textual_explanation


def test_it_sits_beside_presidio_s_own_recognizers() -> None:
    from presidio_analyzer.predefined_recognizers import CreditCardRecognizer

    text = "Alice paid with 4111 1111 1111 1111."
    masker = Masker(ScriptedBackend(), "tunedModels/pii-1", safety_net=False)
    results = _engine(GeminiRecognizer(masker), CreditCardRecognizer()).analyze(text, "en")
    assert {(r.entity_type, text[r.start : r.end]) for r in results} == {
        ("PERSON", "Alice"),
        ("CREDIT_CARD", "4111 1111 1111 1111"),
    }


def test_prefetch_masks_a_batch_concurrently_and_analyze_hits_the_cache() -> None:
    backend = ScriptedBackend()
    recognizer = GeminiRecognizer(Masker(backend, "tunedModels/pii-1", concurrency=4))
    texts = [f"Mail Bruno at bruno{i}@example.org today." for i in range(12)]
    assert all(r.ok for r in recognizer.prefetch(texts))
    calls = backend.calls
    engine = _engine(recognizer)
    assert all(len(engine.analyze(t, language="en")) == 2 for t in texts)
    assert backend.calls == calls


def test_a_text_the_model_could_not_mask_is_not_reported_as_clean() -> None:
    blocked = ScriptedBackend(block=lambda text: True)
    strict = GeminiRecognizer(Masker(blocked, "tunedModels/pii-1"))
    with pytest.raises(BackendError, match="no usable answer"):
        _engine(strict).analyze(TEXT, language="en")
    lenient = GeminiRecognizer(Masker(blocked, "tunedModels/pii-1"), on_failure="empty")
    assert _engine(lenient).analyze(TEXT, language="en") == []


def test_bad_arguments_are_config_errors() -> None:
    masker = Masker(ScriptedBackend(), "tunedModels/pii-1")
    for kwargs in ({"score": 1.5}, {"safety_net_score": -0.1}, {"on_failure": "ignore"}):
        with pytest.raises(ConfigError):
            GeminiRecognizer(masker, **kwargs)
    with pytest.raises(ConfigError, match="Masker"):
        GeminiRecognizer(object())  # type: ignore[arg-type]
    custom = GeminiRecognizer(masker, entity_map={**AI4PRIVACY_TO_PRESIDIO, "FIRSTNAME": "NAME"})
    assert [r.entity_type for r in custom.analyze("Hi Chen.")] == ["NAME"]
    assert mask_known("Hi Chen.") == "Hi [FIRSTNAME]."


def test_without_presidio_the_name_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import pii_gemini.presidio as module

    monkeypatch.delitem(sys.modules, "pii_gemini._presidio_recognizer")
    monkeypatch.setitem(sys.modules, "presidio_analyzer", None)
    with pytest.raises(BackendUnavailableError, match=r"pii-gemini\[presidio\]"):
        module.GeminiRecognizer  # noqa: B018
    with pytest.raises(AttributeError):
        module.nothing_here  # noqa: B018
