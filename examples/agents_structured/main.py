"""Structured output: ``python -m examples.agents_structured.main``."""

from __future__ import annotations

from typing import Any

from ..agents_offline import run_example
from .agents import Recipe, recipe_agent

# Offline, the model first answers in prose; the agent asks once more for JSON matching the schema.
SCRIPT = [
    "Pancakes are easy: flour, milk and eggs!",
    '{"title": "Pancakes", "servings": 4, "ingredients": ["flour", "milk", "eggs"], "minutes": 20}',
]


async def main(client: Any) -> dict[str, Any]:
    result = await recipe_agent.run(client, "A recipe for pancakes for four people.")
    recipe = result.result
    assert isinstance(recipe, Recipe)
    return {"recipe": recipe.model_dump(), "schema": result.result_schema, "steps": result.total_steps}


if __name__ == "__main__":
    run_example(main, SCRIPT)
