"""`--jobs N` for batches (issue 18): records are split from the input here, in order, sent in
chunks to N worker processes, which decode, check and process them, and their lines written back
in input order as each chunk is done.

The input is split into records by this process only (so a bad CSV header or an over-long line
is found and reported exactly as in a one-process run); the records go to a worker undecoded
(JSON Lines: a block of CHUNK lines as read; CSV: each record's text), where the same functions
as in a one-process run decode them or word their error records (io.batch.expand): decoding
every line here, and pickling the decoded records, was about a third of `check`'s work with
two jobs. Each worker has the
batch's regimen, options and vocabulary from the start (fork), and at most a few chunks per
worker are in flight: memory stays flat however long the input, and a pipe reader still sees
lines as they are done. A worker's exception (our bug) ends the run as in a one-process run.

Why not multiprocessing.Pool: its workers share one task queue guarded by a lock, and
Pool.terminate() (run when the reader of our output goes away, `| head -1`) could deadlock on
that lock or on its task thread blocked in a full pipe, leaving the command hanging with dead
workers. Here each worker has its own pipe, nothing is shared, and ending the run is: kill the
workers, reap them. Chunks go round-robin (chunk k to worker k mod N), so the output order is the
order in which the parent reads the pipes. Each worker reads its pipe on a thread of its own, so
the parent's send never waits for a worker that is itself waiting to send a result (no cycle).
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Protocol, TextIO

CHUNK = 256  # records per task: large enough that sending them costs little, small for latency
IN_FLIGHT = 3  # chunks queued per worker


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


def _worker(job: LineJob, expand: Expand, conn: Connection,
            inherited: list[Connection]) -> None:
    # Ctrl-C and the parent's SIGTERM/SIGHUP handling belong to the parent, which ends the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    for other in inherited:  # the parent's ends of the other workers' pipes (fork copies them)
        other.close()
    inbox: queue.SimpleQueue[Chunk | None] = queue.SimpleQueue()

    def receive() -> None:
        try:
            while True:
                chunk = conn.recv()
                inbox.put(chunk)
                if chunk is None:
                    return
        except (EOFError, OSError):  # the parent is gone
            inbox.put(None)

    threading.Thread(target=receive, daemon=True).start()
    while (chunk := inbox.get()) is not None:
        result: tuple[str, object]
        try:
            result = ("ok", _work(job, expand, chunk))
        except Exception as exc:  # sent to the parent, which raises it (exit 3)
            result = ("error", exc)
        try:
            conn.send(result)
        except (BrokenPipeError, OSError):
            return
        except Exception as exc:  # an exception that does not pickle
            conn.send(("error", WorkerFailed(f"worker error: {exc!r}")))


def _work(job: LineJob, expand: Expand, chunk: Chunk) -> tuple[int, bytes]:
    """The worst exit code and the chunk's lines as UTF-8, as the output stream encodes text
    (io.writer: a lone surrogate as a \\udXXX escape), so that the parent only writes them."""
    worst, lines = 0, []
    for first, item in chunk:
        for number, data in expand(first, item):
            code, line = job.line(number, data, True)
            if code > worst:
                worst = code
            lines.append(line)
    return worst, b"".join(lines)


def _chunks(items: Iterable[tuple[int, Any, int]], size: int) -> Iterator[Chunk]:
    items = iter(items)
    while True:
        chunk = [(number, data) for number, data, _size in islice(items, size)]
        if not chunk:
            return
        yield chunk


def _context() -> Any:  # typeshed gives `Process` only to each start method's own context
    # fork: the workers start with the loaded modules and the batch (no re-import, no pickling
    # of the regimen); elsewhere the platform's default, the batch pickled once per worker.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def _start(job: LineJob, expand: Expand, jobs: int) -> list[Worker]:
    ctx = _context()
    workers: list[Worker] = []
    for _ in range(jobs):
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=_worker, args=(job, expand, child_end, [c for _, c in workers]),
                           daemon=True)
        proc.start()
        child_end.close()
        workers.append((proc, parent_end))
    return workers


def _receive(worker: Worker) -> tuple[int, bytes]:
    proc, conn = worker
    try:
        status, value = conn.recv()
    except (EOFError, OSError):
        raise WorkerFailed(f"a worker process (pid {proc.pid}) ended without answering") from None
    if status == "error":
        raise value
    return value


def _stop(workers: list[Worker], clean: bool) -> None:
    for proc, conn in workers:
        if clean:
            try:
                conn.send(None)
            except OSError:
                pass
        else:
            proc.kill()  # nothing shared to leave locked: a plain kill is safe
    for proc, conn in workers:
        proc.join()
        conn.close()


def run_parallel(job: LineJob, items: Iterable[tuple[int, Any, int]], jobs: int,
                 out: TextIO, expand: Expand, per_chunk: int | None = None) -> int:
    """Write the lines of the items (first line number, undecoded records, size), in input
    order, ``per_chunk`` items to a task (CHUNK when not given); the worst exit code."""
    worst = 0
    pending: deque[Worker] = deque()  # the worker of each chunk in flight, in input order
    workers = _start(job, expand, jobs)
    clean = False
    try:
        for k, chunk in enumerate(_chunks(items, per_chunk or CHUNK)):
            worker = workers[k % jobs]
            worker[1].send(chunk)
            pending.append(worker)
            while len(pending) >= IN_FLIGHT * jobs:
                worst = max(worst, _write(_receive(pending.popleft()), out))
        while pending:
            worst = max(worst, _write(_receive(pending.popleft()), out))
        clean = True
    finally:
        _stop(workers, clean)
    return worst


def _write(result: tuple[int, bytes], out: TextIO) -> int:
    code, data = result
    write_bytes = getattr(out, "write_bytes", None)  # io.writer's streams
    if write_bytes is not None:
        write_bytes(data)
    else:
        out.write(data.decode("utf-8"))
    out.flush()
    return code
