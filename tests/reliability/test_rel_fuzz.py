"""Item 13 of issue 13: fuzzing the masking entry points (operators, vault, unmask, Masker,
mask_file, the mask/unmask CLI) finds only ``PiiGeminiError`` subclasses, never a bare
exception - with lone surrogates, odd spans and parameters, and arbitrary file bytes."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import pytest
from _rel_support import MODEL, ScriptedBackend, patch_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pii_gemini import PiiGeminiError
from pii_gemini._types import Span
from pii_gemini.cli import main
from pii_gemini.masking import Masker
from pii_gemini.operators import OPERATORS, anonymize
from pii_gemini.vault import Vault, unmask

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# text with lone surrogates, placeholders, controls and astral characters
_TEXT = st.lists(
    st.one_of(
        st.characters(blacklist_categories=()),  # includes lone surrogates (Cs)
        st.sampled_from(["[EMAIL_1]", "EMAIL_1", "[", "]", "_", "\ufeff", "$", "\x00", "Alice"]),
    ),
    max_size=20,
).map("".join)
_LABELS = st.sampled_from(["FIRSTNAME", "EMAIL", "AGE", "CURRENCYSYMBOL", "X_1", "first name"])
_PARAMS = st.fixed_dictionaries(
    {},
    optional={
        "seed": st.one_of(st.integers(), st.text(max_size=5), st.none(), st.floats()),
        "key": st.one_of(st.binary(max_size=20), st.text(max_size=20), st.integers()),
        "length": st.one_of(st.integers(-5, 70), st.booleans()),
        "char": st.text(max_size=2),
        "keep_last": st.integers(-2, 5),
        "new_value": st.one_of(st.text(max_size=4), st.integers()),
        "locale": st.sampled_from(["en_US", "fr_FR", "xx_YY", ""]),
    },
)


@st.composite
def _spans(draw: st.DrawFn, text: str) -> list[Span]:
    spans = []
    for _ in range(draw(st.integers(0, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, len(text)))
        spans.append(Span(start, end, draw(_LABELS)))
    return spans


@FUZZ
@given(data=st.data(), text=_TEXT, op=st.sampled_from(sorted(OPERATORS)), params=_PARAMS)
def test_anonymize_raises_only_library_errors(
    data: st.DataObject, text: str, op: str, params: dict[str, object]
) -> None:
    spans = data.draw(_spans(text))
    params = {k: v for k, v in params.items() if k in OPERATORS[op].param_names}
    vault = Vault()
    try:
        out = anonymize(text, spans, op, vault=vault, **params)
    except PiiGeminiError:
        return
    if op == "numbered":  # (a surrogate glued to a word is not restored: documented)
        assert unmask(out.text, vault, tokens=out.tokens) == text


@FUZZ
@given(text=_TEXT, data=st.binary(max_size=200))
def test_vault_parsing_and_unmask_raise_only_library_errors(text: str, data: bytes) -> None:
    for raw in (data, data.decode("utf-8", "replace")):
        with contextlib.suppress(PiiGeminiError):
            Vault.from_json(raw)
    vault = Vault()
    with contextlib.suppress(PiiGeminiError):
        vault.placeholder(text or "X", text)
    with contextlib.suppress(PiiGeminiError):
        vault.surrogate("X", text, lambda attempt: f"{text}{attempt}")
    unmask(text, vault)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v.jsonl"
        path.write_bytes(data)
        with contextlib.suppress(PiiGeminiError):
            Vault.load(path)


@FUZZ
@given(texts=st.lists(st.one_of(_TEXT, st.integers(), st.none(), st.binary()), max_size=5),
       operator=st.sampled_from(["replace", "numbered", "surrogate", "mask_chars"]))  # fmt: skip
def test_the_masker_returns_a_status_for_every_value(texts: list[object], operator: str) -> None:
    masker = Masker(ScriptedBackend(), MODEL, operator=operator, concurrency=2)
    results = masker.mask_many(texts)  # type: ignore[arg-type]
    assert len(results) == len(texts)
    for result in results:
        if result.masked_text is not None and operator in ("numbered", "surrogate"):
            assert isinstance(result.text, str)


_ROWS = st.lists(
    st.one_of(
        st.binary(max_size=60),
        st.builds(
            lambda t, i: f'{{"id": {i}, "source_text": {t}}}'.encode("utf-8", "surrogatepass"),
            st.sampled_from(['"ok Alice"', "1", "null", "[1]", '"\\ud83d x"', '"a\\u0000b"']),
            st.sampled_from(["1", '"x"', "[]", "null", "1e999"]),
        ),
    ),
    max_size=6,
)


@FUZZ
@given(rows=_ROWS, suffix=st.sampled_from([".jsonl", ".csv", ".tsv"]))
def test_mask_and_unmask_on_arbitrary_file_bytes_exit_cleanly(
    rows: list[bytes], suffix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as tmp:
        patch_cli(mp)
        d = Path(tmp)
        src = d / f"in{suffix}"
        src.write_bytes(b"source_text\n" * (suffix != ".jsonl") + b"\n".join(rows))
        (d / "secrets").mkdir()
        vault = d / "secrets" / "v.jsonl"
        rc = main(["mask", str(src), str(d / "out.jsonl"), "--model", MODEL, "-q",
                   "--id-column", "id" if suffix == ".jsonl" else "source_text",
                   "--operator", "numbered", "--vault", str(vault)])  # fmt: skip
        assert rc in (0, 2, 3, 4)
        if (d / "out.jsonl").exists():
            assert main(["unmask", str(d / "out.jsonl"), str(d / "back.jsonl"), "--vault",
                         str(vault)]) in (0, 2, 3)  # fmt: skip
        raw = d / "raw.txt"
        raw.write_bytes(b"\n".join(rows))
        assert main(["unmask", str(raw), str(d / "raw.out"), "--vault", str(vault)]) in (0, 2, 3)
    err = capsys.readouterr().err
    assert "unexpected" not in err and "Traceback" not in err


_ODD = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True), st.text(max_size=3),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2), st.integers(),
                                                         max_size=2),
)  # fmt: skip
_KWARGS = st.fixed_dictionaries(
    {},
    optional={
        name: _ODD
        for name in (
            "concurrency", "requests_per_minute", "tokens_per_minute", "max_input_chars",
            "cache_size", "safety_net", "operator", "operator_params", "vault", "repair",
            "breaker", "generation_config", "retry", "prompt_builder",
        )
    },
)  # fmt: skip


@FUZZ
@given(kwargs=_KWARGS, model=st.one_of(st.text(max_size=8), st.none(), st.integers()))
def test_masker_arguments_raise_only_library_errors(
    kwargs: dict[str, object], model: object
) -> None:
    try:
        # No real waits: a valid tokens_per_minute=1 would sleep for most of an hour.
        masker = Masker(ScriptedBackend(), model, sleep=lambda s: None, **kwargs)  # type: ignore[arg-type]
    except PiiGeminiError:
        return
    masker.mask_many(["Hi Alice", "x"])
