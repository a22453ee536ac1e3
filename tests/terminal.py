"""Reading what a program wrote to a pseudo-terminal (the pty tests of the shell and the layout)."""

from __future__ import annotations

import os
import select
import time


def drain(fd: int, timeout: float) -> bytes:
    """Everything written to the pty's master ``fd`` until the program closes it (EOF, or EIO
    on Linux once the child has gone) or ``timeout`` seconds pass."""
    out, deadline = b"", time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out
