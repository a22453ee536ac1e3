"""`--jobs N` for batches (issue 18): records are split from the input here, in order, sent in
chunks to N worker processes, which decode, check and process them and write their lines to the
output themselves, taking turns so that the output keeps the input order.

The input is split into records by this process only (so a bad CSV header or an over-long line
is found and reported exactly as in a one-process run); the records go to a worker undecoded
(JSON Lines: a block of CHUNK lines as read; CSV: each record's text), where the same functions
as in a one-process run decode them or word their error records (io.batch.expand): decoding
every line here, and pickling the decoded records, was about a third of `check`'s work with
two jobs. Each worker has the batch's regimen, options and vocabulary from the start (fork), and
a bounded number of chunks per worker are in flight (at most MAX_IN_FLIGHT, and INPUT_AHEAD
bytes of input beyond the first IN_FLIGHT), and a worker holds at most about AHEAD bytes of
finished lines waiting for its turn: memory stays flat however long the input, and a pipe
reader still sees lines as they are done. A worker's exception (our bug) ends the run as in
a one-process run.

Who writes: the workers, to the output's file descriptor, which they share with this process
(fork; the same open file, so one file offset for a regular file, and the same pipe). A plan
line is about 18 KiB: carried back through a pipe to this process, the lines cost more system
time than the second worker saved (2026-11-26: `plan --jobs 2` was no faster than one job).
Chunk k goes to worker k mod N, and the workers pass a turn round a ring of pipes (_Ring):
worker i writes its finished chunk when it holds the turn, then hands the turn to worker i+1.
So the bytes are those of a one-process run, on a file, a pipe or a terminal alike; only the
exit code of each chunk (or the write error, which this process raises as its own stream would:
a closed pipe, a full disk) comes back, in input order. A stream without a file descriptor (an
in-memory one under a test runner) or workers not made by fork get the lines back, and this
process writes them.

Why not multiprocessing.Pool: its workers share one task queue guarded by a lock, and
Pool.terminate() (run when the reader of our output goes away, `| head -1`) could deadlock on
that lock or on its task thread blocked in a full pipe, leaving the command hanging with dead
workers. Here each worker has its own pipe, nothing is shared, and ending the run is: kill the
workers (SIGTERM, which a worker holds back while it writes, so that the output keeps whole
lines; SIGKILL after STOP_WAIT), reap them. Each worker reads its pipe on a thread of its own,
so the parent's send never waits for a worker that is itself waiting to send a result (no
cycle). A worker that dies ends the run with exit 3 (WorkerFailed): its chunk's answer never
comes, and the next worker's turn pipe reads end-of-file (nothing else holds its write end), so
no one waits for it.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import select
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from ketadose.io.writer import Rollback

from ketadose.errors import OutOfResources

CHUNK = 256  # records per task: large enough that sending them costs little, small for latency
# How far a worker may run ahead of the others (the slack between them). The output's order
# ties the workers together: a worker whose next chunk's turn has not come works on its later
# chunks, and waits once it has none left or holds AHEAD bytes of finished lines. Measured
# (2026-11-26, 10^5 records, in-process timers and the kernel's per-thread schedstat): with 3
# chunks in flight a worker slept 3-7% of its time waiting for the turn (the other worker was
# descheduled for longer than 3 chunks last, by this process or by other work); with 12, 1-2%.
# A chunk's input is small (256 lines, about 80 KiB) but its lines are not: a plan chunk is
# about 4.7 MB, a check chunk 0.3 MB. So the slack is bounded by bytes, on both sides: a
# check worker may hold 16 chunks (5 MB), a plan worker 4 (one more than before: +4.7 MB).
IN_FLIGHT = 3  # chunks queued per worker, whatever their size
MAX_IN_FLIGHT = 16  # chunks queued per worker at most, while their input is under INPUT_AHEAD
INPUT_AHEAD = 4 << 20  # bytes of input queued per worker beyond the first IN_FLIGHT chunks
AHEAD = 16 << 20  # bytes of finished lines a worker holds before it stops working ahead
# Chunks this process works on itself before it forks the workers, so that they start with what
# a batch's first records fill in (modules imported on first use, compiled patterns, the field
# and screen memos): each worker filled them on its own before, and that cost was paid once per
# worker. Counted by valgrind (10,000 records, instructions of every process against one
# process): check +20% without, +15% with one chunk; plan +10% without, +4% with one chunk.
WARM = 1
# The stack of a worker's receive thread (bytes). It only unpickles flat lists of records
# (pickle's loader keeps its own stack, not the C one) and puts them in the inbox; the system's
# default (8 MiB, from `ulimit -s`) was reserved in each worker's address space, so that
# `ulimit -v` stopped `--jobs 3` at limits where one process ran (RLIMIT_AS counts reservations).
RECEIVE_STACK = 256 << 10
_STOP = {signal.SIGTERM, signal.SIGHUP}  # a worker's writes are never cut by these
STOP_WAIT = 2.0  # seconds a stopped worker may take to finish its write (a slow pipe reader)


class WorkerFailed(RuntimeError):
    """A worker process ended without answering (killed, or out of memory): our failure, exit 3."""


class LineJob(Protocol):
    """What a batch hands the workers (commands.batch): one output line and its exit code per
    record."""

    def line(self, number: int, data: Any, raw: bool = ...) -> tuple[int, Any]: ...


Chunk = list[tuple[int, Any]]  # (first line number, undecoded records) in input order
# (first line number, undecoded records) to the (line number, record) LineJob.line takes
Expand = Callable[[int, Any], Iterable[tuple[int, Any]]]
Worker = tuple[BaseProcess, Connection]


def _worker(job: LineJob, expand: Expand, conn: Connection, inherited: list[Connection],
            ring: _Ring | None) -> None:
    # Ctrl-C and the parent's SIGTERM/SIGHUP handling belong to the parent, which ends the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    for other in inherited:  # the parent's ends of this worker's and others' pipes (fork copies)
        other.close()
    inbox: queue.SimpleQueue[Chunk | None] = queue.SimpleQueue()

    def receive() -> None:
        try:
            while True:
                chunk = conn.recv()
                inbox.put(chunk)
                if chunk is None:
                    return
        except Exception:  # the parent is gone (EOFError, OSError), or a chunk could not be
            # received (MemoryError): this worker ends after the chunks it has, and the parent,
            # waiting for the next answer, sees it end (without this, no end was put in the
            # inbox and the worker waited for it, and the parent for the worker, for ever)
            inbox.put(None)

    # The parent stops the workers with SIGTERM: at once, but never in the middle of a write
    # (_write_in_turn blocks it there), where it would leave a cut line in the output. The
    # receive thread starts with it blocked, so that only this thread takes it.
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP)
    stack = threading.stack_size(RECEIVE_STACK)  # see RECEIVE_STACK
    try:
        threading.Thread(target=receive, daemon=True).start()
    finally:
        threading.stack_size(stack)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP)
    if ring is not None:
        ring.keep_own()
        _write_in_turn(job, expand, conn, inbox, ring)
        return
    while (chunk := inbox.get()) is not None:
        if not _send(conn, _result(job, expand, chunk)):
            return


def _run_worker(job: LineJob, expand: Expand, conn: Connection, inherited: list[Connection],
                ring: _Ring | None) -> None:
    """_worker, with an exception that escapes it (it could not start its receive thread under
    a memory limit, say) sent to the parent as the answer to its next chunk, which the parent
    raises (exit 3, one line), and the parent's SIGTERM/SIGHUP handler (inherited by the fork
    until _worker resets it: a worker stopped as it starts) ending it quietly. multiprocessing
    printed the worker's traceback on stderr for both, one per worker (review of issue 18)."""
    try:
        _worker(job, expand, conn, inherited, ring)
    except SystemExit:
        raise
    except BaseException as exc:
        if isinstance(exc, Exception):
            try:
                conn.send(("error", OutOfResources.of(exc, jobs=True) or WorkerFailed(
                    f"a worker process (pid {os.getpid()}) failed: {exc!r}")))
            except Exception:  # the parent is gone, or the pipe broke: it sees the worker end
                pass
        sys.exit(1)


