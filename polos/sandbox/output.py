"""Command output handling: decoding, ANSI stripping, truncation, binary detection."""

from __future__ import annotations

import re

# CSI sequences (colours, cursor moves), OSC sequences (titles, hyperlinks), and lone two-byte escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
BINARY_SNIFF_BYTES = 8192


def strip_ansi(text: str) -> str:
    """Remove terminal escape sequences (and carriage-return progress redraws' escapes)."""
    return _ANSI.sub("", text)


def decode(data: bytes) -> str:
    """Decode command output as UTF-8, replacing undecodable bytes."""
    return data.decode("utf-8", errors="replace")


def truncate(text: str, max_chars: int, dropped: int = 0) -> tuple[str, bool]:
    """Keep the head and the tail of ``text`` within ``max_chars``, with a marker in between.

    The tail usually holds the error and the head the command's context, so both are kept.
    ``dropped`` counts characters already left out of the middle of ``text`` (never captured).
    """
    if max_chars <= 0 or (len(text) <= max_chars and not dropped):
        return text, False
    omitted = max(0, len(text) - max_chars) + dropped
    marker = f"\n\n[... {omitted} characters truncated ...]\n\n"
    keep = max(0, max_chars - len(marker))
    head = keep // 2
    tail = keep - head
    return text[:head] + marker + (text[-tail:] if tail else ""), True


def clean_output(data: bytes | str, max_chars: int, dropped: int = 0) -> tuple[str, bool]:
    """Decode, strip ANSI and truncate one output stream (``dropped``: bytes never captured)."""
    text = decode(data) if isinstance(data, bytes) else data
    return truncate(strip_ansi(text), max_chars, dropped)


def is_binary(sample: bytes) -> bool:
    """Whether bytes are binary: a NUL byte or invalid UTF-8 in the first 8 KiB."""
    chunk = sample[:BINARY_SNIFF_BYTES]
    if not chunk:
        return False
    if b"\x00" in chunk:
        return True
    try:
        chunk.decode("utf-8")
        return False
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sample is still text.
        if exc.start >= len(chunk) - 3 and len(sample) > BINARY_SNIFF_BYTES:
            return False
    return True


__all__ = ["clean_output", "decode", "is_binary", "strip_ansi", "truncate"]
