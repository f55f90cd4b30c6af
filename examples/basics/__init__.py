"""Workflow basics: steps, retries, child workflows, deterministic values."""
