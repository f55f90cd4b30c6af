"""The sandbox's pure rules: allowlist matching, workspace paths, output handling, glob/grep."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from polos.sandbox.errors import PathNotAllowedError, SandboxConfigError, SandboxFileError
from polos.sandbox.files import glob_files, glob_regex, grep_files
from polos.sandbox.manager import parse_duration, sandbox_id_for
from polos.sandbox.output import clean_output, is_binary, strip_ansi, truncate
from polos.sandbox.process import BoundedBuffer, parse_size
from polos.sandbox.security import Workspace, allowlist_match, exact_pattern, has_shell_metachars

pytestmark = pytest.mark.once


# --- allowlist ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "allowlist", "expected"),
    [
        ("git status", ["git status"], "git status"),
        ("git log --oneline -5", ["git *"], "git *"),
        ("  ls -la  ", ["ls *"], "ls *"),
        ("ls", ["ls*"], "ls*"),
        ("npm test", ["ls *", "npm test"], "npm test"),
        ("node hello.js", ["node ?????.js"], "node ?????.js"),
        ("npm test | tee log.txt", ["npm test | tee *"], "npm test | tee *"),
        ("make && make install", ["make && make install"], "make && make install"),
        ("echo *", [r"echo \*"], r"echo \*"),
    ],
)
def test_allowlist_allows(command: str, allowlist: list[str], expected: str) -> None:
    assert allowlist_match(command, allowlist) == expected


@pytest.mark.parametrize(
    ("command", "allowlist"),
    [
        ("git push", ["git status"]),
        ("", ["*"]),
        ("rm -rf /", ["ls *"]),
        ("gitx status", ["git *"]),
        ("echo hi", [r"echo \*"]),
        ("npm test | sh", ["npm test | tee *"]),
        ("npm test | tee x; id", ["npm test | tee *"]),
    ],
)
def test_allowlist_refuses(command: str, allowlist: list[str]) -> None:
    assert allowlist_match(command, allowlist) is None


def test_wildcards_never_match_metacharacters() -> None:
    for meta in [";", "&", "|", "$", "`", "<", ">", "(", ")", "\n", "\r"]:
        assert has_shell_metachars(f"ls {meta} x")
        assert allowlist_match(f"ls {meta} x", ["ls *", "*"]) is None, meta


def test_exact_pattern_matches_only_the_command() -> None:
    pattern = exact_pattern("ls *.py")
    assert allowlist_match("ls *.py", [pattern]) == pattern
    assert allowlist_match("ls a.py", [pattern]) is None
    assert allowlist_match("ls *.py; id", [pattern]) is None


# --- workspace paths -----------------------------------------------------------------------------


def test_workspace_resolves_inside_and_outside(workspace: Path) -> None:
    ws = Workspace(str(workspace))
    root = os.path.realpath(workspace)
    assert ws.resolve("a/b.txt").path == os.path.join(root, "a", "b.txt")
    assert ws.resolve("a/../b.txt").inside
    assert not ws.resolve("../b.txt").inside
    assert not ws.resolve("/etc/passwd").inside
    assert ws.resolve(os.path.join(root, "x")).inside
    # A sibling whose name starts with the workspace's name is outside.
    assert not ws.resolve(root + "-evil/x").inside


def test_workspace_refuses_symlink_escapes(workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("s")
    (workspace / "link").symlink_to(outside)
    (workspace / "inner").symlink_to(workspace)
    ws = Workspace(str(workspace))
    with pytest.raises(PathNotAllowedError, match="symlink"):
        ws.resolve("link/secret")
    assert ws.resolve("inner/x").inside  # a symlink that stays inside is fine
    with pytest.raises(PathNotAllowedError):
        ws.resolve("bad\x00name")
    with pytest.raises(PathNotAllowedError):
        ws.resolve("")


def test_open_beneath_never_follows_a_symlink(workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    ws = Workspace(str(workspace))
    target = ws.resolve("dir/file.txt").path
    (workspace / "dir").symlink_to(outside)  # swapped in after the check (a race)
    with pytest.raises(PathNotAllowedError):
        ws.open_beneath(target, os.O_WRONLY | os.O_CREAT)
    assert not (outside / "file.txt").exists()


# --- output ----------------------------------------------------------------------------------------


def test_truncation_keeps_head_and_tail() -> None:
    text = "HEAD" + "x" * 10_000 + "TAIL"
    out, truncated = truncate(text, 200)
    assert truncated and out.startswith("HEAD") and out.endswith("TAIL")
    assert "characters truncated" in out and len(out) <= 200
    assert truncate("short", 200) == ("short", False)


def test_ansi_is_stripped() -> None:
    assert strip_ansi("\x1b[31mred\x1b[0m \x1b]0;title\x07ok \x1b[2K") == "red ok "
    assert clean_output(b"\x1b[1mbold\x1b[0m", 100) == ("bold", False)


def test_binary_detection() -> None:
    assert is_binary(b"\x7fELF\x00\x01")
    assert is_binary(b"\xff\xfe\xfa garbage")
    assert not is_binary("héllo wörld".encode())
    assert not is_binary(b"")


def test_bounded_buffer_keeps_both_ends() -> None:
    buffer = BoundedBuffer(1024)
    buffer.feed(b"A" * 1024)
    for _ in range(100):
        buffer.feed(b"." * 1000)
    buffer.feed(b"Z" * 10)
    value = buffer.value()
    assert value.startswith(b"A" * 1024) and value.endswith(b"Z" * 10)
    assert len(value) < 4000 and buffer.total == 1024 + 100_000 + 10
    text, truncated = clean_output(value, 500, buffer.dropped)
    assert truncated and f"[... {len(value) - 500 + buffer.dropped} characters truncated ...]" in text


def test_sizes_and_durations() -> None:
    assert parse_size("512m", "x") == 512 * 1024**2
    assert parse_size("2g", "x") == 2 * 1024**3
    with pytest.raises(SandboxConfigError, match="512m"):
        parse_size("lots", "x")
    assert parse_duration("30m") == 1800
    assert parse_duration("2s") == 2
    with pytest.raises(SandboxConfigError):
        parse_duration("soon")


def test_sandbox_ids_are_stable_and_distinct() -> None:
    a = sandbox_id_for("default", "execution", "exec-1", "p")
    assert a == sandbox_id_for("default", "execution", "exec-1", "p")
    assert a != sandbox_id_for("other", "execution", "exec-1", "p")
    assert a != sandbox_id_for("default", "session", "exec-1", "p")
    assert a != sandbox_id_for("default", "execution", "exec-2", "p")


# --- glob and grep -------------------------------------------------------------------------------


def test_glob_patterns() -> None:
    assert glob_regex("**/*.py").match("a/b/c.py")
    assert glob_regex("**/*.py").match("c.py")
    assert not glob_regex("*.py").match("a/c.py")
    assert glob_regex("src/**").match("src/a/b")
    assert glob_regex("file?.[tj]s").match("file1.ts")


def test_glob_and_grep_stay_in_the_tree(workspace: Path, tmp_path: Path) -> None:
    (workspace / "src").mkdir()
    (workspace / "src" / "a.py").write_text("import os\nprint('hello')\n")
    (workspace / "b.js").write_text("console.log('hello')\n")
    (workspace / "bin.dat").write_bytes(b"\x00hello")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text("hello secret\n")
    (workspace / "escape").symlink_to(outside)
    assert glob_files(str(workspace), "**/*.py") == ["src/a.py"]
    assert glob_files(str(workspace), "**/*", ignore=["*.dat"]) == ["b.js", "escape", "src/a.py"]
    matches = grep_files(str(workspace), "hel+o", context_lines=1)
    assert sorted(m.path for m in matches) == ["b.js", "src/a.py"]
    assert [m.line for m in matches if m.path == "src/a.py"] == [2]
    assert grep_files(str(workspace), "hello", include=["*.js"])[0].path == "b.js"
    with pytest.raises(SandboxFileError, match="regular expression"):
        grep_files(str(workspace), "(unclosed")