def _result(job: LineJob, expand: Expand, chunk: Chunk) -> tuple[str, Any]:
    try:
        return "ok", _work(job, expand, chunk)
    except Exception as exc:  # sent to the parent, which raises it (exit 3)
        return "error", exc


def _send(conn: Connection, result: tuple[str, Any]) -> bool:
    """Send a result to the parent; False when the parent is gone."""
    try:
        conn.send(result)
    except (BrokenPipeError, OSError):
        return False
    except Exception as exc:  # an exception that does not pickle
        conn.send(("error", WorkerFailed(f"worker error: {exc!r}")))
    return True


def _write_in_turn(job: LineJob, expand: Expand, conn: Connection,
                   inbox: queue.SimpleQueue[Chunk | None], ring: _Ring) -> None:
    """Make the lines of each chunk and write them to the output in input order, taking turns
    with the other workers; tell the parent each chunk's exit code once it is written.

    A chunk's lines are written when this worker holds the turn (chunk k is worker k mod N's,
    so the turn goes round the ring); until then they wait while the next chunk is worked on,
    and only when there is nothing else to do does the worker wait for its turn. A write error
    goes to the parent (which ends the run as its own write would) and the turn is not passed:
    the parent stops the workers."""
    # this worker's finished chunks, in order, each with the bytes of its lines (summed once)
    ready: deque[tuple[str, Any, int]] = deque()
    held = 0  # bytes of their lines
    more = True
    while more or ready:
        if ready and (not more or held >= AHEAD or inbox.empty() or ring.my_turn(wait=False)):
            status, value, size = ready.popleft()
            if status != "ok":
                _send(conn, (status, value))
                return
            if not ring.my_turn(wait=True):
                return  # the worker before this one ended without passing the turn
            code, data = value
            held -= size
            signal.pthread_sigmask(signal.SIG_BLOCK, _STOP)  # whole lines, even when stopped
            try:
                _write_all(ring.out, data, ring.mark)
            except OSError as exc:
                _send(conn, ("oserror", (exc.errno, exc.strerror)))
                return
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP)
            ring.pass_turn()
            if not _send(conn, ("ok", code)):
                return
            continue
        chunk = inbox.get()
        if chunk is None:
            more = False
        else:
            status, value = _result(job, expand, chunk)
            size = _size(value[1]) if status == "ok" else 0
            ready.append((status, value, size))
            held += size


