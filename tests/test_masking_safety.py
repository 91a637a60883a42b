"""The Masker's safety net, operators, vault and unmask (issue 6), on scripted and fake models."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import stat
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _masking_support import NAMES, ScriptedBackend, mask_known
from faker import Faker

from pii_gemini._exceptions import ConfigError, NotFoundError
from pii_gemini._retry import RetryPolicy
from pii_gemini._types import MaskResult, MaskStatus
from pii_gemini.detectors import PhoneDetector, SafetyNet
from pii_gemini.masking import Masker
from pii_gemini.metrics import evaluate_results
from pii_gemini.vault import Vault

MODEL = "tunedModels/test-masker"
NO_WAIT = RetryPolicy(attempts=2, initial_delay=0, max_delay=0, jitter=0)
NAME_RX = re.compile(r"\b(?:" + "|".join(NAMES) + r")\b")
IBAN = "GB82 WEST 1234 5698 7654 32"  # the ISO 13616 example: valid mod-97
CARD = "4111 1111 1111 1111"  # Visa test number: valid Luhn
TEXT = f"Alice wrote to Bruno: mail alice.w@example.org, IBAN {IBAN}, card {CARD}. Alice again."
MISSED = ("alice.w@example.org", IBAN, CARD)


def names_only(text: str) -> str:
    """A model that masks first names and misses everything else."""
    return NAME_RX.sub("[FIRSTNAME]", text)


def make(answer: Any = names_only, **kwargs: Any) -> Masker:
    backend = ScriptedBackend(answer=answer)
    return Masker(backend, MODEL, retry=NO_WAIT, sleep=lambda s: None, **kwargs)


def faker_texts(n: int, seed: int = 0) -> list[str]:
    """Texts with names the scripted model masks and e-mails only the safety net catches."""
    fake = Faker()
    fake.seed_instance(seed)
    return [
        f"Note {i}: {NAMES[i % len(NAMES)]} ({fake.job()}) writes from {fake.email()}; "
        f"{NAMES[(i + 1) % len(NAMES)]} answers."
        for i in range(n)
    ]


# -- the safety net -------------------------------------------------------------------------


def test_safety_net_masks_what_the_model_missed_and_records_it() -> None:
    masker = make()
    result = masker.mask(TEXT)
    assert result.status is MaskStatus.OK and result.faithful and not result.chatter
    assert result.masked_text == (
        "[FIRSTNAME] wrote to [FIRSTNAME]: mail [EMAIL], IBAN [IBAN], "
        "card [CREDITCARDNUMBER]. [FIRSTNAME] again."
    )
    assert [(s.label, s.value) for s in result.safety_net_spans] == [
        ("EMAIL", MISSED[0]),
        ("IBAN", IBAN),
        ("CREDITCARDNUMBER", CARD),
    ]
    assert all(TEXT[s.start : s.end] == s.value for s in result.safety_net_spans)
    assert [s.value for s in result.spans] == ["Alice", "Bruno", "Alice"]  # the model's own
    assert masker.last_summary is not None and masker.last_summary.safety_net_caught == 3
    assert "safety_net_caught=3" in str(masker.last_summary)
    assert not any(v in repr(result) for v in MISSED)


def test_safety_net_adds_nothing_when_the_model_masked_everything() -> None:
    text = "Hi Alice, call 555-1234 or mail a.b@x.org now."
    result = make(mask_known).mask(text)
    assert result.masked_text == mask_known(text) and result.safety_net_spans == ()


def test_safety_net_opt_out_leaves_the_model_answer() -> None:
    result = make(safety_net=False).mask(TEXT)
    assert result.masked_text == names_only(TEXT)
    assert result.safety_net_spans == ()
    assert all(v in result.masked_text for v in MISSED)


def test_custom_safety_net_and_its_labels() -> None:
    net = SafetyNet(["email"], labels_map={"EMAIL": "EMAILADDRESS"})
    result = make(safety_net=net).mask(TEXT)
    assert result.masked_text is not None and "[EMAILADDRESS]" in result.masked_text
    assert IBAN in result.masked_text and CARD in result.masked_text  # not asked for
    assert [s.label for s in result.safety_net_spans] == ["EMAILADDRESS"]


def test_short_digit_runs_are_not_taken_for_phone_numbers() -> None:
    # libphonenumber accepts "1640" as a German number; the Masker's default net does not
    result = make(lambda t: t).mask("Row 1640: case 1641, call +44 20 7946 0958.")
    assert [s.value for s in result.safety_net_spans] == ["+44 20 7946 0958"]


def test_many_rows_count_in_the_summary_and_in_the_dataframe() -> None:
    texts = faker_texts(30)
    masker = make(concurrency=4)
    df = masker.mask_dataframe(pd.DataFrame({"source_text": texts}))
    assert masker.last_summary is not None and masker.last_summary.safety_net_caught == 30
    # the spans column holds the model's and the safety net's spans, in text order
    for text, spans in zip(texts, df["spans"], strict=True):
        assert [s["label"] for s in spans] == ["FIRSTNAME", "EMAIL", "FIRSTNAME"]
        assert all(text[s["start"] : s["end"]] == s["value"] for s in spans)
    assert not any("@" in t for t in df["masked_text"])


def test_long_text_in_pieces_gets_the_safety_net_too() -> None:
    texts = faker_texts(40)
    text = " ".join(texts)
    masker = make(max_input_chars=400)
    result = masker.mask(text)
    assert result.status is MaskStatus.OK and len(masker.backend.prompts) > 1  # type: ignore[attr-defined]
    assert len(result.safety_net_spans) == 40 and "@" not in (result.masked_text or "")
    expected = text
    for span in sorted(result.spans + result.safety_net_spans, key=lambda s: -s.start):
        expected = expected[: span.start] + f"[{span.label}]" + expected[span.end :]
    assert result.masked_text == expected


def test_entities_target_with_the_safety_net() -> None:
    from pii_gemini.dataset import PromptBuilder

    def entities(text: str) -> str:
        return json.dumps([{"label": "FIRSTNAME", "value": v} for v in NAME_RX.findall(text)])

    masker = make(entities, prompt_builder=PromptBuilder(target="entities"))
    result = masker.mask(TEXT)
    assert result.masked_text == make().mask(TEXT).masked_text
    assert len(result.safety_net_spans) == 3 and result.faithful


def test_fake_model_masking_part_of_an_iban_gets_the_whole_iban_masked() -> None:
    from pii_gemini.backends.fake import FakeBackend

    backend = FakeBackend()
    text = f"Please forward the contract to olga.petrova@example.net before noon, IBAN {IBAN}."
    bare = Masker(backend, "models/gemini-1.5-flash-001", safety_net=False).mask(text)
    # the untuned fake takes the IBAN's digits for a phone number and leaves "GB82 WEST"
    assert bare.masked_text is not None and "GB82 WEST [" in bare.masked_text
    result = Masker(backend, "models/gemini-1.5-flash-001").mask(text)
    assert result.masked_text == (
        "Please forward the contract to [EMAIL] before noon, IBAN [IBAN]."
    )
    assert [(s.label, s.value) for s in result.safety_net_spans] == [("IBAN", IBAN)]


# -- operators ------------------------------------------------------------------------------


def test_numbered_placeholders_are_consistent_within_a_document() -> None:
    masker = make(operator="numbered")
    result = masker.mask(TEXT)
    assert result.masked_text == (
        "[FIRSTNAME_1] wrote to [FIRSTNAME_2]: mail [EMAIL_1], IBAN [IBAN_1], "
        "card [CREDITCARDNUMBER_1]. [FIRSTNAME_1] again."
    )
    assert masker.vault is not None and len(masker.vault) == 5
    assert masker.unmask(result.masked_text) == TEXT
    assert "Alice" not in repr(masker.vault)


def test_redact_mask_chars_and_hash() -> None:
    redacted = make(operator="redact").mask(TEXT).masked_text
    assert redacted == " wrote to : mail , IBAN , card .  again."
    chars = make(operator="mask_chars", operator_params={"keep_last": 4}).mask(TEXT).masked_text
    assert chars is not None and "***************1111" in chars and "4111" not in chars
    key = b"secret-key-of-16"
    hashed = make(operator="hash", operator_params={"key": key}).mask(TEXT).masked_text
    digest = hmac.new(key, MISSED[0].encode(), hashlib.sha256).hexdigest()[:16]
    assert hashed is not None and f"mail {digest}," in hashed
    assert not any(v in hashed for v in (*MISSED, "Alice", "Bruno"))


def test_per_label_operators_and_the_plain_masker_has_no_vault() -> None:
    masker = make(operator={"FIRSTNAME": "numbered", "DEFAULT": "redact"})
    assert masker.mask(TEXT).masked_text == (
        "[FIRSTNAME_1] wrote to [FIRSTNAME_2]: mail , IBAN , card . [FIRSTNAME_1] again."
    )
    plain = make()
    assert plain.vault is None
    with pytest.raises(ConfigError, match="no vault"):
        plain.unmask("[FIRSTNAME_1]")


def test_surrogates_are_realistic_consistent_and_reversible() -> None:
    masker = make(operator="surrogate", operator_params={"seed": 7})
    result = masker.mask(TEXT)
    out = result.masked_text
    assert out is not None and not any(v in out for v in (*MISSED, "Alice", "Bruno"))
    first = out.split(" wrote to ")[0]
    assert out.endswith(f". {first} again.")  # the same value got the same surrogate
    assert re.search(r"mail \S+@\S+\.\w+,", out)  # an e-mail stays an e-mail
    assert masker.unmask(out) == TEXT
    again = make(operator="surrogate", operator_params={"seed": 7}).mask(TEXT)
    assert again.masked_text == out  # seeded: reproducible


def test_mask_then_llm_edits_then_unmask_restores_the_originals() -> None:
    masker = make(operator="numbered", concurrency=1)  # numbers follow the input order
    results = masker.mask_many([TEXT, *faker_texts(10)], progress=False)
    assert all(r.ok for r in results)
    masked = results[0].masked_text
    assert masked is not None
    answer = (
        "Summary: [firstname_1] wrote to [ FIRSTNAME _ 2 ] and gave the card "
        "CREDITCARDNUMBER_1 and IBAN [IBAN_01]; reply to [EMAIL_1]."
    )
    assert masker.unmask(answer) == (
        f"Summary: Alice wrote to Bruno and gave the card {CARD} and IBAN {IBAN}; "
        f"reply to {MISSED[0]}."
    )
    for r in results:  # one vault for the whole run: every text round-trips
        assert masker.unmask(r.masked_text or "") == r.text
    other = Vault()
    assert masker.unmask(masked, other) == masked  # an explicit vault wins


def test_shared_vault_passed_in_numbers_across_documents() -> None:
    vault = Vault()
    one = make(operator="numbered", vault=vault).mask("Alice and Dana.")
    two = make(operator="numbered", vault=vault).mask("Dana and Chen.")
    assert one.masked_text == "[FIRSTNAME_1] and [FIRSTNAME_2]."
    assert two.masked_text == "[FIRSTNAME_2] and [FIRSTNAME_3]."


# -- unfaithful answers -----------------------------------------------------------------------


def rewriting(text: str) -> str:
    """A model that adds chatter and rewrites a few words around its placeholders."""
    return "Sure! Here is the output:\n\n" + names_only(text).replace("wrote to", "sent a note to")


def test_unfaithful_answer_keeps_the_model_text_but_masks_the_leaks() -> None:
    result = make(rewriting).mask(TEXT)
    assert not result.faithful and result.chatter
    assert result.masked_text == (
        "[FIRSTNAME] sent a note to [FIRSTNAME]: mail [EMAIL], IBAN [IBAN], "
        "card [CREDITCARDNUMBER]. [FIRSTNAME] again."
    )
    assert len(result.safety_net_spans) == 3


def test_unfaithful_answer_is_never_rendered_from_the_source_unless_repair() -> None:
    kept = make(rewriting).mask(TEXT).masked_text
    assert kept is not None and "Alice" not in kept  # the model masked it; we keep that
    repaired = make(rewriting, repair=True).mask(TEXT)
    # repair renders the source: the name next to the rewrite cannot be anchored and shows
    assert repaired.masked_text is not None and repaired.masked_text.startswith("Alice wrote to")
    assert not any(v in repaired.masked_text for v in MISSED)


def test_unfaithful_answer_detector_hits_in_the_answer_itself_are_masked() -> None:
    def invent(text: str) -> str:  # rewrites and leaks a (different) address
        return names_only(text).replace("alice.w@example.org", "alice.w@example.com")

    result = make(invent, safety_net=SafetyNet(["email"])).mask(TEXT)
    assert not result.faithful
    assert result.masked_text is not None and "@" not in result.masked_text


def test_unfaithful_answer_values_the_model_masked_are_not_counted() -> None:
    def reworded(text: str) -> str:  # masks the address but rewrites everything around it
        return "[FIRSTNAME] says: please use [EMAIL] from today on!"

    result = make(reworded).mask("Alice wrote: mail alice.w@example.org now.")
    assert not result.faithful
    assert result.masked_text == "[FIRSTNAME] says: please use [EMAIL] from today on!"
    assert result.safety_net_spans == ()  # nothing leaked, nothing caught


def test_unfaithful_answer_numbered_leaks_unmask() -> None:
    masker = make(rewriting, operator="numbered")
    out = masker.mask(TEXT).masked_text
    assert out is not None and "[EMAIL_1]" in out
    assert MISSED[0] in masker.unmask(out)


# -- settings, cache and errors ---------------------------------------------------------------


def test_cache_key_depends_on_post_model_settings() -> None:
    base = make().cache_key("x")
    assert make().cache_key("x") == base
    assert make(safety_net=False).cache_key("x") != base
    assert make(safety_net=SafetyNet(["email"])).cache_key("x") != base
    assert make(safety_net=SafetyNet()).cache_key("x") == base  # the default net is SafetyNet()
    net_us = SafetyNet(
        [d for d in SafetyNet().detectors if d.name != "phone"] + [PhoneDetector(regions=("US",))]
    )
    assert make(safety_net=net_us).cache_key("x") != base
    assert make(operator="numbered").cache_key("x") != base
    assert make(repair=True).cache_key("x") != base
    a = make(operator="hash", operator_params={"key": b"a" * 16}).cache_key("x")
    assert a == make(operator="hash", operator_params={"key": b"a" * 16}).cache_key("x")
    assert a != make(operator="hash", operator_params={"key": b"b" * 16}).cache_key("x")

    def provider(fake: object) -> str:
        return "x"

    p1 = make(operator="surrogate", operator_params={"providers": {"EMAIL": provider}})
    p2 = make(operator="surrogate", operator_params={"providers": {"EMAIL": provider}})
    assert p1.cache_key("x") == p2.cache_key("x")  # stable across instances (and processes)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"safety_net": "yes"}, "safety_net"),
        ({"operator": "nope"}, "unknown operator"),
        ({"operator": 3}, "operator"),
        ({"operator": "hash"}, "key"),
        ({"operator": "replace", "operator_params": {"char": "#"}}, "unknown parameter"),
        ({"operator_params": [("key", 1)]}, "operator_params"),
        ({"vault": {}}, "vault"),
        ({"repair": "yes"}, "repair"),
    ],
)
def test_bad_post_model_settings(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        make(**kwargs)


def test_results_of_other_statuses_get_no_safety_net() -> None:
    masker = Masker(
        ScriptedBackend(block=lambda t: True), MODEL, retry=NO_WAIT, sleep=lambda s: None
    )
    result = masker.mask(TEXT)
    assert result.status is MaskStatus.BLOCKED and result.masked_text is None
    assert result.safety_net_spans == ()


# -- files and the vault ----------------------------------------------------------------------


def _write(path: Path, texts: list[str]) -> None:
    pd.DataFrame({"id": [f"id-{i}" for i in range(len(texts))], "source_text": texts}).to_json(
        path, orient="records", lines=True
    )


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_mask_file_writes_safety_net_spans_without_values(tmp_path: Path) -> None:
    texts = faker_texts(12)
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(src, texts)
    summary = make().mask_file(src, dst, progress=False)
    records = _lines(dst)
    assert summary.safety_net_caught == 12
    for text, rec in zip(texts, records, strict=True):
        (span,) = rec["safety_net_spans"]
        assert span.keys() == {"start", "end", "label"} and span["label"] == "EMAIL"
        assert "@" in text[span["start"] : span["end"]]
        assert rec["faithful"] is True and rec["chatter"] is False
    assert "@" not in dst.read_text(encoding="utf-8")
    with_source = tmp_path / "src.jsonl"
    make().mask_file(src, with_source, include_source=True, progress=False)
    assert "@" in _lines(with_source)[0]["safety_net_spans"][0]["value"]


def test_mask_file_with_a_vault_round_trips_and_resumes(tmp_path: Path) -> None:
    texts = faker_texts(40)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    src, dst, vault_path = (
        tmp_path / "in.jsonl",
        tmp_path / "out" / "masked.jsonl",
        secrets / "v.json",
    )
    _write(src, texts)
    dst.parent.mkdir()
    summary = make(operator="numbered", concurrency=1).mask_file(
        src, dst, vault_path=vault_path, chunk_size=7, progress=False
    )
    assert summary.done == 40
    assert stat.S_IMODE(vault_path.stat().st_mode) == 0o600
    vault = Vault.load(vault_path)
    assert [vault.unmask(r["masked_text"]) for r in _lines(dst)] == texts
    full = dst.read_bytes()

    lines = full.splitlines(keepends=True)
    dst.write_bytes(b"".join(lines[:15]))  # a run killed after 15 rows
    backend = ScriptedBackend(answer=names_only)
    resumed = Masker(backend, MODEL, operator="numbered", retry=NO_WAIT, concurrency=1)
    summary = resumed.mask_file(src, dst, vault_path=vault_path, progress=False)
    assert summary.skipped_resumed == 15 and backend.calls == 25
    assert dst.read_bytes() == full  # numbering went on where the first run stopped
    vault = Vault.load(vault_path)
    assert [vault.unmask(r["masked_text"]) for r in _lines(dst)] == texts


def test_a_run_stopped_by_an_error_leaves_only_unmaskable_lines(tmp_path: Path) -> None:
    texts = faker_texts(30)
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    vault_path = tmp_path / "keys" / "vault.json"
    vault_path.parent.mkdir()
    _write(src, texts)

    def fault(text: str, attempt: int) -> NotFoundError | None:
        return NotFoundError("gone", code=404) if text.startswith("Note 17:") else None

    backend = ScriptedBackend(answer=names_only, fault=fault)
    masker = Masker(backend, MODEL, operator="numbered", retry=NO_WAIT, concurrency=1)
    with pytest.raises(NotFoundError):
        masker.mask_file(src, dst, vault_path=vault_path, chunk_size=5, progress=False)
    records = _lines(dst)
    assert 0 < len(records) <= 17
    vault = Vault.load(vault_path)
    for i, rec in enumerate(records):
        assert vault.unmask(rec["masked_text"]) == texts[i]


def test_vault_path_checks(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(src, faker_texts(3))
    numbered = make(operator="numbered")
    with pytest.raises(ConfigError, match="directory of the masked output"):
        numbered.mask_file(src, dst, vault_path=tmp_path / "vault.json", progress=False)
    assert not dst.exists()  # refused before any row was masked
    with pytest.raises(ConfigError, match="needs a vault"):
        make().mask_file(src, dst, vault_path=tmp_path / "x" / "vault.json", progress=False)
    with pytest.raises(ConfigError, match="does not exist"):
        numbered.mask_file(src, dst, vault_path=tmp_path / "nope" / "v.json", progress=False)
    numbered.mask_file(
        src, dst, vault_path=tmp_path / "vault.json", vault_allow_same_dir=True, progress=False
    )
    assert stat.S_IMODE((tmp_path / "vault.json").stat().st_mode) == 0o600


def test_no_pii_in_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    texts = faker_texts(8)
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    (tmp_path / "v").mkdir()
    _write(src, texts[::-1])
    make(operator="numbered").mask_file(
        src, dst, vault_path=tmp_path / "v" / "vault.json", progress=False
    )
    _write(src, texts)  # a resume (with the same vault) that does not match...
    caplog.set_level(logging.DEBUG)
    with pytest.raises(Exception, match="does not match"):
        make(operator="numbered").mask_file(
            src, dst, vault_path=tmp_path / "v" / "vault.json", progress=False
        )
    make(operator="numbered").mask_file(
        src, dst, vault_path=tmp_path / "v" / "vault.json", resume=False, progress=False
    )
    logged = caplog.text
    assert "@" not in logged and not any(n in logged for n in NAMES)


# -- metrics ----------------------------------------------------------------------------------


def _gold(text: str) -> list[dict[str, object]]:
    spans = [(m.start(), m.end(), "FIRSTNAME") for m in NAME_RX.finditer(text)]
    spans += [(m.start(), m.end(), "EMAIL") for m in re.finditer(r"\S+@\S+\.\w+", text)]
    return [{"start": s, "end": e, "label": lab, "value": text[s:e]} for s, e, lab in spans]


def test_report_counts_what_the_safety_net_caught() -> None:
    texts = faker_texts(10)
    gold = [_gold(t) for t in texts]
    results = make().mask_many(texts)
    report = evaluate_results(results, gold_spans=gold)
    assert report.safety_net_caught == 10
    assert report["safety_net_caught"] == 10 and "safety_net_caught" in report.to_markdown()
    assert report.leak_rate == 0.0 and report.strict.recall == 1.0
    bare = evaluate_results(make(safety_net=False).mask_many(texts), gold_spans=gold)
    assert bare.safety_net_caught == 0 and bare.leak_rate > 0
    failed = MaskResult(texts[0], None, MaskStatus.FAILED, error="x")
    unmasked = evaluate_results([failed], gold_spans=gold[:1])
    assert unmasked.safety_net_caught == 0
    # a row the model did not mask is scored as its source: its values leak, none is found
    assert unmasked.leak_rate == 1.0 and unmasked.strict.recall == 0.0
    with pytest.raises(ConfigError, match="MaskResult"):
        evaluate_results(["text"], gold_spans=gold[:1])  # type: ignore[list-item]
