"""Mask inside an existing data engine: one pandas batch in, the same batch masked out.

``make_mask_batch`` returns a small picklable callable that a driver ships to workers
(Dask ``map_partitions``, Spark ``mapInPandas``, Ray ``map_batches``...). Each worker
process builds its ``Masker`` once, lazily, from a ``backend_factory`` - backends hold
connections and locks and must not be pickled. The quota is per project: more workers
beyond what the quota allows gain nothing, so size ``concurrency`` x workers to it.

Example (Dask)::

    fn = make_mask_batch(make_backend_factory, "tunedModels/my-model", text_column="text")
    masked = ddf.map_partitions(fn, meta=fn.meta(ddf._meta))
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd

from ._exceptions import ConfigError, DatasetError
from .backends.base import Backend

if TYPE_CHECKING:
    from .masking import Masker

__all__ = ["MASK_COLUMNS", "MaskBatch", "make_mask_batch", "mask_batch"]

#: Columns added to every batch (as ``Masker.mask_dataframe`` adds them), in this order.
#: ``vault_tokens``: the row's vault tokens (``MaskResult.tokens``), so ``mask_batch`` with
#: a vault can unmask each row later with only its own values (``make_mask_batch`` refuses
#: vaults: always empty there); ``safety_net_spans``: the part of
#: ``spans`` the safety net added (``MaskResult.safety_net_spans``, what
#: ``metrics.evaluate(safety_net_spans=...)`` takes). New columns may be appended: select
#: the ones you keep by name (a Spark schema, a Parquet layout).
MASK_COLUMNS: tuple[str, ...] = (
    "masked_text",
    "mask_status",
    "mask_error",
    "finish_reason",
    "spans",
    "vault_tokens",
    "safety_net_spans",
)

# One Masker per (callable token, process): rebuilt after fork/spawn, shared by threads.
_MASKERS: dict[tuple[str, int], Masker] = {}
_MASKERS_LOCK = threading.Lock()


def mask_batch(
    pdf: pd.DataFrame, masker: Masker, *, text_column: str = "source_text"
) -> pd.DataFrame:
    """Return a copy of ``pdf`` plus the ``MASK_COLUMNS``, masking ``pdf[text_column]``.

    Every input row gets an output row in the same order and index; a row that could not
    be masked (no text, an error left after retries, a blocked answer) carries its status
    and error instead of being dropped. The input frame is not modified.
    """
    if text_column not in pdf.columns:
        raise DatasetError(
            f"column {text_column!r} not in the batch (columns: {list(map(str, pdf.columns))})",
            column=text_column,
        )
    out: pd.DataFrame = masker.mask_dataframe(pdf, text_column=text_column, progress=False)
    return out


def _refuse_reversible(masker_kwargs: dict[str, Any]) -> None:
    """Refuse a vault or a reversible operator: the workers cannot share one vault (it holds
    a lock and does not pickle; one per worker would number tokens apart and never be
    saved), so the masked rows could not be unmasked later."""
    from .masking._settings import _operators_of  # late: keeps this module light to import

    operator = masker_kwargs.get("operator", "replace")
    reversible = [op.name for op in _operators_of(operator) if op.reversible]
    given = [k for k in ("vault", "vault_path") if k in masker_kwargs]
    if reversible or given:
        what = f"operator {', '.join(sorted(set(reversible)))}" if reversible else given[0]
        raise ConfigError(
            f"make_mask_batch cannot take {what}: its workers cannot share one vault, so "
            "the rows could not be unmasked later. Use an irreversible operator "
            "('replace', 'redact', 'mask_chars', 'hash') here, or mask each partition with "
            "Masker.mask_file(..., vault_path=) and its own vault file (one vault per "
            "partition), or mask_batch(pdf, Masker(..., vault=vault)) in one process"
        )


class MaskBatch:
    """A picklable ``pd.DataFrame -> pd.DataFrame`` that masks one batch.

    Only ``backend_factory``, ``model`` and the Masker keyword arguments travel to the
    workers; the Masker itself is built on first use in each process and then reused.
    """

    def __init__(
        self,
        backend_factory: Callable[[], Backend],
        model: str,
        *,
        text_column: str = "source_text",
        **masker_kwargs: Any,
    ) -> None:
        if not callable(backend_factory):
            raise ConfigError("backend_factory must be a callable returning a Backend")
        if not model:
            raise ConfigError("model must be a non-empty model name")
        _refuse_reversible(masker_kwargs)
        self.backend_factory = backend_factory
        self.model = model
        self.text_column = text_column
        self.masker_kwargs = dict(masker_kwargs)
        self._token = uuid.uuid4().hex

    def __repr__(self) -> str:
        return f"MaskBatch(model={self.model!r}, text_column={self.text_column!r})"

    def masker(self) -> Masker:
        """This process's Masker, built on first call."""
        key = (self._token, os.getpid())
        masker = _MASKERS.get(key)
        if masker is None:
            with _MASKERS_LOCK:
                masker = _MASKERS.get(key)
                if masker is None:
                    from .masking import Masker  # late: keeps this module light to import

                    backend = self.backend_factory()
                    masker = Masker(backend, self.model, **self.masker_kwargs)
                    _MASKERS[key] = masker
        return masker

    def __call__(self, pdf: pd.DataFrame) -> pd.DataFrame:
        return mask_batch(pdf, self.masker(), text_column=self.text_column)

    def map_in_pandas(self, batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        """Spark ``mapInPandas`` form: an iterator of batches in, masked batches out."""
        for pdf in batches:
            yield self(pdf)

    def meta(self, like: pd.DataFrame) -> pd.DataFrame:
        """An empty frame with the output schema, for Dask's ``meta=``."""
        out = like.iloc[0:0].drop(columns=[c for c in MASK_COLUMNS if c in like.columns])
        extra = pd.DataFrame(
            {c: pd.Series([], dtype=object) for c in MASK_COLUMNS}, index=out.index
        )
        frame: pd.DataFrame = pd.concat([out, extra], axis=1)
        return frame

    def close(self) -> None:
        """Forget (and close the backend of) this process's Masker."""
        with _MASKERS_LOCK:
            masker = _MASKERS.pop((self._token, os.getpid()), None)
        backend = getattr(masker, "backend", None)
        if isinstance(backend, Backend):
            backend.close()


def make_mask_batch(
    backend_factory: Callable[[], Backend],
    model: str,
    *,
    text_column: str = "source_text",
    **masker_kwargs: Any,
) -> MaskBatch:
    """Build the batch-masking callable for an engine's pandas UDF.

    ``backend_factory`` must be picklable (a module-level function or a small class);
    ``masker_kwargs`` go to ``Masker`` (``concurrency``, ``requests_per_minute``, ...).
    A reversible operator, ``vault`` or ``vault_path`` is a ``ConfigError``: the workers
    cannot share one vault, so rows masked that way could never be unmasked.
    """
    return MaskBatch(backend_factory, model, text_column=text_column, **masker_kwargs)
