"""The fake model really learns: template, format, values, shapes, cue words; loss falls."""

from __future__ import annotations

import itertools
import json
import random
import re
import statistics

import pytest
from faker import Faker
from hypothesis import given, settings
from hypothesis import strategies as st

from pii_gemini.backends._learner import Learner, approx_tokens
from pii_gemini.backends._learner_formats import render_masked
from pii_gemini.backends._learner_patterns import _pattern_regex, coarse_shape, pattern_key
from pii_gemini.backends._service import FakeService, Progression

TEMPLATE = (
    "Given the information below, mask the personal identifiable information.\n\n"
    "Input:\n{input}\n\nOutput:\n"
)
SENTENCES = (
    "Dear {GIVENNAME} {SURNAME}, your parcel ships to {CITY} on Monday.",
    "Please call {GIVENNAME} at {TELEPHONENUM} before 5 pm.",
    "Contact {EMAIL} for details about invoice 4471.",
    "Hi {GIVENNAME}, the meeting moved to {CITY}. Reply to {EMAIL} today.",
    "Patient {GIVENNAME} {SURNAME} was born on {DATEOFBIRTH} in {CITY}.",
    "Our office in {CITY} received 3 boxes for {GIVENNAME} {SURNAME}.",
)
_SLOT = re.compile(r"\{(\w+)\}")


def value_pool(size: int) -> tuple[list[str], list[str], list[str]]:
    """Fixed Faker pools of given names, surnames and cities (so test texts share values)."""
    fake = Faker("en_US")
    fake.seed_instance(99)
    given = [fake.first_name() for _ in range(size)]
    surnames = [fake.last_name() for _ in range(size)]
    cities = [fake.city() for _ in range(size)]
    return given, surnames, cities


