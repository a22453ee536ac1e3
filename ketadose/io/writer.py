"""Output streams: standard output and atomic files (-o FILE, --plot FILE).

Renderers write to the stream they are given, record by record, so memory stays flat whether
the output goes to a pipe or to a file. Every write, flush, fsync and close error is turned into
one of two exceptions, so that a failed write is a failed run and never a silent truncation:

* ``OutputError`` (a KetadoseError: one line on stderr, exit 2), e.g. a full disk, a file size
  limit (EFBIG), a closed standard output;
* ``PipeClosed``: the reader went away (``| head -1``); the run ends quietly with 141, the
  status of a process killed by SIGPIPE, as git does.

An ``AtomicFile`` writes a temporary file created with O_EXCL beside the target, fsyncs it, then
links it into place: ``link()`` fails if the name exists, so two writers without --force cannot
both succeed (no check-then-rename race). Only regular files are written: a device, FIFO,
socket or directory is refused before anything is opened; a symbolic link is written through
(to the file it points to) only with --force and is never replaced itself. The file's mode
follows the umask. ``abort()`` removes the temporary file; the CLI turns SIGTERM/SIGHUP into an
exception so that it runs on those exit paths too.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import sys

from ketadose.errors import KetadoseError

_CHUNK = 1 << 16


class OutputError(KetadoseError):
    """The output could not be written: exit 2, one line."""


class PipeClosed(Exception):
    """The reader of standard output went away: end quietly (exit 141)."""


def _describe(exc: OSError) -> str:
    return exc.strerror or str(exc)


class _Stream(io.TextIOBase):
    """A text stream over a binary file; every OS error becomes OutputError or PipeClosed."""

    name = "<stdout>"
    encoding = "utf-8"

    def __init__(self, raw) -> None:
        super().__init__()
        self._raw = raw  # an unbuffered binary file
        # what is written and not yet out: the pieces as given, joined once when they reach
        # _CHUNK bytes (appending each to a bytearray copied a batch's 18 KiB lines two or
        # three times more: growing the bytearray, then bytes() of it; issue 18)
        self._parts: list = []
        self._size = 0
        self.failed = False

    # io.TextIOBase ------------------------------------------------------------------------
    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        # a lone surrogate cannot be UTF-8: written as \udXXX (a valid JSON escape) rather than fail
        self.write_bytes(text.encode("utf-8", "backslashreplace"))
        return len(text)

    def write_bytes(self, data: bytes) -> None:
        if data.__class__ is not bytes:  # a bytearray or a view the caller may change later
            data = bytes(data)
        self._parts.append(data)
        self._size += len(data)
        if self._size >= _CHUNK:
            self._drain()

    def flush(self) -> None:
        # io's finalizer closes, so flushes, a stream whose __init__ failed (a refused -o file,
        # a closed stdout): it has nothing to write (Python 3.13 prints a finalizer's error on
        # stderr, under the one-line message)
        if "_parts" in self.__dict__:
            self._drain()

    def isatty(self) -> bool:
        try:
            return os.isatty(self._raw.fileno())
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        return self._raw.fileno()

    def direct_fd(self) -> int | None:
        """A file descriptor other processes may write this stream's next bytes to (the
        workers of `--jobs`, taking turns: commands.parallel), once what was written here is
        out; None when the stream has none (an in-memory stream under a test runner)."""
        self.flush()
        try:
            return self._raw.fileno()
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            return None

    def failed_write(self, exc: OSError) -> Exception:
        """The exception (OutputError or PipeClosed) for an error of a write another process
        made to direct_fd(), as if this stream had made it."""
        self.failed = True
        return self._error(exc)

    # --------------------------------------------------------------------------------------
    def _drain(self) -> None:
        data = b"".join(self._parts)  # one piece: that piece itself, not a copy
        self._parts, self._size = [], 0
        done = 0
        try:
            while done < len(data):
                n = self._raw.write(data[done:done + (1 << 20)])
                done += n or 0
        except OSError as exc:
            self.failed = True
            raise self._error(exc) from None

    def _error(self, exc: OSError) -> Exception:
        if exc.errno in (errno.EPIPE, errno.ECONNRESET):
            return PipeClosed()
        return OutputError(f"cannot write: {_describe(exc)}", self.name)


class StdoutStream(_Stream):
    """Standard output (sys.stdout's binary buffer, so that test runners can capture it);
    refuses to start when it is closed (``>&-``)."""

    def __init__(self) -> None:
        raw = getattr(sys.stdout, "buffer", None)
        if STDOUT_CLOSED[0] or raw is None:
            raise OutputError("standard output is closed; nothing could be written", "<stdout>")
        super().__init__(raw)

    def _drain(self) -> None:
        super()._drain()
        try:
            self._raw.flush()
        except OSError as exc:
            self.failed = True
            raise self._error(exc) from None

    def _error(self, exc: OSError) -> Exception:
        # What could not be written stays in sys.stdout's buffer, and Python would try again
        # (and complain) at exit: point fd 1 at /dev/null so that the last word is ours.
        try:
            if self._raw.fileno() == 1:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                os.close(null)
        except (OSError, ValueError, io.UnsupportedOperation):
            pass
        return super()._error(exc)

    def finish(self) -> None:
        self.flush()


# main() records here whether fd 0/1 were closed when the process started (see plug_std_fds).
STDOUT_CLOSED = [False]
STDIN_CLOSED = [False]


def plug_std_fds() -> None:
    """If fd 0, 1 or 2 is closed, put /dev/null there: otherwise the next open() would get it
    and a file opened for reading would become 'standard output'. Record which were closed."""
    for fd, flag in ((0, STDIN_CLOSED), (1, STDOUT_CLOSED), (2, None)):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            if flag is not None:
                flag[0] = True


def check_target(path: str, force: bool, what: str = "output") -> str:
    """The path to write for ``path`` (a symlink's target with --force), or OutputError.
    Nothing is opened: devices and FIFOs are refused on their type alone."""
    if not path:
        raise OutputError(f"empty {what} file name")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"cannot use as {what}: {_describe(exc)}", path) from None
    target = path
    if st is not None and stat.S_ISLNK(st.st_mode):
        if not force:
            raise OutputError("exists (a symbolic link); use --force to write to the file it "
                              "points to (the link itself is kept)", path)
        target = os.path.realpath(path)
        try:
            st = os.stat(target)
        except FileNotFoundError:
            raise OutputError("is a symbolic link to nothing; refusing to create its target",
                              path) from None
        except OSError as exc:
            raise OutputError(f"cannot use as {what}: {_describe(exc)}", path) from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise OutputError("is a directory, not a file", path)
        if not stat.S_ISREG(st.st_mode):
            raise OutputError("is not a regular file (a device, FIFO or socket); refusing to "
                              f"write {what} to it", path)
        if not force:
            raise OutputError("exists; use --force to overwrite it", path)
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise OutputError("its folder does not exist", path)
    return target


class AtomicFile(_Stream):
    """A regular file written atomically: temporary file, fsync, then link (or replace with
    --force). Use as a context manager, or call commit()/abort()."""

    def __init__(self, path: str, force: bool = False, what: str = "output") -> None:
        self.path = path
        self.force = force
        self.what = what
        self.target = check_target(path, force, what)
        folder = os.path.dirname(os.path.abspath(self.target))
        self.tmp: str | None = None
        for _attempt in range(20):
            tmp = os.path.join(folder, f".ketadose-{os.urandom(6).hex()}.tmp")
            try:
                # 0o666 & ~umask, as any program creating a file (mkstemp's 0600 ignored the umask)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                             0o666)
            except FileExistsError:
                continue
            except OSError as exc:
                raise OutputError(f"cannot create a file in its folder: {_describe(exc)}",
                                  path) from None
            self.tmp = tmp
            break
        else:  # pragma: no cover - 20 collisions of 48 random bits
            raise OutputError("cannot create a temporary file in its folder", path)
        super().__init__(io.FileIO(fd, "wb", closefd=True))
        self.name = path
        self.done = False

    def _error(self, exc: OSError) -> Exception:
        return OutputError(f"cannot write: {_describe(exc)}", self.path)

    def commit(self) -> None:
        """Flush, fsync, close, then put the file in place (refusing to clobber without force)."""
        if self.done:
            return
        try:
            self.flush()
            try:
                os.fsync(self._raw.fileno())
                self._raw.close()
            except OSError as exc:
                raise self._error(exc) from None
            self._place()
            self._sync_folder()
        except BaseException:
            self.abort()
            raise
        self.done = True

    def _place(self) -> None:
        tmp = self.tmp
        if tmp is None:  # pragma: no cover - _place runs once, before the name is cleared
            raise RuntimeError("atomic writer: the temporary file is gone")
        if self.force:
            # regular files only, even if something changed since check_target
            check_target(self.target, True, self.what)
            try:
                os.replace(tmp, self.target)
            except OSError as exc:
                raise self._error(exc) from None
            self.tmp = None
            return
        try:
            os.link(tmp, self.target)
        except FileExistsError:
            raise OutputError("exists (created while ketadose was writing); use --force to "
                              "overwrite it", self.path) from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                                 errno.EMLINK):
                raise self._error(exc) from None
            self._copy_exclusive(tmp)  # a file system without hard links
        os.unlink(tmp)
        self.tmp = None

    def _copy_exclusive(self, tmp: str) -> None:
        try:
            fd = os.open(self.target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            raise OutputError("exists; use --force to overwrite it", self.path) from None
        except OSError as exc:
            raise self._error(exc) from None
        try:
            with open(tmp, "rb") as src, os.fdopen(fd, "wb") as dst:
                while chunk := src.read(_CHUNK):
                    dst.write(chunk)
                dst.flush()
                os.fsync(dst.fileno())
        except OSError as exc:
            os.unlink(self.target)
            raise self._error(exc) from None

    def _sync_folder(self) -> None:
        try:
            fd = os.open(os.path.dirname(os.path.abspath(self.target)), os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass  # some file systems cannot fsync a folder; the file itself is synced
        finally:
            os.close(fd)

    def abort(self) -> None:
        """Close and remove the temporary file (every exit path but success)."""
        self.done = True
        try:
            self._raw.close()
        except OSError:
            pass
        if self.tmp:
            try:
                os.unlink(self.tmp)
            except OSError:
                pass
            self.tmp = None

    def finish(self) -> None:
        self.commit()

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.commit()
        else:
            self.abort()
        return False


def write_file(path: str, data, force: bool = False, what: str = "output") -> None:
    """Write text or bytes to ``path`` atomically with the rules above."""
    with AtomicFile(path, force, what) as fh:
        if isinstance(data, bytes):
            fh.write_bytes(data)
        else:
            fh.write(data)


def stdin_buffer():
    """The binary standard input for '-', or OutputError-like refusal when it was closed."""
    if STDIN_CLOSED[0] or sys.stdin is None:
        raise KetadoseError("standard input is closed; nothing to read from '-'", "<stdin>")
    return sys.stdin.buffer
