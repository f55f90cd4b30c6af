"""Structured output: the agent's answer is validated into a pydantic model."""

from __future__ import annotations

from pydantic import BaseModel, Field

from polos import Agent


class Recipe(BaseModel):
    title: str
    servings: int = Field(ge=1)
    ingredients: list[str]
    minutes: int = Field(ge=1, description="Total preparation time")


recipe_agent = Agent(
    id="agents_structured_recipe",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You write short recipes.",
    output_schema=Recipe,
)
