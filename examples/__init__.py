"""Runnable examples of polos-django workflows (see ``examples/README.md``)."""
