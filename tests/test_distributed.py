"""make_mask_batch / mask_batch, and the Dask example on real Dask schedulers."""

from __future__ import annotations

import importlib
import pickle
import threading
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from pii_gemini._exceptions import ConfigError, DatasetError
from pii_gemini.backends._service import FakeService, Progression
from pii_gemini.backends.base import Backend
from pii_gemini.backends.fake import FakeBackend
from pii_gemini.dataset import PromptBuilder, load_pii_dataset
from pii_gemini.distributed import MASK_COLUMNS, MaskBatch, make_mask_batch, mask_batch
from pii_gemini.masking import Masker
from pii_gemini.synthetic import generate_rows
from pii_gemini.tuning import Tuner

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


class CountingFactory:
    """A picklable backend factory over a shared service, counting its calls."""

    calls = 0
    lock = threading.Lock()

    def __init__(self, state: dict[str, object], fault_rate: float = 0.0) -> None:
        self.state = state
        self.fault_rate = fault_rate

    def __call__(self) -> FakeBackend:
        with CountingFactory.lock:
            CountingFactory.calls += 1
        service = FakeService(progression=Progression.immediate())
        service.import_state(self.state)
        if self.fault_rate:
            service.set_fault_rate(self.fault_rate, codes=(429, 503), seed=3)
        return FakeBackend(service=service)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return load_pii_dataset(generate_rows(120, seed=1))


@pytest.fixture(scope="module")
def tuned(rows: pd.DataFrame) -> tuple[str, dict[str, object]]:
    backend = FakeBackend(progression=Progression.immediate())
    job = Tuner(backend, poll_interval=0).tune(PromptBuilder().build(rows.iloc[:90]))
    job.wait(progress=False)
    return job.model, backend.service.export_state()


@pytest.fixture
def factory(tuned: tuple[str, dict[str, object]]) -> CountingFactory:
    CountingFactory.calls = 0
    return CountingFactory(tuned[1])


def test_mask_batch_matches_a_local_masker(
    rows: pd.DataFrame, tuned: tuple[str, dict[str, object]], factory: CountingFactory
) -> None:
    model = tuned[0]
    batch = rows.iloc[90:][["id", "source_text"]].set_index(pd.RangeIndex(90, 120))
    fn = make_mask_batch(factory, model, concurrency=3)
    out = fn(batch)
    expected = Masker(factory(), model).mask_dataframe(batch, text_column="source_text")
    assert list(out.columns) == ["id", "source_text", *MASK_COLUMNS]
    assert out.index.equals(batch.index)
    assert out["masked_text"].tolist() == expected["masked_text"].tolist()
    assert set(out["mask_status"]) == {"ok"}
    assert out["masked_text"].tolist() != batch["source_text"].tolist()  # it did mask
    assert list(batch.columns) == ["id", "source_text"]  # input untouched


