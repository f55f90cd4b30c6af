"""Every sandbox test gets its own workspaces directory (the on-disk sandbox index lives there)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from polos.sandbox import manager as sandbox_manager


@pytest.fixture(autouse=True)
def _workspaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "workspaces"
    monkeypatch.setenv("POLOS_WORKSPACES_DIR", str(root))
    monkeypatch.setattr(sandbox_manager, "_manager", None)
    yield root


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws
