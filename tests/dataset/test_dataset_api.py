"""pii_gemini.dataset: the package exports exactly its public names, wherever they live inside."""

from __future__ import annotations

import pii_gemini
from pii_gemini import dataset

# the names pii_gemini.dataset exported when it was one module, pinned
PUBLIC = {
    "NORMALISED_COLUMNS", "SCHEMAS", "PromptBuilder",
    "load_pii_dataset", "normalize_language", "train_test_split",
}  # fmt: skip


def test_the_package_exports_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(dataset).items()
        if not name.startswith("_") and type(value).__name__ != "module"
    }
    assert set(dataset.__all__) == public == PUBLIC
    assert len(dataset.__all__) == len(PUBLIC)


def test_the_top_level_names_are_the_dataset_ones() -> None:
    for name in ("PromptBuilder", "load_pii_dataset", "train_test_split"):
        assert getattr(pii_gemini, name) is getattr(dataset, name)
    assert dataset.PromptBuilder.__module__.startswith("pii_gemini.dataset")
