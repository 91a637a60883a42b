"""FakeService: state machine per progression, validation codes, faults, blocks, controls."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from faker import Faker

from pii_gemini.backends._service import (
    FakeService,
    Progression,
    ServiceError,
)

BASE = "models/gemini-1.5-flash-001-tuning"
UNTUNED = "models/gemini-1.5-flash-001"
PROMPT = "Mask the PII.\nInput:\n{}\n\nOutput:\n"


def examples(n: int, seed: int = 0) -> list[tuple[str, str]]:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rows = []
    for _ in range(n):
        name, email = fake.first_name(), fake.email()
        rows.append(
            (
                PROMPT.format(f"Hello {name}, mail {email} now."),
                "Hello [GIVENNAME], mail [EMAIL] now.",
            )
        )
    return rows


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


T0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def create(service: FakeService, n: int = 8, **kwargs: object) -> str:
    kwargs.setdefault("base_model", BASE)
    op = service.create_tuned_model(examples=examples(n), **kwargs)
    return op.name


def expect_error(code: int, status: str, fn: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ServiceError) as info:
        fn(*args, **kwargs)  # type: ignore[operator]
    assert (info.value.code, info.value.status) == (code, status)
    return info.value.message


# -- progressions ------------------------------------------------------------------------


def test_immediate_progression_finishes_at_creation() -> None:
    service = FakeService(progression=Progression.immediate(), now=lambda: T0)
    op = service.create_tuned_model(examples=examples(10), base_model=BASE, epoch_count=3)
    assert op.done and op.error is None
    assert op.total_steps == op.completed_steps == 9  # ceil(10 / 4) * 3
    assert op.completed_percent == 100.0
    model = service.get_tuned_model(op.tuned_model)
    assert model.state == "ACTIVE"
    assert [s.epoch for s in model.snapshots] == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert model.complete_time == model.create_time == T0
    assert model.create_time.tzinfo is not None


def test_per_poll_progression_advances_only_on_polls() -> None:
    service = FakeService(progression=Progression.per_poll(steps=3))
    op = service.create_tuned_model(examples=examples(8), base_model=BASE, epoch_count=4)
    assert (op.done, op.completed_steps, op.total_steps) == (False, 0, 8)
    assert service.get_operation(op.name).completed_steps == 3
    assert service.get_tuned_model(op.tuned_model).completed_steps == 6
    service.list_tuned_models()
    service.list_operations(op.tuned_model)
    assert service.peek_tuned_model(op.tuned_model).completed_steps == 6  # not polls
    final = service.get_operation(op.name)
    assert final.done and final.completed_steps == 8 and final.error is None
    assert service.get_tuned_model(op.tuned_model).state == "ACTIVE"


def test_time_progression_follows_the_clock() -> None:
    clock = FakeClock()
    service = FakeService(progression=Progression.timed(2.0), clock=clock)
    op = service.create_tuned_model(examples=examples(8), base_model=BASE, epoch_count=5)
    assert service.get_operation(op.name).completed_steps == 0
    clock.t += 2.6
    assert service.get_operation(op.name).completed_steps == 5
    assert service.list_tuned_models()[0][0].completed_steps == 5
    clock.t += 100
    model = service.get_tuned_model(op.tuned_model)
    assert model.state == "ACTIVE" and model.completed_steps == 10


def test_default_hyperparameters_and_inherited_sampling() -> None:
    service = FakeService(progression=Progression.immediate())
    model = service.get_tuned_model(
        service.create_tuned_model(examples=examples(9), base_model=BASE).tuned_model
    )
    assert (model.epoch_count, model.batch_size, model.learning_rate) == (5, 4, 0.001)
    assert model.total_steps == 15
    assert (model.temperature, model.top_p, model.top_k) == (1.0, 0.95, 64)


def test_progression_validation() -> None:
    with pytest.raises(ValueError):
        Progression.per_poll(0)
    with pytest.raises(ValueError):
        Progression.timed(0.0)
    with pytest.raises(ValueError):
        Progression("later")  # type: ignore[arg-type]


# -- validation ---------------------------------------------------------------------------


def test_unknown_and_untunable_base_models() -> None:
    service = FakeService()
    message = expect_error(404, "NOT_FOUND", create, service, base_model="models/x")
    assert message == "models/x is not found."
    expect_error(400, "INVALID_ARGUMENT", create, service, base_model=UNTUNED)
    expect_error(
        404, "NOT_FOUND", create, service, base_model=None, tuned_model_source="tunedModels/no"
    )
    expect_error(400, "INVALID_ARGUMENT", create, service, tuned_model_source="tunedModels/no")


@pytest.mark.parametrize(
    "model_id", ["Upper", "1abc", "ends-", "a" * 41, "has_underscore", "", "sp ace"]
)
def test_bad_ids_are_rejected(model_id: str) -> None:
    expect_error(400, "INVALID_ARGUMENT", create, FakeService(), tuned_model_id=model_id)


def test_good_ids_and_duplicates() -> None:
    service = FakeService()
    assert create(service, tuned_model_id="a").startswith("tunedModels/a/operations/")
    assert create(service, tuned_model_id="m" + "x" * 38 + "9").startswith("tunedModels/m")
    message = expect_error(409, "ALREADY_EXISTS", create, service, tuned_model_id="a")
    assert "tunedModels/a" in message


def test_ids_derived_from_display_name() -> None:
    service = FakeService(seed=3)
    op = service.create_tuned_model(
        examples=examples(2), base_model=BASE, display_name="Sentence Translator!"
    )
    assert re.fullmatch(r"tunedModels/sentence-translator-[a-z0-9]{5}", op.tuned_model)
    again = FakeService(seed=3).create_tuned_model(
        examples=examples(2), base_model=BASE, display_name="Sentence Translator!"
    )
    assert again.tuned_model == op.tuned_model  # seeded
    other = service.create_tuned_model(examples=examples(2), base_model=BASE, display_name="42")
    assert re.fullmatch(r"tunedModels/tuned-model-[a-z0-9]{5}", other.tuned_model)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"epoch_count": 0},
        {"epoch_count": 101},
        {"epoch_count": 2.0},
        {"batch_size": 0},
        {"batch_size": 65},
        {"learning_rate": 0.0},
        {"learning_rate": 1.5},
        {"learning_rate": float("nan")},
        {"temperature": 3.0},
        {"top_p": 1.5},
        {"top_k": 0},
    ],
)
def test_bad_hyperparameters(kwargs: dict[str, object]) -> None:
    service = FakeService()
    expect_error(400, "INVALID_ARGUMENT", create, service, **kwargs)
    assert service.list_tuned_models() == ([], None)


def test_bad_examples_name_the_index_not_the_text() -> None:
    service = FakeService()
    expect_error(400, "INVALID_ARGUMENT", service.create_tuned_model, examples=[], base_model=BASE)
    secret = "Jane Secret-Person " * 3000
    message = expect_error(
        400,
        "INVALID_ARGUMENT",
        service.create_tuned_model,
        examples=[*examples(1), (secret, "x")],
        base_model=BASE,
    )
    assert "Example 1" in message and "Secret" not in message
    message = expect_error(
        400,
        "INVALID_ARGUMENT",
        service.create_tuned_model,
        examples=[("in", "o" * 5001)],
        base_model=BASE,
    )
    assert "Example 0" in message and "output" in message
    for bad in [("", "x"), ("x", ""), ("x", 3), ("only-one",)]:
        expect_error(
            400, "INVALID_ARGUMENT", service.create_tuned_model, examples=[bad], base_model=BASE
        )


# -- generation -------------------------------------------------------------------------------


def test_generate_rules() -> None:
    service = FakeService(progression=Progression.per_poll(1))
    op = service.create_tuned_model(examples=examples(8), base_model=BASE, epoch_count=1)
    prompt = PROMPT.format("Hello Ann, mail ann@example.org now.")
    expect_error(400, "FAILED_PRECONDITION", service.generate_content, op.tuned_model, prompt)
    expect_error(404, "NOT_FOUND", service.generate_content, "tunedModels/nope", prompt)
    expect_error(404, "NOT_FOUND", service.generate_content, "models/nope", prompt)
    expect_error(400, "INVALID_ARGUMENT", service.generate_content, UNTUNED, prompt, top_p=2.0)
    service.get_operation(op.name)
    service.get_operation(op.name)
    answer = service.generate_content(op.tuned_model, prompt)
    assert answer.finish_reason == "STOP" and answer.block_reason is None
    assert answer.prompt_tokens == (len(prompt) + 3) // 4
    assert answer.output_tokens == (len(answer.text or "") + 3) // 4
    service.delete_tuned_model(op.tuned_model)
    expect_error(404, "NOT_FOUND", service.generate_content, op.tuned_model, prompt)


def test_max_output_tokens_truncates() -> None:
    service = FakeService()
    prompt = PROMPT.format("word " * 100)
    answer = service.generate_content(UNTUNED, prompt, max_output_tokens=5)
    assert answer.finish_reason == "MAX_TOKENS"
    assert answer.text is not None and len(answer.text) == 20 and answer.output_tokens == 5
    expect_error(
        400, "INVALID_ARGUMENT", service.generate_content, UNTUNED, prompt, max_output_tokens=0
    )


def test_blocked_prompts_and_candidates() -> None:
    service = FakeService()
    service.block(lambda p: "bomb" in p)
    service.block(lambda answer: "[EMAIL]" in answer, where="candidate", reason="SPII")
    blocked = service.generate_content(UNTUNED, PROMPT.format("a bomb"))
    assert (blocked.text, blocked.finish_reason, blocked.block_reason) == (None, None, "SAFETY")
    assert blocked.output_tokens == 0
    stopped = service.generate_content(UNTUNED, PROMPT.format("mail a@b.org"))
    assert (stopped.text, stopped.finish_reason, stopped.block_reason) == (None, "SPII", None)
    fine = service.generate_content(UNTUNED, PROMPT.format("hello"))
    assert fine.text is not None and fine.text.endswith("hello")
    with pytest.raises(ValueError):
        service.block(lambda p: True, where="elsewhere")  # type: ignore[arg-type]


# -- faults and controls -------------------------------------------------------------------------


def test_injected_faults_count_down() -> None:
    service = FakeService()
    service.inject_fault("generate_content", 503, times=2)
    service.inject_fault("*", 429, retry_delay=7.0, message="slow down")
    for _ in range(2):
        expect_error(503, "UNAVAILABLE", service.generate_content, UNTUNED, "x")
    with pytest.raises(ServiceError) as info:
        service.list_tuned_models()
    assert (info.value.code, info.value.status, info.value.retry_delay) == (
        429,
        "RESOURCE_EXHAUSTED",
        7.0,
    )
    assert info.value.message == "slow down"
    assert service.generate_content(UNTUNED, "x").text is not None
    assert service.calls["generate_content"] == 3
    assert service.calls["list_tuned_models"] == 1
    with pytest.raises(ValueError):
        service.inject_fault("no_such_method", 500)


def test_fault_rate_is_seeded_and_switchable() -> None:
    def outcomes(seed: int) -> list[int]:
        service = FakeService()
        service.set_fault_rate(0.5, codes=(429, 500), seed=seed)
        codes = []
        for _ in range(40):
            try:
                service.generate_content(UNTUNED, "x")
                codes.append(200)
            except ServiceError as exc:
                codes.append(exc.code)
        service.set_fault_rate(0.0)
        assert service.generate_content(UNTUNED, "x").text is not None
        service.list_tuned_models()  # not a faulty method
        return codes

    first = outcomes(1)
    assert first == outcomes(1)
    assert {200, 429, 500} <= set(first)
    assert 10 < first.count(200) < 30
    with pytest.raises(ValueError):
        FakeService().set_fault_rate(1.5)


def test_fail_next_job_midway() -> None:
    service = FakeService(progression=Progression.per_poll(1))
    service.fail_job(None, message="quota for tuning exceeded")
    op = service.create_tuned_model(examples=examples(8), base_model=BASE, epoch_count=2)
    for _ in range(10):
        op = service.get_operation(op.name)
    assert op.done and op.error == (13, "quota for tuning exceeded")
    assert 0 < op.completed_steps < op.total_steps
    assert service.get_tuned_model(op.tuned_model).state == "FAILED"
    nxt = service.create_tuned_model(examples=examples(8), base_model=BASE, epoch_count=1)
    service.get_operation(nxt.name)
    assert service.get_operation(nxt.name).error is None  # only the next job failed


def test_fail_running_job_by_name() -> None:
    service = FakeService(progression=Progression.per_poll(1))
    name = create(service)
    service.fail_job(name)
    assert service.get_operation(name).error == (13, "Tuning failed.")
    with pytest.raises(ValueError):
        service.fail_job(name)
    with pytest.raises(ValueError):
        service.fail_job("tunedModels/unknown")


def test_cancel() -> None:
    service = FakeService(progression=Progression.per_poll(1))
    op = service.create_tuned_model(examples=examples(8), base_model=BASE)
    service.get_operation(op.name)
    service.cancel_operation(op.name)
    done = service.get_operation(op.name)
    assert done.done and done.error == (1, "Operation cancelled") and done.completed_steps == 1
    model = service.get_tuned_model(op.tuned_model)
    assert model.state == "FAILED" and model.error == (1, "Operation cancelled")
    service.cancel_operation(op.name)  # already done: no-op
    expect_error(404, "NOT_FOUND", service.cancel_operation, "tunedModels/x/operations/y")


def test_delete() -> None:
    service = FakeService(progression=Progression.per_poll(1))
    op = service.create_tuned_model(examples=examples(2), base_model=BASE, epoch_count=1)
    expect_error(400, "FAILED_PRECONDITION", service.delete_tuned_model, op.tuned_model)
    service.get_operation(op.name)
    service.delete_tuned_model(op.tuned_model)
    expect_error(404, "NOT_FOUND", service.get_tuned_model, op.tuned_model)
    expect_error(404, "NOT_FOUND", service.get_operation, op.name)
    expect_error(404, "NOT_FOUND", service.list_operations, op.tuned_model)
    expect_error(404, "NOT_FOUND", service.delete_tuned_model, op.tuned_model)


def test_list_pagination() -> None:
    service = FakeService(progression=Progression.immediate())
    names = [
        service.create_tuned_model(examples=examples(1), base_model=BASE, epoch_count=1).tuned_model
        for _ in range(5)
    ]
    seen, token, pages = [], None, 0
    while True:
        page, token = service.list_tuned_models(page_size=2, page_token=token)
        seen += [m.name for m in page]
        pages += 1
        if token is None:
            break
    assert seen == names and pages == 3
    expect_error(400, "INVALID_ARGUMENT", service.list_tuned_models, page_token="abc")
    expect_error(400, "INVALID_ARGUMENT", service.list_tuned_models, page_size=0)
    (operation,) = service.list_operations(names[0])
    assert operation.name.startswith(names[0] + "/operations/") and operation.done


def test_update() -> None:
    now = [T0]
    service = FakeService(progression=Progression.immediate(), now=lambda: now[0])
    name = service.create_tuned_model(
        examples=examples(1), base_model=BASE, epoch_count=1
    ).tuned_model
    now[0] = T0 + dt.timedelta(hours=1)
    updated = service.update_tuned_model(name, description="new", temperature=0.2)
    assert (updated.description, updated.temperature, updated.top_k) == ("new", 0.2, 64)
    assert updated.update_time == T0 + dt.timedelta(hours=1) and updated.create_time == T0
    expect_error(400, "INVALID_ARGUMENT", service.update_tuned_model, name, temperature=5.0)
    expect_error(404, "NOT_FOUND", service.update_tuned_model, "tunedModels/none")


def test_returned_records_are_copies() -> None:
    service = FakeService(progression=Progression.immediate())
    name = service.create_tuned_model(examples=examples(4), base_model=BASE).tuned_model
    record = service.get_tuned_model(name)
    record.snapshots.clear()
    record.display_name = "hacked"
    fresh = service.get_tuned_model(name)
    assert fresh.snapshots and fresh.display_name == ""


def test_tuning_from_a_creating_model_is_refused() -> None:
    service = FakeService(progression=Progression.per_poll(1))
    name = service.create_tuned_model(examples=examples(4), base_model=BASE).tuned_model
    expect_error(
        400,
        "FAILED_PRECONDITION",
        service.create_tuned_model,
        examples=examples(1),
        tuned_model_source=name,
    )


def test_reset_and_thread_safety() -> None:
    service = FakeService(progression=Progression.immediate())
    name = create(service).split("/operations/")[0]
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(25):
                service.generate_content(name, PROMPT.format("Hello Bo, mail bo@x.org now."))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert service.calls["generate_content"] == 100
    service.reset()
    assert service.calls == {} and service.list_tuned_models() == ([], None)


def test_state_export_and_import_round_trip() -> None:
    import pickle

    service = FakeService(progression=Progression.per_poll(2), seed=4)
    running = create(service, tuned_model_id="running")
    done = service.create_tuned_model(examples=examples(4), base_model=BASE, epoch_count=1)
    service.get_operation(done.name)
    service.get_operation(running)
    blob = pickle.dumps(service.export_state())
    restored = FakeService(progression=Progression.per_poll(2), seed=4)
    restored.import_state(pickle.loads(blob))
    prompt = PROMPT.format("Hello Ann, mail ann@x.org now.")
    assert restored.generate_content(done.tuned_model, prompt) == service.generate_content(
        done.tuned_model, prompt
    )
    assert restored.get_operation(running).completed_steps == 4  # resumes where it was
    assert service.peek_tuned_model("tunedModels/running").completed_steps == 2  # independent
    with pytest.raises(ValueError):
        restored.import_state({"jobs": {"x": 1}, "operations": {}, "rng": None})


def test_exported_state_names_its_classes_where_saved_states_expect_them() -> None:
    # The CLI pickles export_state() into its state file: the classes it holds must keep
    # their module paths, or files saved by another version of the package do not load.
    import pickle
    import pickletools

    service = FakeService(progression=Progression.per_poll(2))
    create(service)
    blob = pickle.dumps(service.export_state(), protocol=pickle.HIGHEST_PROTOCOL)
    named = {
        arg
        for op, arg, _ in pickletools.genops(blob)
        if isinstance(arg, str) and arg.startswith("pii_gemini")
    }
    assert named == {"pii_gemini.backends._service", "pii_gemini.backends._learner"}