def make_rows(n: int, seed: int, *, pool: int = 30) -> list[tuple[str, str, str]]:
    """(source, masked, indexed-masked) triples built with Faker; names from a fixed pool."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    given, surnames, cities = value_pool(pool)
    rnd = random.Random(seed)
    rows = []
    for _ in range(n):
        sentence = rnd.choice(SENTENCES)
        values = {
            "GIVENNAME": rnd.choice(given),
            "SURNAME": rnd.choice(surnames),
            "CITY": rnd.choice(cities),
            "TELEPHONENUM": fake.numerify("###-###-####"),
            "EMAIL": fake.email(),
            "DATEOFBIRTH": fake.date_of_birth().strftime("%m/%d/%Y"),
        }
        source, masked, indexed, pos = "", "", "", 0
        counts: dict[str, int] = {}
        for m in _SLOT.finditer(sentence):
            literal = sentence[pos : m.start()]
            label = m.group(1)
            counts[label] = counts.get(label, 0) + 1
            source += literal + values[label]
            masked += literal + f"[{label}]"
            indexed += literal + f"[{label}_{counts[label]}]"
            pos = m.end()
        rows.append((source + sentence[pos:], masked + sentence[pos:], indexed + sentence[pos:]))
    return rows


def pairs(rows: list[tuple[str, str, str]], *, style: int = 1) -> list[tuple[str, str]]:
    return [(TEMPLATE.format(input=row[0]), row[style]) for row in rows]


def tune(service: FakeService, examples: list[tuple[str, str]], **kwargs: object) -> str:
    op = service.create_tuned_model(
        examples=examples, base_model="models/gemini-1.5-flash-001-tuning", **kwargs
    )
    model = service.get_tuned_model(op.tuned_model)
    assert model.state == "ACTIVE"
    return model.name


def exact_match(service: FakeService, model: str, rows: list[tuple[str, str, str]]) -> float:
    hits = 0
    for source, masked, _ in rows:
        answer = service.generate_content(model, TEMPLATE.format(input=source))
        hits += answer.text == masked
    return hits / len(rows)


@pytest.fixture()
def service() -> FakeService:
    return FakeService(progression=Progression.immediate())


TRAIN = make_rows(160, seed=1)
HELD_OUT = make_rows(80, seed=2)


def test_template_is_learned_and_input_extracted() -> None:
    learner = Learner()
    learner.begin(pairs(TRAIN[:5]))
    assert learner.prefix is not None and learner.prefix.endswith("Input:\n")
    assert learner.suffix == "\n\nOutput:\n"
    assert learner.extract(TEMPLATE.format(input="brand new text")) == "brand new text"


def test_template_cut_at_line_boundary_when_inputs_share_a_first_word() -> None:
    learner = Learner()
    learner.begin([("Q:\nDear Ann.\nA:", "Dear [N]."), ("Q:\nDear Bob.\nA:", "Dear [N].")])
    assert learner.prefix == "Q:\n"
    assert learner.extract("Q:\nHello there\nA:") == "Hello there"


def test_single_example_falls_back_to_input_output_markers() -> None:
    learner = Learner()
    learner.begin([("Mask:\nInput:\nCall Ann\n\nOutput:\n", "Call [GIVENNAME]")])
    assert learner.prefix is None
    assert learner.extract("Other words\nInput:\nHi Bob\n\nOutput:\n") == "Hi Bob"
    assert learner.extract("no markers at all") == "no markers at all"


def test_tuned_model_masks_unseen_texts_with_seen_values_and_shapes(
    service: FakeService,
) -> None:
    model = tune(service, pairs(TRAIN), epoch_count=3)
    # A sentence the model never saw, with a seen name, a seen city and a fresh phone number.
    given, _, cities = value_pool(30)
    sources = " ".join(row[0] for row in TRAIN)
    name = next(g for g in given if g in sources)
    city = next(c for c in cities if c in sources)
    text = f"Yesterday {name} phoned from {city}: reach me on 312-555-0199 please."
    answer = service.generate_content(model, TEMPLATE.format(input=text)).text
    assert answer == "Yesterday [GIVENNAME] phoned from [CITY]: reach me on [TELEPHONENUM] please."


def test_cue_words_generalise_to_unseen_names(service: FakeService) -> None:
    model = tune(service, pairs(TRAIN), epoch_count=3)
    answer = service.generate_content(model, TEMPLATE.format(input="Dear Zebulon, thanks."))
    assert answer.text == "Dear [GIVENNAME], thanks."


def test_more_epochs_beat_fewer_and_tiny_learning_rate(service: FakeService) -> None:
    # Held-out sentences put seen values where no learned context helps, so only what
    # the model absorbed about the values themselves counts.
    rows = make_rows(120, seed=3, pool=40)
    given, surnames, cities = value_pool(40)
    rnd = random.Random(5)
    held_out = []
    for _ in range(60):
        g, s, c = rnd.choice(given), rnd.choice(surnames), rnd.choice(cities)
        held_out.append(
            (f"{c} and {g} or {s} agreed.", "[CITY] and [GIVENNAME] or [SURNAME] agreed.", "")
        )
    one = exact_match(service, tune(service, pairs(rows), epoch_count=1), held_out)
    three = exact_match(service, tune(service, pairs(rows), epoch_count=3), held_out)
    tiny = exact_match(
        service, tune(service, pairs(rows), epoch_count=3, learning_rate=1e-5), held_out
    )
    assert three > one + 0.2
    assert one > tiny


def test_tuned_beats_untuned_by_far(service: FakeService) -> None:
    tuned = exact_match(service, tune(service, pairs(TRAIN), epoch_count=2), HELD_OUT)
    untuned = exact_match(service, "models/gemini-1.5-flash-001", HELD_OUT)
    assert tuned >= 0.8
    assert untuned == 0.0


def test_untuned_model_chatters_and_masks_only_obvious_things(service: FakeService) -> None:
    text = "Hi Anna, write to anna.k@example.org or call +1 (312) 555-0199."
    answer = service.generate_content("models/gemini-1.5-flash-001", TEMPLATE.format(input=text))
    assert (
        answer.text == "Here is the anonymized text:\n\nHi Anna, write to [EMAIL] or call [PHONE]."
    )


def test_loss_is_measured_and_falls() -> None:
    service = FakeService(progression=Progression.immediate())
    op = service.create_tuned_model(
        examples=pairs(TRAIN), base_model="models/gemini-1.5-flash-001-tuning", epoch_count=3
    )
    snapshots = service.get_tuned_model(op.tuned_model).snapshots
    assert snapshots[0].mean_loss > 2.5  # an empty model misses everything
    means = [statistics.mean(s.mean_loss for s in snapshots if s.epoch == e) for e in (1, 2, 3)]
    assert means[0] > means[1] > means[2] >= 0.0
    assert [s.step for s in snapshots] == list(range(1, len(snapshots) + 1))


def test_training_is_deterministic() -> None:
    losses = []
    for _ in range(2):
        service = FakeService(progression=Progression.immediate(), seed=7)
        op = service.create_tuned_model(
            examples=pairs(TRAIN[:40]), base_model="models/gemini-1.5-flash-001-tuning"
        )
        losses.append([s.mean_loss for s in service.get_tuned_model(op.tuned_model).snapshots])
    assert losses[0] == losses[1]


def test_indexed_style_is_learned(service: FakeService) -> None:
    model = tune(service, pairs(TRAIN, style=2), epoch_count=3)
    source, _, indexed = HELD_OUT[0]
    answer = service.generate_content(model, TEMPLATE.format(input=source)).text
    assert answer is not None and re.search(r"\[[A-Z]+_1\]", answer)
    assert answer == indexed
    hits = sum(
        service.generate_content(model, TEMPLATE.format(input=s)).text == i for s, _, i in HELD_OUT
    )
    assert hits / len(HELD_OUT) >= 0.8


def _gold_entities(source: str, masked: str) -> list[tuple[str, str]]:
    """(label, value) pairs of a source/masked pair, by a simple template diff."""
    found = []
    parts = re.split(r"\[([A-Z]+)\]", masked)
    pos = 0
    for i in range(0, len(parts) - 1, 2):
        pos += len(parts[i])
        nxt = parts[i + 2]
        end = source.index(nxt, pos) if nxt else len(source)
        found.append((parts[i + 1], source[pos:end]))
        pos = end
    return found


def test_entities_format_is_learned_and_answered(service: FakeService) -> None:
    def entities(source: str, masked: str) -> str:
        pairs = _gold_entities(source, masked)
        return json.dumps([{"label": label, "value": value} for label, value in pairs])

    examples = [(TEMPLATE.format(input=s), entities(s, m)) for s, m, _ in TRAIN]
    model = tune(service, examples, epoch_count=3)
    source, masked, _ = HELD_OUT[1]
    answer = service.generate_content(model, TEMPLATE.format(input=source)).text
    assert answer is not None
    assert json.loads(answer) == json.loads(entities(source, masked))


def test_entity_lines_format_is_learned_and_answered(service: FakeService) -> None:
    def lines(source: str, masked: str) -> str:
        pairs = _gold_entities(source, masked)
        return "\n".join(f"{label}: {value}" for label, value in pairs) or "NONE"

    examples = [(TEMPLATE.format(input=s), lines(s, m)) for s, m, _ in TRAIN]
    model = tune(service, examples, epoch_count=3)
    source, masked, _ = HELD_OUT[1]
    answer = service.generate_content(model, TEMPLATE.format(input=source)).text
    assert answer == lines(source, masked)
    plain = service.generate_content(model, TEMPLATE.format(input="nothing here at all")).text
    assert plain == "NONE"


def test_unalignable_examples_are_skipped_not_fatal() -> None:
    learner = Learner()
    parsed = learner.begin(
        [("Input:\nCall Ann now\n\nOutput:", "Totally different [X] words"), *pairs(TRAIN[:3])]
    )
    assert parsed[0].usable is False
    assert all(p.usable for p in parsed[1:])
    assert learner.loss(parsed[:1]) == 0.0


def test_tuning_from_a_tuned_model_keeps_its_knowledge(service: FakeService) -> None:
    parent = tune(service, pairs(TRAIN), epoch_count=3)
    op = service.create_tuned_model(
        examples=pairs(TRAIN[:2]), tuned_model_source=parent, epoch_count=1
    )
    child = service.get_tuned_model(op.tuned_model)
    assert child.base_model == "models/gemini-1.5-flash-001-tuning"
    assert child.source_tuned_model == parent
    fresh = tune(service, pairs(TRAIN[:2]), epoch_count=1)
    assert exact_match(service, child.name, HELD_OUT) > exact_match(service, fresh, HELD_OUT)
    assert child.snapshots[0].mean_loss < 1.0  # starts from the parent's knowledge


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("john.doe@example.com", "@email"),
        ("https://example.org/a/b", "@url"),
        ("192.168.0.12", "@ipv4"),
        ("GB82 WEST 1234 5698 7654 32", "@iban"),
        ("312-555-0199", "#999-999-9999"),
        ("AB12 3CD", "#A+99 9A+"),  # UK postcode: letter runs become case classes
        ("Apt. 156", "#`Apt`. 999"),  # whole words stay literal
        ("@12Ab-cd9ef3", "#@99Aa-a+9a+9"),  # a shape may itself start with "@"
        ("cc:d9:48:32:5a:1a", "@mac"),
        ("0x" + "ab12" * 10, "@eth"),
        ("Flat 1B", None),  # too few digits to stand alone
        ("John", None),
    ],
)
def test_pattern_key(value: str, expected: str | None) -> None:
    assert pattern_key(value) == expected


@pytest.mark.parametrize("value", ["@12Ab-cd9ef3", "#55-1234", "312-555-0199", "a@b.com"])
def test_every_pattern_key_compiles_and_matches_its_value(value: str) -> None:
    key = pattern_key(value)
    assert key is not None
    assert _pattern_regex(key).search(f"x {value} y")


def test_coarse_shape_and_render() -> None:
    assert coarse_shape("John") == "Aa+"
    assert coarse_shape("12 Main St.") == "9+ Aa+ Aa."
    text = "Ann met Bob"
    spans = [(0, 3, "NAME"), (8, 11, "NAME")]
    assert render_masked(text, spans, indexed=False) == "[NAME] met [NAME]"
    assert render_masked(text, spans, indexed=True) == "[NAME_1] met [NAME_2]"
    assert approx_tokens("") == 0 and approx_tokens("abcde") == 2


_TRAINED: list[Learner] = []


def _trained_learner() -> Learner:
    if not _TRAINED:
        learner = Learner()
        parsed = learner.begin(pairs(TRAIN[:60]))
        rng = random.Random(0)
        for _ in range(3):
            for i in range(0, len(parsed), 4):
                learner.train_step(parsed[i : i + 4], 0.001, rng)
        _TRAINED.append(learner)
    return _TRAINED[0]


@given(st.text(max_size=200))
@settings(max_examples=60, deadline=None)
def test_predictions_are_well_formed_on_any_text(text: str) -> None:
    learner = _trained_learner()
    spans = learner.predict(text)
    assert spans == sorted(spans)
    for (_, end, _), (start, _, _) in itertools.pairwise(spans):
        assert end <= start
    assert all(0 <= s < e <= len(text) for s, e, _ in spans)
    answer = learner.generate(TEMPLATE.format(input=text))
    if not spans:
        assert answer == text
