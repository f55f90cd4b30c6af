"""Benchmarks of the Polos runtime (see bench/README.md).  Run ``python -m bench.<name> --db sqlite|postgres``."""
