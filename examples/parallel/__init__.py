"""Parallel fan-out / fan-in with child workflows."""
