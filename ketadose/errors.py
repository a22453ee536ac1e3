"""Exception types. Anything ketadose refuses is a KetadoseError; nothing else may escape."""

from __future__ import annotations

import errno


class KetadoseError(Exception):
    """Bad input or usage: one line, exit code 2. ``where`` is ``file:line:col`` if known."""

    exit_code = 2

    def __init__(self, message: str, where: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class UnitError(KetadoseError):
    """A quantity outside the closed vocabulary, without a unit, or not a number."""


class OutOfResources(KetadoseError):
    """The system refused memory, a thread or a process: a limit of the environment (`ulimit -v`,
    a container's memory), not our bug. One line saying what ran out, exit 2, as for other bad
    input from outside (a --jobs run reaches such a limit before one process does: each worker
    is a process, and has a thread of its own)."""

    @classmethod
    def of(cls, exc: BaseException, jobs: bool = False) -> OutOfResources | None:
        """The failure ``exc`` is, when it is the system refusing a resource (``jobs``: in a
        --jobs run); None otherwise."""
        if isinstance(exc, OutOfResources):
            return exc
        if isinstance(exc, MemoryError):
            what = "out of memory"
        elif isinstance(exc, RuntimeError) and "can't start new thread" in str(exc):
            what = f"out of memory or threads: {exc}"  # the message of CPython 3.9 to 3.13
        elif isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
            what = f"out of memory: {exc.strerror}"
        elif isinstance(exc, ImportError) and any(
                text in str(exc) for text in _NO_ROOM_TO_LOAD):
            what = f"out of memory: cannot load {exc.name or 'a module'}"
        else:
            return None
        where = " in a --jobs worker" if jobs else ""
        hint = "raise the limit, or run with fewer --jobs" if jobs else "raise the limit"
        return cls(f"{what}{where}{_address_space()}; {hint}")


# glibc's dlopen() errors when the library's segments could not be mapped: a compiled module
# (unicodedata, a library's extension) imported under a memory limit
_NO_ROOM_TO_LOAD = ("failed to map segment from shared object", "Cannot allocate memory")


def _address_space() -> str:
    """The address-space limit (`ulimit -v`), when one is set."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    except Exception:  # not on every system; or no memory left to load it
        return ""
    if soft == resource.RLIM_INFINITY:
        return ""
    return f" (this process may use {soft >> 10:,} KiB of address space: `ulimit -v`)"