def _size(lines: list[bytes]) -> int:
    return sum(map(len, lines))


def _write_all(fd: int, lines: list[bytes], mark: Rollback | None = None) -> None:
    """Write the lines with as few system calls as a joined block would take (os.writev, at most
    _IOV lines a call), without joining them: a plan chunk is some MiB, and a block of that size
    made for each chunk left the worker's malloc heap fragmented (glibc raises its mmap threshold
    after the first such block is freed, so the later ones came from the heap): 25 MB more
    resident memory than one process at 10^5 records, growing with the batch. ``mark``: the
    output stream's Rollback (a regular file), told of each call, so that a failed write or a
    worker killed in one is cut back to the last whole line (io.writer)."""
    start, skip = 0, 0  # the first line not fully written, and the bytes of it already written
    while start < len(lines):
        part: list[bytes | memoryview] = list(lines[start:start + _IOV])
        if skip:
            part[0] = memoryview(part[0])[skip:]
        if mark is not None:
            mark.begin()
        try:
            n = os.writev(fd, part)
        except BlockingIOError:  # an output left non-blocking by another program
            select.select([], [fd], [])
            continue
        wrote, first = n, start
        n += skip
        while start < len(lines) and n >= len(lines[start]):
            n -= len(lines[start])
            start += 1
        skip = n
        if mark is not None:
            mark.wrote(wrote, skip if start > first else None)


_IOV = 512  # lines a writev call takes (the system's limit is IOV_MAX, 1024 on Linux)


