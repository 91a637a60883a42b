"""A user trial saw transformers' FutureWarning (``is_gradient_checkpointing`` is deprecated,
raised through peft) on the terminal while masking with a locally tuned model: the local
backend must keep that one warning to itself, in training and in generation."""

from __future__ import annotations

import warnings
from pathlib import Path

from _local_support import short_examples

from pii_gemini import Tuner
from pii_gemini.backends.local import LocalBackend


def test_tuning_and_generating_show_no_transformers_future_warning(
    tmp_path: Path, tiny_base: Path
) -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")  # pyproject's filter hides it from other tests
        backend = LocalBackend(models_dir=tmp_path, base_model=str(tiny_base), worker="thread",
                               threads=1)  # fmt: skip
        with backend:
            job = Tuner(backend, poll_interval=0.02).tune(
                short_examples(), model_id="quiet", epoch_count=1, batch_size=4
            )
            model = job.wait(timeout=120)
            assert backend.generate(model.name, "Hi Ann").prompt_tokens > 0
    leaked = [str(w.message) for w in seen if issubclass(w.category, FutureWarning)]
    assert not [m for m in leaked if "is_gradient_checkpointing" in m], leaked
