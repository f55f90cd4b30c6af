"""The built-in providers (imported lazily through :func:`polos.llm.get_provider`)."""
