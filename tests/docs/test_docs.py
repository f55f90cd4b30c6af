"""The documentation runs as written.

Every ```python block in ``docs/*.md`` is a complete program, run in a fresh ``python`` process (no
Django settings, so it shows what a reader gets).  A block whose preceding line is
``<!-- not-runnable: <reason> -->`` needs a Django project or a worker; it is only compiled.
The reference pages are also checked against the code: every ``POLOS`` key with its default, every
exception with its ``code``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import polos.exceptions

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
MARKER = re.compile(r"^<!--\s*not-runnable(?::\s*(?P<reason>.*?))?\s*-->$")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    not_runnable: str | None  # the reason, when marked

    @property
    def id(self) -> str:
        return f"{self.path.name}:{self.line}"


def python_blocks(path: Path) -> list[Block]:
    blocks = []
    lines = path.read_text().splitlines()
    index = 0
    while index < len(lines):
        if lines[index].strip() == "```python":
            start = index
            index += 1
            body = []
            while index < len(lines) and lines[index].strip() != "```":
                body.append(lines[index])
                index += 1
            if index == len(lines):
                raise AssertionError(f"{path.name}:{start + 1}: unclosed ```python block")
            previous = lines[start - 1].strip() if start > 0 else ""
            match = MARKER.match(previous)
            reason = None
            if match:
                reason = match.group("reason") or ""
            blocks.append(Block(path, start + 1, "\n".join(body) + "\n", reason))
        index += 1
    return blocks


PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]
ALL_BLOCKS = [block for path in PAGES for block in python_blocks(path)]
RUNNABLE = [b for b in ALL_BLOCKS if b.not_runnable is None]
NOT_RUNNABLE = [b for b in ALL_BLOCKS if b.not_runnable is not None]


def test_the_docs_have_examples():
    assert len(RUNNABLE) >= 20
    assert {b.path.name for b in RUNNABLE} >= {"quickstart.md", "workflows.md", "testing.md", "errors.md"}


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: b.id)
def test_block_runs(block: Block):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "POLOS_"))}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-c", block.code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"{block.id} failed:\n{proc.stderr[-4000:]}"


@pytest.mark.parametrize("block", NOT_RUNNABLE, ids=lambda b: b.id)
def test_not_runnable_block_says_why_and_compiles(block: Block):
    assert block.not_runnable, f"{block.id}: write the reason: <!-- not-runnable: <why> -->"
    compile(block.code, block.id, "exec")


def _documented_default(value: Any) -> str:
    if isinstance(value, str | list):
        return f"`{json.dumps(value)}`"
    return f"`{value!r}`"


def test_every_polos_setting_is_documented_with_its_default():
    from polos_django.conf import DEFAULTS

    rows = {}
    for line in (DOCS / "configuration.md").read_text().splitlines():
        match = re.match(r"^\| `([A-Z_]+)` \|(.*)$", line)
        if match:
            rows[match.group(1)] = match.group(2)
    assert set(rows) == set(DEFAULTS), "docs/configuration.md lists other keys than polos_django.conf.DEFAULTS"
    for key, default in DEFAULTS.items():
        cells = [c.strip() for c in rows[key].split("|")]
        assert cells[0] == _documented_default(default), f"{key}: documented default {cells[0]}, actual {default!r}"


def test_every_exception_is_documented_with_its_code():
    text = (DOCS / "errors.md").read_text()
    for name in polos.exceptions.__all__:
        cls = getattr(polos.exceptions, name)
        assert f"`{name}`" in text or f"── {name}" in text, f"{name} is not in docs/errors.md"
        if issubclass(cls, polos.exceptions.PolosError):
            assert re.search(rf"`{name}` \| `{cls.code}` \|", text) or name == "PolosError", (
                f"docs/errors.md: no table row for {name} with code {cls.code!r}"
            )
            assert re.search(rf"── {name}\s+{cls.code}\n", text) or re.search(rf"└── {name}\s+{cls.code}", text), (
                f"docs/errors.md: the tree does not show {name} with code {cls.code!r}"
            )


def test_relative_links_resolve():
    for path in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            assert (path.parent / target).exists(), f"{path.name}: broken link {target}"