def test_masker_is_built_once_per_process_and_not_pickled(
    rows: pd.DataFrame, tuned: tuple[str, dict[str, object]], factory: CountingFactory
) -> None:
    fn = make_mask_batch(factory, tuned[0], text_column="source_text")
    batches = [rows.iloc[i : i + 10] for i in range(0, 40, 10)]
    threads = [threading.Thread(target=fn, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert CountingFactory.calls == 1
    first = fn.masker()
    clone = pickle.loads(pickle.dumps(fn))
    assert b"Masker" not in pickle.dumps(fn)  # only the recipe travels
    assert clone.masker() is first  # same recipe, same process: reused
    fresh = make_mask_batch(factory, tuned[0])
    assert fresh.masker() is not first  # another recipe gets its own Masker
    fn.close()
    assert fn.masker() is not first  # rebuilt after close()
    assert CountingFactory.calls == 3


def test_map_in_pandas_and_meta(
    rows: pd.DataFrame, tuned: tuple[str, dict[str, object]], factory: CountingFactory
) -> None:
    fn = make_mask_batch(factory, tuned[0])
    batches = [rows.iloc[:7], rows.iloc[7:12], rows.iloc[12:12]]
    outs = list(fn.map_in_pandas(iter(batches)))
    assert [len(o) for o in outs] == [7, 5, 0]
    meta = fn.meta(rows)
    assert len(meta) == 0
    assert list(meta.columns) == list(outs[0].columns)
    assert repr(fn) == f"MaskBatch(model={tuned[0]!r}, text_column='source_text')"


def test_every_row_survives_faults_and_bad_texts(
    rows: pd.DataFrame, tuned: tuple[str, dict[str, object]]
) -> None:
    from pii_gemini._retry import RetryPolicy

    factory = CountingFactory(tuned[1], fault_rate=0.3)
    fn = make_mask_batch(
        factory, tuned[0], retry=RetryPolicy(attempts=2, initial_delay=0, jitter=0)
    )
    batch = rows.iloc[:30][["id", "source_text"]].copy()
    batch["source_text"] = batch["source_text"].astype(object)
    batch.iloc[3, 1] = None  # a row without text
    out = fn(batch)
    assert out["id"].tolist() == batch["id"].tolist()
    statuses = out["mask_status"].tolist()
    assert statuses[3] == "failed" and out["mask_error"].iloc[3]
    assert set(statuses) <= {"ok", "failed"} and statuses.count("ok") >= 15
    failed = out[out["mask_status"] == "failed"]
    assert failed["mask_error"].notna().all()


def test_bad_arguments(rows: pd.DataFrame, factory: CountingFactory) -> None:
    with pytest.raises(ConfigError):
        make_mask_batch("not callable", "tunedModels/x")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        make_mask_batch(factory, "")
    fn = make_mask_batch(factory, "tunedModels/x", text_column="text")
    with pytest.raises(DatasetError, match="'text'"):
        fn(rows)
    with pytest.raises(DatasetError):
        mask_batch(rows, fn.masker(), text_column="nope")
    assert isinstance(fn, MaskBatch)


# --------------------------------------------------------------------------- the example


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(EXAMPLES))  # spawned Dask workers import it too
    return importlib.import_module("dask_mask")


def _local(example: ModuleType, test: pd.DataFrame, model: str, factory: object) -> list[str]:
    masker = Masker(factory(), model)  # type: ignore[operator]
    frame = masker.mask_dataframe(test[["id", "source_text"]], text_column="source_text")
    return [str(t) for t in frame["masked_text"]]


def test_dask_example_with_threads(example: ModuleType) -> None:
    masked, test, model, factory = example.run(rows=120, partitions=3, scheduler="threads")
    assert masked["id"].tolist() == test["id"].tolist()  # one row each, in order
    assert set(masked["mask_status"]) == {"ok"}
    assert masked["masked_text"].tolist() == _local(example, test, model, factory)


@pytest.mark.slow
def test_dask_example_with_worker_processes(example: ModuleType) -> None:
    """Spawned workers rebuild the tuned fake from the shipped state; same answers."""
    masked, test, model, factory = example.run(rows=120, partitions=2, scheduler="processes")
    assert masked["id"].tolist() == test["id"].tolist()
    assert set(masked["mask_status"]) == {"ok"}
    assert masked["masked_text"].tolist() == _local(example, test, model, factory)


def test_dask_example_main_prints_a_summary(
    example: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    assert example.main(["--rows", "80", "--partitions", "2", "--scheduler", "synchronous"]) == 0
    out = capsys.readouterr().out
    assert "masked 20 rows in 2 partitions" in out
    assert "strict span F1" in out


def test_each_row_carries_the_vault_tokens_it_was_issued(
    rows: pd.DataFrame, tuned: tuple[str, dict[str, object]], factory: CountingFactory
) -> None:
    from pii_gemini.vault import Vault, unmask

    model = tuned[0]
    batch = rows.iloc[90:100][["id", "source_text"]]
    vault = Vault()
    masker = Masker(factory(), model, operator="numbered", vault=vault)
    out = mask_batch(batch, masker)
    assert "vault_tokens" in MASK_COLUMNS and "vault_tokens" in out.columns
    issued = [list(r.tokens) for r in masker.mask_many(batch["source_text"].tolist())]
    assert out["vault_tokens"].tolist() == issued and any(issued)
    for text, tokens in zip(out["masked_text"], out["vault_tokens"], strict=True):
        assert all(t in text for t in tokens)  # each row's own tokens, for a scoped unmask
        assert unmask(text, vault, tokens=tokens) != text or not tokens
    plain = Masker(factory(), model).mask_dataframe(batch)
    assert plain["vault_tokens"].tolist() == [[] for _ in range(len(batch))]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"operator": "numbered"},
        {"operator": "surrogate", "seed": 1},
        {"operator": {"EMAIL": "numbered", "DEFAULT": "replace"}},
        {"operator": "numbered", "vault": "a vault"},
        {"vault_path": "v.json"},
    ],
)
def test_make_mask_batch_refuses_a_reversible_operator_or_a_vault(
    kwargs: dict[str, object],
) -> None:
    """Workers cannot share one vault (it does not pickle, and one per worker is never
    saved), so a reversible run is refused up front with the way to do it instead."""
    with pytest.raises(ConfigError, match="mask_file") as err:
        make_mask_batch(_unused_factory, "tunedModels/m", **kwargs)
    assert "vault" in str(err.value)


def _unused_factory() -> Backend:
    raise AssertionError("never called: the recipe is refused before any worker runs")
