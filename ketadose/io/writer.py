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

Standard output redirected to a regular file (``> FILE``, ``>> FILE``) cannot be written
atomically, but a failed run must not leave a cut line or half a document there either: a
``Rollback`` remembers where this run's output began and where its last whole record ended,
and on a failed write (or any other failed run: ``abort()``) the file is cut back
(``ftruncate``) to the end of the last whole line of a batch (``whole_lines()``), or to where
this run's output began for a document (JSON, YAML, FHIR, HTML, a table). See Rollback for
what is never cut (earlier content, another writer's bytes).
"""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
from typing import Any

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
        self.mark: Rollback | None = None  # standard output to a regular file: StdoutStream

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
        made to direct_fd(), as if this stream had made it (a regular file is cut back)."""
        self.failed = True
        self._roll_back()
        return self._error(exc)

    def whole_lines(self) -> None:
        """What is written from now on is one line per record (a batch): a failed run keeps
        the whole lines it wrote to a regular file, instead of cutting back to its start."""
        if self.mark is not None:
            self.mark.lines = True

    def abort(self) -> None:
        """The run failed (an error, a signal, a dead --jobs worker): nothing more is written,
        and what this run wrote to a regular file is cut back as for a failed write. A pipe or
        a terminal keeps what it was sent."""
        if self.mark is not None:
            self._parts, self._size = [], 0  # not written, not even by io's finalizer
            self._roll_back()

    # --------------------------------------------------------------------------------------
    def _roll_back(self) -> None:
        if self.mark is not None:
            self.mark.undo()
            self.mark = None  # once: after it fd 1 may be /dev/null (StdoutStream._error)

    def _drain(self) -> None:
        data = b"".join(self._parts)  # one piece: that piece itself, not a copy
        self._parts, self._size = [], 0
        done = 0
        mark = self.mark
        try:
            while done < len(data):
                piece = data[done:done + (1 << 20)]
                if mark is not None:
                    mark.begin()
                n = self._raw.write(piece) or 0
                if mark is not None:
                    mark.wrote(n, _tail(piece, n) if mark.lines else None)
                done += n
        except OSError as exc:
            self.failed = True
            self._roll_back()
            raise self._error(exc) from None

    def _error(self, exc: OSError) -> Exception:
        if exc.errno in (errno.EPIPE, errno.ECONNRESET):
            return PipeClosed()
        return OutputError(f"cannot write: {_describe(exc)}", self.name)


def _tail(piece: bytes, n: int) -> int | None:
    """Bytes of the first ``n`` of ``piece`` after its last newline; None without one."""
    end = piece.rfind(b"\n", 0, n)
    return None if end < 0 else n - end - 1


class Rollback:
    """Where a failed run cuts standard output back to when it is a regular file.

    Kept per write call: FLOOR, where this run's output began (the file offset then; the end of
    the file for ``>>``, O_APPEND); GOOD, the end of the last whole record written (FLOOR for a
    document, until ``lines`` is set: a batch); END, the offset after the last write; BUSY,
    set during a write call. undo() truncates to GOOD and puts the offset there, so that
    what the shell writes next (``{ ketadose ...; echo; } > f``) follows without a hole.

    Never cut: what was in the file before (never below FLOOR); bytes written by another
    process (a write that did not start where the last one ended moves FLOOR and GOOD up to
    it: our bytes below are kept); a file that does not end where this run's last write
    ended (another writer appended after it, or ``1<>`` over a longer file). A write call that
    did not return (a --jobs worker killed in it) is taken to have written what lies between
    END and the file offset, when the file ends there.

    The state is in shared memory (an anonymous mmap) so that the --jobs workers, forked
    after it is made and writing in turn, keep it for the parent (commands.parallel)."""

    FLOOR, GOOD, END, BUSY = range(4)

    def __init__(self, fd: int) -> None:
        import fcntl
        import mmap

        self.fd = fd
        self.lines = False
        self.append = bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND)
        start = os.fstat(fd).st_size if self.append else os.lseek(fd, 0, os.SEEK_CUR)
        self._shared = mmap.mmap(-1, 32)  # MAP_SHARED: the workers' writes are seen here
        self.state: Any = memoryview(self._shared).cast("q")
        self.state[self.FLOOR] = self.state[self.GOOD] = self.state[self.END] = start

    def begin(self) -> None:
        """Before a write call."""
        self.state[self.BUSY] = 1

    def wrote(self, n: int, tail: int | None) -> None:
        """After a write call that wrote ``n`` bytes, the last ``tail`` of them after the end
        of the last whole line in them (None: no line ended in them)."""
        s = self.state
        end = os.lseek(self.fd, 0, os.SEEK_CUR)
        if end - n != s[self.END]:  # someone else wrote since our last write: keep theirs
            s[self.FLOOR] = s[self.GOOD] = end - n
        if tail is not None and self.lines:
            s[self.GOOD] = end - tail
        s[self.END] = end
        s[self.BUSY] = 0

    def undo(self) -> None:
        s = self.state
        try:
            size = os.fstat(self.fd).st_size
            at = os.lseek(self.fd, 0, os.SEEK_CUR)
            if at != size or not (size == s[self.END] or s[self.BUSY] and size > s[self.END]):
                return  # the file does not end with what this run wrote: leave it
            good = max(s[self.GOOD], s[self.FLOOR])
            if good < size:
                os.ftruncate(self.fd, good)
                os.lseek(self.fd, good, os.SEEK_SET)
            s[self.END], s[self.BUSY] = good, 0
        except OSError:  # not truncatable after all: the run fails as it would have
            pass


