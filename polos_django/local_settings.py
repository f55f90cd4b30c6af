"""The local connection settings the server writes for clients on the same machine.

The reader lives in the SDK (:mod:`polos.local`, standard library only) so that ``PolosClient`` can
use it without Django; this module re-exports it for the runtime.
"""

from __future__ import annotations

from polos.local import (
    LOCAL_FILE,
    LocalSettings,
    local_settings_path,
    polos_home,
    read_local_settings,
    write_local_settings,
)

__all__ = [
    "LOCAL_FILE",
    "LocalSettings",
    "local_settings_path",
    "polos_home",
    "read_local_settings",
    "write_local_settings",
]