class _Ring:
    """Whose turn it is to write: one pipe per worker holding a byte when it is that worker's
    turn. Worker i reads its own pipe and, after writing, puts the byte in worker i+1's (mod
    N). The parent puts the first byte in worker 0's pipe, closes its ends after the fork, and
    each worker closes every end but its own two, so a worker that dies makes the next one's
    read end (EOF) instead of leaving it waiting."""

    def __init__(self, out: int, jobs: int, mark: Rollback | None = None) -> None:
        self.out, self.mark = out, mark  # the output's Rollback (io.writer), shared memory
        self.pipes = [os.pipe() for _ in range(jobs)]
        os.write(self.pipes[0][1], b"t")
        self.index = 0
        self.turn = self.next = -1
        self.holding = False

    def keep_own(self) -> None:
        """In worker ``index``: keep its read end and the next worker's write end."""
        n = len(self.pipes)
        self.turn, self.next = self.pipes[self.index][0], self.pipes[(self.index + 1) % n][1]
        self.close(keep={self.turn, self.next})

    def close(self, keep: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        for fds in self.pipes:
            for fd in fds:
                if fd not in keep:
                    try:
                        os.close(fd)
                    except OSError:
                        pass

    def my_turn(self, wait: bool) -> bool:
        """Whether this worker holds the turn (taken from its pipe), waiting for it or not."""
        if not self.holding:
            if not wait and not select.select([self.turn], [], [], 0)[0]:
                return False
            self.holding = os.read(self.turn, 1) == b"t"  # b"": the worker before has ended
        return self.holding

    def pass_turn(self) -> None:
        self.holding = False
        try:
            os.write(self.next, b"t")
        except BrokenPipeError:  # the next worker has ended: it had no chunk left
            pass


def _work(job: LineJob, expand: Expand, chunk: Chunk) -> tuple[int, list[bytes]]:
    """The worst exit code and the chunk's lines as UTF-8, as the output stream encodes text
    (io.writer: a lone surrogate as a \\udXXX escape), so that the parent only writes them.
    Not joined: see _write_all."""
    worst, lines = 0, []
    for first, item in chunk:
        for number, data in expand(first, item):
            code, line = job.line(number, data, True)
            if code > worst:
                worst = code
            lines.append(line)
    return worst, lines


def _chunks(items: Iterable[tuple[int, Any, int]], size: int) -> Iterator[tuple[Chunk, int]]:
    """Chunks of ``size`` items, each with the bytes of input it holds."""
    items = iter(items)
    while True:
        part = list(islice(items, size))
        if not part:
            return
        yield [(number, data) for number, data, _size in part], sum(n for _, _, n in part)


def _context() -> Any:  # typeshed gives `Process` only to each start method's own context
    # fork: the workers start with the loaded modules and the batch (no re-import, no pickling
    # of the regimen); elsewhere the platform's default, the batch pickled once per worker.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def _start(job: LineJob, expand: Expand, jobs: int, ring: _Ring | None) -> list[Worker]:
    ctx = _context()
    workers: list[Worker] = []
    try:
        for index in range(jobs):
            if ring is not None:
                ring.index = index  # copied into the worker by the fork
            parent_end, child_end = ctx.Pipe()
            # the worker closes this process's ends of its own pipe and of the pipes of the
            # workers before it (fork copies them): otherwise it would not see this process end
            proc = ctx.Process(target=_run_worker, daemon=True, args=(
                job, expand, child_end, [parent_end, *(c for _, c in workers)], ring))
            # The worker starts with SIGTERM/SIGHUP (and Ctrl-C) blocked until _worker has set
            # their handling: this process's handlers (raise Terminated, KeyboardInterrupt),
            # copied by the fork, ran in a worker stopped as it started and printed a
            # traceback. Held here, a signal comes to this process once the fork is done.
            mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP | {signal.SIGINT})
            try:
                proc.start()
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            child_end.close()
            workers.append((proc, parent_end))
    except BaseException as exc:
        _stop(workers, False)
        limit = OutOfResources.of(exc, jobs=True)  # a fork refused for want of memory
        if limit is None:
            raise
        raise limit from None
    finally:
        if ring is not None:
            ring.close()
    return workers


def _receive(worker: Worker, out: TextIO) -> int:
    """The exit code of the next chunk in input order, once its lines are written (by its
    worker, or here)."""
    proc, conn = worker
    try:
        status, value = conn.recv()
    except (EOFError, OSError):
        raise WorkerFailed(f"a worker process (pid {proc.pid}) ended without answering") from None
    if status == "ok":
        return value if value.__class__ is int else _write(value, out)
    if status == "oserror":  # the worker's write failed: as if this process's had
        raise out.failed_write(OSError(*value))  # type: ignore[attr-defined]
    raise OutOfResources.of(value, jobs=True) or value  # a limit (exit 2), or our bug