class StdoutStream(_Stream):
    """Standard output (sys.stdout's binary buffer, so that test runners can capture it);
    refuses to start when it is closed (``>&-``). A regular file is written with its own
    unbuffered file object, with a Rollback."""

    def __init__(self) -> None:
        raw = getattr(sys.stdout, "buffer", None)
        if STDOUT_CLOSED[0] or raw is None:
            raise OutputError("standard output is closed; nothing could be written", "<stdout>")
        super().__init__(raw)
        try:
            fd = raw.fileno()
            if stat.S_ISREG(os.fstat(fd).st_mode):
                sys.stdout.flush()  # whatever was printed before comes first
                # each write's bytes counted as they reach the file (a BufferedWriter that
                # failed part-way says not how much of its buffer went out)
                self._raw = io.FileIO(fd, "wb", closefd=False)
                self.mark = Rollback(fd)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass  # no file descriptor (a test runner's stream): written as it is

    def _drain(self) -> None:
        super()._drain()
        if getattr(self._raw, "closed", False):
            # At exit Python closes sys.stdout before io's finalizer closes (so flushes) this
            # stream, which has nothing left to write then (anything left would have failed
            # above). Python 3.13 prints that finalizer's "ValueError: flush of closed file"
            # with a traceback on stderr after every validate/simulate on the fast path to a
            # pipe or a file; 3.11 dropped it silently.
            return
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
    --force). Use as a context manager, or call commit()/abort().

    On Linux the temporary file has no name (O_TMPFILE in the target's folder): a process killed
    while it writes (SIGKILL, the OOM killer, `os._exit` when memory ran out) leaves nothing
    behind; commit links it in by its descriptor (linkat through /proc/self/fd). Elsewhere, or
    where the file system cannot make one, a named `.ketadose-<random>.tmp` beside the target,
    removed on every exit path this process still runs."""

    def __init__(self, path: str, force: bool = False, what: str = "output") -> None:
        self.path = path
        self.force = force
        self.what = what
        self.target = check_target(path, force, what)
        self.folder = os.path.dirname(os.path.abspath(self.target))
        self.tmp: str | None = None
        fd = _unnamed(self.folder)
        if fd is None:
            fd = self._named()
        super().__init__(io.FileIO(fd, "wb", closefd=True))
        self.name = path
        self.done = False

    def _named(self) -> int:
        """A new `.ketadose-<random>.tmp` in the target's folder (its name in self.tmp)."""
        path = self.path
        for _attempt in range(20):
            tmp = os.path.join(self.folder, f".ketadose-{os.urandom(6).hex()}.tmp")
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
            return fd
        # pragma: no cover - 20 collisions of 48 random bits
        raise OutputError("cannot create a temporary file in its folder", path)

    def _error(self, exc: OSError) -> Exception:
        return OutputError(f"cannot write: {_describe(exc)}", self.path)

    def commit(self) -> None:
        """Flush, fsync, then put the file in place (refusing to clobber without force). A named
        temporary is closed first (a close can report a write error); an unnamed one is linked
        by its descriptor, so it is closed after."""
        if self.done:
            return
        try:
            self.flush()
            try:
                os.fsync(self._raw.fileno())
                if self.tmp is not None:
                    self._raw.close()
            except OSError as exc:
                raise self._error(exc) from None
            self._place()
            try:
                self._raw.close()
            except OSError as exc:
                raise self._error(exc) from None
            self._sync_folder()
        except BaseException:
            self.abort()
            raise
        self.done = True

    def _place(self) -> None:
        unnamed = self.tmp is None
        source = self.tmp if self.tmp is not None else _by_descriptor(self._raw.fileno())
        if self.force:
            # regular files only, even if something changed since check_target
            check_target(self.target, True, self.what)
            if unnamed:  # a name of its own first: rename() is what replaces atomically
                self.tmp = self._link_hidden(source)
            try:
                os.replace(self.tmp or source, self.target)
            except OSError as exc:
                raise self._error(exc) from None
            self.tmp = None
            return
        try:
            # linkat(AT_SYMLINK_FOLLOW) for the unnamed file: /proc/self/fd/N is a symlink whose
            # own link would cross file systems (EXDEV). Fails if the name exists: no clobber,
            # and two writers cannot both win.
            _link(source, self.target)
        except FileExistsError:
            raise OutputError("exists (created while ketadose was writing); use --force to "
                              "overwrite it", self.path) from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                                 errno.EMLINK):
                raise self._error(exc) from None
            self._copy_exclusive(source)  # a file system without hard links
        if not unnamed:
            os.unlink(source)
            self.tmp = None

    def _link_hidden(self, source: str) -> str:
        """The unnamed file linked in under a new `.ketadose-<random>.tmp` (for --force)."""
        for _attempt in range(20):
            hidden = os.path.join(self.folder, f".ketadose-{os.urandom(6).hex()}.tmp")
            try:
                _link(source, hidden)
            except FileExistsError:
                continue
            except OSError as exc:
                raise self._error(exc) from None
            return hidden
        # pragma: no cover - 20 collisions of 48 random bits
        raise OutputError("cannot create a temporary file in its folder", self.path)

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


