"""FakeState: the fake backend's models persisted in a file shared by processes."""

from __future__ import annotations

from pathlib import Path

from pii_gemini.backends._fake_state import FakeState
from pii_gemini.tuning import Tuner


def test_concurrent_processes_do_not_lose_each_others_models(tmp_path: Path) -> None:
    path = tmp_path / "shared.pkl"
    pairs = [(f"Input: call Ann on 555-01{i:02d}", "call [NAME] on [PHONE]") for i in range(8)]

    def tune(backend: object, model_id: str) -> None:
        Tuner(backend, poll_interval=0).tune(pairs, model_id=model_id).wait(progress=False)  # type: ignore[arg-type]

    first, second = FakeState(path, 0), FakeState(path, 0)
    b1, b2 = first.load(), second.load()  # both start from an empty file
    tune(b1, "from-first")
    first.save(b1)
    tune(b2, "from-second")
    second.save(b2)  # must keep "from-first", which it never saw
    names = {m.name for m in Tuner(FakeState(path, 0).load()).list_models()}
    assert names == {"tunedModels/from-first", "tunedModels/from-second"}

    third, fourth = FakeState(path, 0), FakeState(path, 0)
    b3, b4 = third.load(), fourth.load()
    Tuner(b3).delete_model("tunedModels/from-first")
    third.save(b3)
    fourth.save(b4)  # must not resurrect the model deleted meanwhile
    names = {m.name for m in Tuner(FakeState(path, 0).load()).list_models()}
    assert names == {"tunedModels/from-second"}