def _stop(workers: list[Worker], clean: bool) -> None:
    try:
        for proc, conn in workers:
            if clean:
                try:
                    conn.send(None)
                except OSError:
                    pass
            else:
                # nothing shared to leave locked: a plain kill is safe; SIGTERM, so that a
                # worker writing its lines ends after the write (whole lines, as one process
                # leaves them)
                proc.terminate()
        deadline = time.monotonic() + STOP_WAIT
        for proc, conn in workers:
            if not clean:
                proc.join(max(0.0, deadline - time.monotonic()))
                if proc.exitcode is None:  # its write waits for a reader that does not read
                    proc.kill()
            proc.join()
            conn.close()
    except BaseException:
        # a second signal while waiting: end them at once (multiprocessing's exit handler
        # would wait for a worker whose write waits, without end)
        for proc, _conn in workers:
            if proc.exitcode is None:
                proc.kill()
        raise


def run_parallel(job: LineJob, items: Iterable[tuple[int, Any, int]], jobs: int,
                 out: TextIO, expand: Expand, per_chunk: int | None = None) -> int:
    """Write the lines of the items (first line number, undecoded records, size), in input
    order, ``per_chunk`` items to a task (CHUNK when not given); the worst exit code."""
    worst = 0
    chunks = _chunks(items, per_chunk or CHUNK)
    for chunk, _n in islice(chunks, WARM):  # here, before the fork: see WARM
        worst = max(worst, _write(_work(job, expand, chunk), out))
    following = next(chunks, None)
    if following is None:  # a short batch: done without forking
        return worst
    fd = _direct_fd(out)
    ring = _Ring(fd, jobs, getattr(out, "mark", None)) if fd is not None else None
    workers = _start(job, expand, jobs, ring)
    # the worker and the input bytes of each chunk in flight, in input order; per worker, the
    # chunks and input bytes in flight
    pending: deque[tuple[int, int]] = deque()
    queued, queued_bytes = [0] * jobs, [0] * jobs
    clean = False
    try:
        for k, (chunk, size) in enumerate(chain([following], chunks)):
            w = k % jobs
            while queued[w] >= IN_FLIGHT and (queued[w] >= MAX_IN_FLIGHT
                                              or queued_bytes[w] + size > INPUT_AHEAD):
                i, n = pending.popleft()
                worst = max(worst, _receive(workers[i], out))
                queued[i] -= 1
                queued_bytes[i] -= n
            if not _send_chunk(workers[w][1], chunk):
                # The worker has ended (its write failed, or it was killed). Its answers before
                # say why; this EPIPE must not reach click, which makes it a silent exit 1.
                while pending:
                    _receive(workers[pending.popleft()[0]], out)
                _receive(workers[w], out)  # the error it sent as it ended, if it sent one
                raise WorkerFailed(f"a worker process (pid {workers[w][0].pid}) ended without "
                                   "answering")
            pending.append((w, size))
            queued[w] += 1
            queued_bytes[w] += size
        while pending:
            worst = max(worst, _receive(workers[pending.popleft()[0]], out))
        clean = True
    finally:
        _stop(workers, clean)
    return worst


def _send_chunk(conn: Connection, chunk: Chunk) -> bool:
    """Send a chunk to a worker; False when the worker has ended (EPIPE). The OSError is not
    kept: its traceback holds multiprocessing's memoryview over the pickled chunk's BytesIO, and
    as the context of the error raised next it went into a reference cycle; collected at exit
    (CPython 3.13), the BytesIO was finalized before the view and printed 'Exception ignored
    ... BufferError: Existing exports of data' under the one-line message."""
    try:
        conn.send(chunk)
    except OSError:
        return False
    return True


def _direct_fd(out: TextIO) -> int | None:
    """The output's file descriptor when the workers can write to it themselves: an io.writer
    stream with one, and workers made by fork (which share it)."""
    direct = getattr(out, "direct_fd", None)
    if direct is None or _context().get_start_method() != "fork":
        return None
    return direct()


def _write(result: tuple[int, list[bytes]], out: TextIO) -> int:
    code, lines = result
    write_bytes = getattr(out, "write_bytes", None)  # io.writer's streams
    if write_bytes is not None:
        # line by line, as a one-process run writes (io.writer sends out 64 KiB blocks of whole
        # lines): a signal between two writes (SIGTERM, Ctrl-C) leaves no cut line
        for line in lines:
            write_bytes(line)
    else:
        out.write(b"".join(lines).decode("utf-8"))
    out.flush()
    return code
