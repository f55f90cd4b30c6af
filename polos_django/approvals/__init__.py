"""Approval pages: a signed, expiring, single-use link per suspend, rendered from its ``_form``.

``links`` signs and reads the tokens; ``forms`` turns a ``_form`` into a Django form; ``display``
shapes the ``context`` for reading; ``service`` looks suspends up and answers them (recording who
answered); ``views``/``urls`` serve the pages (``polos_django.urls`` includes them).
"""