def _unnamed(folder: str) -> int | None:
    """A file with no name in ``folder`` (O_TMPFILE, Linux 3.11+), writable, mode 0o666 less
    the umask; None where there is none to be had: no O_TMPFILE on this system, a file system
    that cannot make one (EOPNOTSUPP, EISDIR or EINVAL from an older kernel), or no /proc to
    link it in from. Any other error is left to the named temporary, which words it."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag:
        return None
    try:
        fd = os.open(folder, os.O_WRONLY | flag | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError:
        return None
    if not os.path.exists(_by_descriptor(fd)):  # /proc not mounted
        os.close(fd)
        return None
    return fd


def _link(source: str, dest: str) -> None:
    """A new name ``dest`` for the file ``source`` names, following a symlink: linkat() with
    AT_SYMLINK_FOLLOW. os.link() calls plain link() unless given a folder's descriptor, and
    link() of /proc/self/fd/N links /proc's own symlink: EXDEV."""
    folder = os.open(os.path.dirname(dest) or ".", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.link(source, os.path.basename(dest), dst_dir_fd=folder, follow_symlinks=True)
    finally:
        os.close(folder)


def _by_descriptor(fd: int) -> str:
    """The path that names this process's open file ``fd`` (Linux)."""
    return f"/proc/self/fd/{fd}"


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
