"""An agent with tools: it looks up the weather and converts units before answering."""

from __future__ import annotations

from pydantic import BaseModel, Field

from polos import Agent, WorkflowContext, tool


class CityInput(BaseModel):
    city: str = Field(description="City name, e.g. 'Paris'")


class Celsius(BaseModel):
    celsius: float


# A real tool would call a weather API; this one knows three cities.
WEATHER = {"paris": (21.0, "sunny"), "oslo": (4.0, "rain"), "lima": (17.0, "cloudy")}


@tool(id="agents_tools_get_weather", description="Current temperature (Celsius) and conditions in a city")
async def get_weather(ctx: WorkflowContext, input: CityInput) -> dict:
    temperature, conditions = WEATHER.get(input.city.lower(), (15.0, "unknown"))
    return {"city": input.city, "celsius": temperature, "conditions": conditions}


@tool(id="agents_tools_to_fahrenheit", description="Convert Celsius to Fahrenheit")
def to_fahrenheit(ctx: WorkflowContext, input: Celsius) -> float:
    return round(input.celsius * 9 / 5 + 32, 1)


weather_agent = Agent(
    id="agents_tools_weather",
    provider="anthropic",
    model="claude-sonnet-4-5",
    system_prompt="You answer weather questions. Use the tools; give temperatures in Celsius and Fahrenheit.",
    tools=[get_weather, to_fahrenheit],
)
