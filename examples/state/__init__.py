"""Durable workflow state (``state_schema`` and ``ctx.state``)."""
