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
        what = None
        cause: BaseException | None = exc
        for _depth in range(20):  # or an error raised while handling one (hashlib's import
            if cause is None:     # of OpenSSL's hashes failed, then its fallback's import)
                break
            what = _refused(cause)
            if what is not None:
                break
            cause = cause.__cause__ or cause.__context__
        if what is None:
            return None
        where = " in a --jobs worker" if jobs else ""
        hint = "raise the limit, or run with fewer --jobs" if jobs else "raise the limit"
        return cls(f"{what}{where}{_address_space()}; {hint}")


def _refused(exc: BaseException) -> str | None:
    """What the system refused, when ``exc`` says it did; None otherwise."""
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, RuntimeError) and "can't start new thread" in str(exc):
        return f"out of memory or threads: {exc}"  # the message of CPython 3.9 to 3.13
    if isinstance(exc, SystemError) and "without" in str(exc) and _address_space():
        # "returned NULL without setting an exception", "error return without exception set":
        # CPython's word for a C function (compile(), an extension) whose allocation failed,
        # seen under `ulimit -v` only
        return "out of memory"
    if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
        return f"out of memory: {exc.strerror}"
    if isinstance(exc, ImportError) and any(text in str(exc) for text in _NO_ROOM_TO_LOAD):
        return f"out of memory: cannot load {exc.name or 'a module'}"
    return None


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
