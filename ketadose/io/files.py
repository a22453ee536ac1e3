"""Reading input files (or stdin) and writing output files atomically."""

from __future__ import annotations

import os
import sys

from ketadose.errors import KetadoseError
from ketadose.io.yamlsrc import MAX_BYTES


def read_bytes(path: str) -> bytes:
    """Bytes of a file or of stdin ('-'), refusing anything over the size bound."""
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_BYTES + 1)
        else:
            if os.path.isdir(path):
                raise KetadoseError("is a directory, not a file", path)
            with open(path, "rb") as fh:
                raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise KetadoseError("no such file", path) from None
    except PermissionError:
        raise KetadoseError("permission denied", path) from None
    except OSError as exc:
        raise KetadoseError(f"cannot read: {exc.strerror}", path) from None
    if len(raw) > MAX_BYTES:
        raise KetadoseError(f"file is larger than {MAX_BYTES // 1024} KiB; refusing to read it",
                            "<stdin>" if path == "-" else path)
    return raw


def write_atomic(path: str, text: str, force: bool = False) -> None:
    """Write via a temporary file and rename; never overwrite without force."""
    import tempfile

    if os.path.exists(path) and not force:
        raise KetadoseError("exists; use --force to overwrite it", path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".ketadose-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        if not force and os.path.exists(path):
            raise KetadoseError("exists; use --force to overwrite it", path)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
