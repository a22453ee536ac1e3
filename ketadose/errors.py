"""Exception types. Anything ketadose refuses is a KetadoseError; nothing else may escape."""

from __future__ import annotations

import errno
import os


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
        what = refused(exc)
        if what is None:
            return None
        where = " in a --jobs worker" if jobs else ""
        hint = "raise the limit, or run with fewer --jobs" if jobs else "raise the limit"
        return cls(f"{what}{where}{_address_space()}; {hint}")


def refused(exc: BaseException | None) -> str | None:
    """What the system refused (memory, a thread), when ``exc`` or an error raised while
    handling it says so (hashlib's import of OpenSSL's hashes failed, then its fallback's
    import); None otherwise. Also the launcher's test, at the last moment (ketadose.launch):
    it uses nothing that is not loaded already but `resource`, whose failure it survives."""
    for _depth in range(20):
        if exc is None:
            break
        what = _refused(exc)
        if what is not None:
            return what
        exc = exc.__cause__ or exc.__context__
    return None


def _refused(exc: BaseException) -> str | None:
    """What the system refused, when ``exc`` itself says it did; None otherwise."""
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, RuntimeError) and "can't start new thread" in str(exc):
        return f"out of memory or threads: {exc}"  # the message of CPython 3.9 to 3.13
    if isinstance(exc, SystemError) and "without" in str(exc) and _memory_limited():
        # "returned NULL without setting an exception", "error return without exception set":
        # CPython's word for a C function (compile(), an extension) whose allocation failed,
        # seen under `ulimit -v` only
        return "out of memory"
    if isinstance(exc, OSError) and exc.errno == errno.ENOMEM:
        # Python 3.10 under `ulimit -v`: the import system's listdir() of a package, mmap()
        # (3.11 raises MemoryError at the same points)
        return f"out of memory: {exc.strerror}"
    if isinstance(exc, SyntaxError) and _ours(exc.filename) and _memory_limited():
        # Python 3.10's parser, refused memory while it compiles one of our modules (no .pyc
        # yet), can say "expected ':'" at a line that is well formed: ours are (the tests
        # import every one), so under a memory limit it is the limit speaking
        return "out of memory"
    if isinstance(exc, ImportError) and any(text in str(exc) for text in _NO_ROOM_TO_LOAD):
        return f"out of memory: cannot load {exc.name or 'a module'}"
    return None


# glibc's dlopen() errors when the library's segments could not be mapped: a compiled module
# (unicodedata, a library's extension) imported under a memory limit
_NO_ROOM_TO_LOAD = ("failed to map segment from shared object", "Cannot allocate memory")


def _ours(filename: str | None) -> bool:
    """Whether ``filename`` is a module of this package."""
    if not filename:
        return False
    folder = os.path.dirname(os.path.abspath(filename))
    return folder == _PACKAGE or folder.startswith(_PACKAGE + os.sep)


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _memory_limited() -> bool:
    """An address-space or data-size limit is set (`ulimit -v`, `ulimit -d`); also when that
    cannot be known (no `resource` module, or no memory left to load it)."""
    try:
        import resource

        return any(resource.getrlimit(limit)[0] != resource.RLIM_INFINITY
                   for limit in (resource.RLIMIT_AS, resource.RLIMIT_DATA))
    except Exception:
        return True


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
