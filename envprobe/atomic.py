"""Write a file so that no reader, thread or later run ever sees it half written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(path: Path, data: bytes, *, keep_mode: bool = False) -> None:
    """Replace `path` with `data` in one rename; `keep_mode` keeps an existing file's mode.

    The temporary file is opened like any new file, so it gets the user's
    umask rather than a private 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # os.urandom, not `secrets` (its import, hmac and base64, is paid before a probe's install)
    temporary = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    try:
        with open(temporary, "xb") as stream:
            stream.write(data)
        if keep_mode and path.exists():
            shutil.copymode(path, temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
