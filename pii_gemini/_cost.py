"""Cost estimates from the dated price table (``backends/_catalogue.PRICES``).

Tuning bills the training dataset's tokens once per epoch; masking bills prompt tokens as
input and answer plus thought tokens as output, at the base model's rate (a tuned model
bills as its base). Prices change: every line says which table date it used, and a price
missing from the table is said to be missing, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .backends._catalogue import PRICES, SOURCES, bare_model

__all__ = ["CostEstimate", "masking_cost", "tuning_cost"]

_MILLION = 1_000_000


@dataclass(frozen=True)
class CostEstimate:
    """Billed tokens and their price in USD (None when the table has no price)."""

    what: str
    tokens: int
    usd: float | None
    rate: str  # the price used, e.g. "$0.10/1M input + $0.40/1M output (prices of 2026-06)"

    def __str__(self) -> str:
        if self.usd is None:
            money = "price unknown"
        elif self.usd >= 0.01:
            money = f"${self.usd:,.2f}"
        else:
            money = f"${self.usd:.4f}"
        return f"{self.what}: {self.tokens:,} tokens, {money} ({self.rate})"


def _dated() -> str:
    return f"prices of {SOURCES['prices'].dated}"


def tuning_cost(
    base_model: str, dataset_tokens: int, epochs: int, *, training_price: float | None = None
) -> CostEstimate:
    """Training tokens x epochs, priced per 1M training tokens (``training_price`` wins)."""
    billed = dataset_tokens * epochs
    price = training_price
    if price is None:
        row = PRICES.get(bare_model(base_model))
        price = row.training if row is not None else None
    if price is None:
        return CostEstimate(
            "training", billed, None,
            f"no training price for {bare_model(base_model)} in the table ({_dated()}): "
            "pass --training-price USD_PER_1M from Google's pricing page",
        )  # fmt: skip
    return CostEstimate("training", billed, billed * price / _MILLION, f"${price:g}/1M tokens")


def masking_cost(base_model: str, prompt_tokens: int, output_tokens: int) -> CostEstimate:
    """Prompt tokens at the input rate, answer + thought tokens at the output rate."""
    tokens = prompt_tokens + output_tokens
    row = PRICES.get(bare_model(base_model))
    if row is None:
        return CostEstimate(
            "masking", tokens, None, f"no price for {bare_model(base_model)} ({_dated()})"
        )
    usd = (prompt_tokens * row.input + output_tokens * row.output) / _MILLION
    rate = f"${row.input:g}/1M in + ${row.output:g}/1M out, {bare_model(base_model)}, {_dated()}"
    return CostEstimate("masking", tokens, usd, rate)
