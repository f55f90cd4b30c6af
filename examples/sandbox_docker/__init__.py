"""Example package (see README.md)."""
