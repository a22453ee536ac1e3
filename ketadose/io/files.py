"""Reading input files (or stdin as '-'): regular files only, bounded in size.

A FIFO or a device given as a regimen or patient would block forever (or read without end), so
the type is checked on a descriptor opened with O_NONBLOCK (opening a FIFO that way never
waits) before a byte is read; standard input is read only when asked for by '-'.
"""

from __future__ import annotations

import os
import stat

from ketadose.errors import KetadoseError
from ketadose.io.yamlsrc import MAX_BYTES


def open_regular(path: str):
    """A binary file object for a regular file, or KetadoseError (exit 2) naming the path."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise KetadoseError("no such file", path) from None
    except PermissionError:
        raise KetadoseError("permission denied", path) from None
    except IsADirectoryError:
        raise KetadoseError("is a directory, not a file", path) from None
    except OSError as exc:
        raise KetadoseError(f"cannot read: {exc.strerror}", path) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise KetadoseError("is a directory, not a file", path)
        if not stat.S_ISREG(mode):
            raise KetadoseError("is not a regular file (a FIFO, device or socket); give '-' to "
                                "read standard input", path)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def read_bytes(path: str) -> bytes:
    """Bytes of a file or of stdin ('-'), refusing anything over the size bound."""
    if path == "-":
        from ketadose.io.writer import stdin_buffer

        stream, name = stdin_buffer(), "<stdin>"
    else:
        stream, name = open_regular(path), path
    try:
        raw = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise KetadoseError(f"cannot read: {exc.strerror}", name) from None
    finally:
        if path != "-":
            stream.close()
    if raw is None:  # a non-blocking stdin with nothing to read
        raw = b""
    if len(raw) > MAX_BYTES:
        raise KetadoseError(f"file is larger than {MAX_BYTES // 1024} KiB; refusing to read it", name)
    return raw


def write_atomic(path: str, text: str, force: bool = False) -> None:
    """Write via a temporary file, fsync and link; never overwrite without force."""
    from ketadose.io.writer import write_file

    write_file(path, text, force)
