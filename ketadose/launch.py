"""The console script's entry point. `ketadose --help` and `ketadose --version` are answered
from stored text without importing click (about 60% of that start-up: issue 18 asks for a help
under 50 ms); the plain forms of `validate FILE...` and `simulate ID` run without click too
(ketadose.fastpath); every other command line goes to the click interface (ketadose.cli).

The stored help (ketadose/_help.py) is click's own rendering at the standard width: a test
(tests/test_launch.py) renders it again through click and fails when a command or a help line
changed without regenerating it (`KETADOSE_UPDATE_GOLDEN=1 pytest tests/test_launch.py`).
Narrower terminals than click's 80-column maximum wrap differently: there click answers.
"""

from __future__ import annotations

import errno
import io
import os
import signal
import sys
from typing import NoReturn

# loaded now, with everything else the last-moment handler in main() needs: when it runs there
# may be no memory to load a module
from ketadose.errors import OutOfResources, _memory_limited, refused

HELP_WIDTH = 80  # click's default max_content_width


def _columns() -> int:
    """The terminal width as click measures it (shutil.get_terminal_size, without shutil)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    if sys.__stdout__ is None:
        return HELP_WIDTH
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or HELP_WIDTH
    except (AttributeError, ValueError, OSError):
        return HELP_WIDTH


def _stored_answer(args: list) -> str | None:
    if args in (["--help"], ["-h"]) and _columns() >= HELP_WIDTH:
        from ketadose._help import HELP

        return HELP
    if args in (["--version"], ["-V"]):
        from ketadose import __version__

        return f"ketadose, version {__version__}\n"
    return None


def main(argv=None):
    try:
        _main(argv)
    except SystemExit:
        raise
    except BaseException as exc:
        # the system refused memory (`ulimit -v`) where no handler of ours stood, or inside
        # one (cli.main's own handler may need memory to word its message, and fails with
        # another error whose context is the MemoryError; Python 3.10 says OSError ENOMEM
        # or an ImportError where 3.11 says MemoryError): one line, exit 2, not a traceback
        try:
            limit = refused(exc) is not None
        except MemoryError:  # not even the memory to look: that says it
            limit = True
        if limit:
            line = _OUT_OF_MEMORY
            try:
                line = _out_of_memory(exc)
            except BaseException:  # no memory for that call either (3.10: its frame)
                pass
            _last_words(line)
        raise


def _quiet_stdlib_logging_under_a_limit() -> None:
    """Under a memory limit (`ulimit -v`), hashlib's import, refused the memory to load a
    hash's module, logs a traceback for each hash through logging's last-resort handler
    (stderr) before its import fails, and the one line that says what ran out then comes after
    70 lines of tracebacks (seen with --jobs, tests/test_batch_shell_review). ketadose logs
    nothing of its own: under a limit the root logger gets a handler that drops records, so
    the last resort is not used. Without a limit nothing changes (logging is not imported)."""
    if not _memory_limited():
        return
    try:
        import logging

        logging.getLogger().addHandler(logging.NullHandler())
    except (MemoryError, ImportError):  # no room for logging: hashlib cannot log either
        pass


def _main(argv=None):
    args = sys.argv[1:] if argv is None else list(argv)
    whole_writes_to_stdout()
    best_effort_stderr()
    text = _stored_answer(args)
    if text is None:
        from ketadose.codecache import install
        from ketadose.fastpath import run_fast

        install()  # before the first dataclass is made: precompiled methods (start-up)
        _quiet_stdlib_logging_under_a_limit()

        run_fast(args)  # exits when it answers; returns for anything it does not handle
        from ketadose.cli import main as cli_main

        cli_main(argv)
        return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `ketadose --help | head -1`: as the click path does
        quiet_stdout()
        sys.exit(141)
    except OSError as exc:  # `ketadose --help > /dev/full`: the environment's, not our bug
        if exc.errno not in WRITE_FAILURES:
            raise
        quiet_stdout()
        sys.stderr.write(f"ketadose: error: {stdout_failure(exc)}\n")
        sys.exit(2)
    sys.exit(0)


WRITE_FAILURES = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO, errno.EROFS,
                            errno.EBADF})
"""Errors of a write that the system refused (a full disk, `ulimit -f`, a quota, a failing
device, a standard output opened for reading (`1<file`) or closed (`>&-`)): input of the environment (exit 2), never a bug of ours (exit 3). The commands' own
output goes through ketadose.io.writer, which names its file; these reach the entry points from
what click or the stored answers write straight to standard output (a command's --help)."""


def stdout_failure(exc: OSError) -> str:
    """The one-line message for a refused write to standard output, worded as
    ketadose.io.writer words its own (`<stdout>: cannot write: No space left on device`)."""
    return f"{exc.filename or '<stdout>'}: cannot write: {exc.strerror or exc}"


class _WholeWrites(io.RawIOBase):
    """A file descriptor written whole or not at all: a write the system cuts short (a disk
    filling up, `ulimit -f`) is tried again for the rest, which then fails with its error.

    Python's own sys.stdout loses the rest silently: its BufferedWriter returns the short count
    and its TextIOWrapper ignores it, so `ketadose --help > file` at a full disk printed part of
    the help with exit 0 (3.11, 3.12 and 3.13 alike). ketadose.io.writer loops on short writes
    itself; this covers what click and the stored answers write through sys.stdout."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        # a regular file: where our bytes there begin and end (see _undo); None: not known yet
        self._floor: int | None = None
        self._end = -1

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        done = 0
        try:
            while done < len(view):
                n = os.write(self._fd, view[done:])
                done += n
                self._wrote(n)
        except OSError:
            self._undo()
            raise
        return done

    def _wrote(self, n: int) -> None:
        """Note where this write ended in a regular file (one lseek; a pipe or a terminal
        refuses it, and is then never asked again)."""
        if self._floor == -1 or n == 0:
            return
        try:
            end = os.lseek(self._fd, 0, os.SEEK_CUR)
        except OSError:
            self._floor = -1  # not seekable: what was sent stays sent
            return
        if self._floor is None or end - n != self._end:
            self._floor = end - n  # our first bytes, or someone else wrote since: keep theirs
        self._end = end

    def _undo(self) -> None:
        """A write failed (`ulimit -f`, a full disk): cut a regular file back to where our
        output began, so that a failed `--help > file` leaves no cut help there (as
        ketadose.io.writer.Rollback does for a document). What the file held before, and a
        file that does not end with our last bytes (another writer appended), are left alone."""
        floor = self._floor
        if floor is None or floor < 0:
            return
        try:
            import stat

            st = os.fstat(self._fd)
            if (stat.S_ISREG(st.st_mode) and st.st_size == self._end
                    and os.lseek(self._fd, 0, os.SEEK_CUR) == self._end):
                os.ftruncate(self._fd, floor)
                os.lseek(self._fd, floor, os.SEEK_SET)
                self._end = floor
        except OSError:  # not truncatable after all: the run fails as it would have
            pass

    def close(self) -> None:  # the fd stays open: Python flushes and closes sys.std* at exit
        super().close()


class _BestEffort(_WholeWrites):
    """A file descriptor where a failed write is dropped rather than raised: standard error.

    Diagnostics are best effort: the document went to its own stream, and the exit code is the
    run's verdict. An error raised while writing to a full or broken stderr escaped the error
    handlers and Python ended with exit 1, which a script reads as "blocking findings": `plan
    ... -o plan.json 2>/dev/full` committed the plan and exited 1, and an unknown regimen id
    with stderr on /dev/full exited 1 instead of 2."""

    def __init__(self, fd: int) -> None:
        super().__init__(fd)
        self._floor = -1  # what reached stderr stays there (a cut diagnostic harms nobody)

    def write(self, data) -> int:
        try:
            return super().write(data)
        except OSError:
            return memoryview(data).nbytes  # nowhere left to say it


def _rewrap(name: str, fd: int, raw: type[_WholeWrites], **options) -> None:
    """Put sys.<name> (the process's own stdout or stderr, not a test runner's capture) over
    ``raw``, keeping its encoding and error handler."""
    stream = getattr(sys, name)
    if stream is None or id(stream) != id(getattr(sys, f"__{name}__")):
        return
    try:
        if stream.fileno() != fd:
            return
        stream.flush()
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return  # closed or not a file: plug_std_fds and the writer's checks answer for it
    setattr(sys, name, io.TextIOWrapper(io.BufferedWriter(raw(fd)), encoding=stream.encoding,
                                        errors=stream.errors, **options))


class _Closed(_WholeWrites):
    """Standard output closed when the process started (`>&-`; Python then sets sys.stdout to
    None): every write fails, so that `--help >&-` is one line and exit 2 (not a traceback,
    exit 1) and `plan --help >&-` is not exit 0 with the help lost (click drops text written
    to a None stdout). The first write fails the run; later ones (the flush at exit of what
    was left in the buffer) are dropped: there is nowhere to write them, and the run has
    already said so."""

    failed = False

    def write(self, data) -> int:
        if self.failed:
            return memoryview(data).nbytes
        self.failed = True
        raise OSError(errno.EBADF, "standard output is closed; nothing could be written")


def whole_writes_to_stdout() -> None:
    """sys.stdout writes whole or fails (see _WholeWrites), line-buffered as before."""
    if sys.stdout is None and sys.__stdout__ is None:
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(_Closed(1)), encoding="utf-8")
        return
    _rewrap("stdout", 1, _WholeWrites, line_buffering=bool(sys.stdout and sys.stdout.line_buffering))


def best_effort_stderr() -> None:
    """sys.stderr drops what it cannot write (see _BestEffort)."""
    _rewrap("stderr", 2, _BestEffort, line_buffering=True, write_through=True)


def _out_of_memory(exc: BaseException) -> bytes:
    """The one line saying what ran out (ketadose.errors words it), as for any other limit of
    the system (`ulimit -v`), not a traceback; the words made in advance when there is no
    memory left to word it."""
    try:
        limit = OutOfResources.of(exc)
        if limit is not None:
            return f"ketadose: error: {limit}\n".encode()
    except BaseException:
        pass
    return _OUT_OF_MEMORY


def _last_words(line: bytes) -> NoReturn:
    """``line`` on stderr as it is, and exit 2 at once: an exit handler would need memory too
    (-o's temporary: on Linux it has no name and goes with the process)."""
    try:
        os.write(2, line)
    except BaseException:
        pass
    os._exit(2)


# made when this module is loaded: at the moment it is needed there may be no memory to make it
_OUT_OF_MEMORY = b"ketadose: error: out of memory; raise the limit\n"


def quiet_stdout() -> None:
    """Python flushes sys.stdout at exit; with the reader gone that would print a second error.
    (Here, not in cli, so that the stored answers need not import click.)"""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    except OSError:
        pass


class Terminated(BaseException):
    """SIGTERM or SIGHUP: unwinds like an exception so that a temporary -o file is removed."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum, _frame):
    raise Terminated(signum)


def catch_signals() -> None:
    """SIGTERM and SIGHUP raise Terminated (exit 128 + the signal's number)."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
