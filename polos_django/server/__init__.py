"""The bundled Django project that ``polos server start`` runs (settings from the environment).

This package imports nothing: the supervisor in :mod:`.supervisor` stays free of Django.  The
Celery app is created by :mod:`.settings` so every process that loads the settings has it.
"""
