"""Prices of known models, to report the cost of a call or a run.

Prices are US dollars per million tokens, as the vendors list them.  A model is matched by its
exact name or by the longest known prefix followed by ``-`` (so dated snapshots such as
``claude-sonnet-4-5-20250929`` or ``gpt-4o-2024-08-06`` are priced like their family).  Unknown
models have no price: :func:`cost_usd` returns ``None`` rather than guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .types import LLMUsage


@dataclass(frozen=True)
class ModelPrice:
    """US dollars per million tokens."""

    input: float
    output: float
    cache_read: float
    cache_write: float


def _anthropic(input_price: float, output_price: float) -> ModelPrice:
    # Anthropic: 5-minute cache writes cost 1.25x input, cache reads 0.1x.
    return ModelPrice(input_price, output_price, input_price * 0.1, input_price * 1.25)


def _openai(input_price: float, output_price: float, cached: float) -> ModelPrice:
    # OpenAI caches automatically: writes cost nothing extra.
    return ModelPrice(input_price, output_price, cached, input_price)


_PRICES: dict[str, ModelPrice] = {
    "claude-opus-4-5": _anthropic(5.0, 25.0),
    "claude-opus-4-1": _anthropic(15.0, 75.0),
    "claude-opus-4": _anthropic(15.0, 75.0),
    "claude-sonnet-4-5": _anthropic(3.0, 15.0),
    "claude-sonnet-4": _anthropic(3.0, 15.0),
    "claude-3-7-sonnet": _anthropic(3.0, 15.0),
    "claude-3-5-sonnet": _anthropic(3.0, 15.0),
    "claude-haiku-4-5": _anthropic(1.0, 5.0),
    "claude-3-5-haiku": _anthropic(0.8, 4.0),
    "claude-3-haiku": _anthropic(0.25, 1.25),
    "gpt-5": _openai(1.25, 10.0, 0.125),
    "gpt-5-mini": _openai(0.25, 2.0, 0.025),
    "gpt-5-nano": _openai(0.05, 0.4, 0.005),
    "gpt-4.1": _openai(2.0, 8.0, 0.5),
    "gpt-4.1-mini": _openai(0.4, 1.6, 0.1),
    "gpt-4.1-nano": _openai(0.1, 0.4, 0.025),
    "gpt-4o": _openai(2.5, 10.0, 1.25),
    "gpt-4o-mini": _openai(0.15, 0.6, 0.075),
    "o3": _openai(2.0, 8.0, 0.5),
    "o4-mini": _openai(1.1, 4.4, 0.275),
    "o1": _openai(15.0, 60.0, 7.5),
}


def register_price(
    model: str,
    *,
    input: float,
    output: float,
    cache_read: float | None = None,
    cache_write: float | None = None,
) -> None:
    """Set the price of ``model`` (and of its dated snapshots), in US dollars per million tokens.

    Cache prices default to the input price.
    """
    _PRICES[model] = ModelPrice(
        input,
        output,
        input if cache_read is None else cache_read,
        input if cache_write is None else cache_write,
    )


def price_of(model: str) -> ModelPrice | None:
    """The price of ``model``, or ``None`` when it is not known."""
    name = model.rsplit("/", 1)[-1].lower()  # "anthropic/claude-..." style names
    best: str | None = None
    for known in _PRICES:
        if (name == known or name.startswith(known + "-")) and (best is None or len(known) > len(best)):
            best = known
    return _PRICES[best] if best is not None else None


def cost_usd(model: str, usage: LLMUsage) -> float | None:
    """The price in US dollars of ``usage`` on ``model``, or ``None`` for an unknown model."""
    price = price_of(model)
    if price is None:
        return None
    total = (
        usage.input_tokens * price.input
        + usage.output_tokens * price.output
        + usage.cache_read_tokens * price.cache_read
        + usage.cache_creation_tokens * price.cache_write
    )
    return round(total / 1_000_000, 10)


__all__ = ["ModelPrice", "cost_usd", "price_of", "register_price"]
