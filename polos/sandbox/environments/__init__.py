"""Sandbox environments: Docker containers, local processes (bubblewrap), E2B cloud sandboxes."""

from __future__ import annotations

from .base import ExecutionEnvironment
from .docker import DockerEnvironment
from .e2b import E2BEnvironment
from .local import LocalEnvironment, bubblewrap_available

__all__ = ["DockerEnvironment", "E2BEnvironment", "ExecutionEnvironment", "LocalEnvironment", "bubblewrap_available"]
