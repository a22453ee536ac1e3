"""`--jobs N` for batches (issue 18): records are read here, in order, sent in chunks to N
worker processes, and their lines written back in input order as each chunk is done.

The records are read and split by this process only (so a bad CSV header, an over-long line or
a broken record is found and reported exactly as in a one-process run), each worker has the
batch's regimen, options and vocabulary from the start (fork), and at most a few chunks per
worker are in flight: memory stays flat however long the input, and a pipe reader still sees
lines as they are done. A worker's exception (our bug) ends the run as in a one-process run.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections import deque
from itertools import islice

CHUNK = 256  # records per task: large enough that sending them costs little, small for latency
IN_FLIGHT = 3  # chunks queued per worker

_job = None  # the batch in a worker process


def _start_worker(job) -> None:
    global _job
    _job = job
    # Ctrl-C and the parent's SIGTERM/SIGHUP handling belong to the parent, which ends the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def _work(chunk) -> tuple:
    worst, lines = 0, []
    for number, data in chunk:
        code, line = _job.line(number, data)
        worst = max(worst, code)
        lines.append(line)
    return worst, "".join(lines)


def _chunks(items):
    items = iter(items)
    while True:
        chunk = [(number, data) for number, data, _size in islice(items, CHUNK)]
        if not chunk:
            return
        yield chunk


def _context():
    # fork: the workers start with the loaded modules and the batch (no re-import, no pickling
    # of the regimen); elsewhere the platform's default, the batch pickled once per worker.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def run_parallel(job, items, jobs: int, out) -> int:
    worst = 0
    pending: deque = deque()
    with _context().Pool(jobs, initializer=_start_worker, initargs=(job,)) as pool:
        for chunk in _chunks(items):
            pending.append(pool.apply_async(_work, (chunk,)))
            while len(pending) >= IN_FLIGHT * jobs or (pending and pending[0].ready()):
                worst = max(worst, _write(pending.popleft().get(), out))
        while pending:
            worst = max(worst, _write(pending.popleft().get(), out))
    return worst


def _write(result, out) -> int:
    code, text = result
    out.write(text)
    out.flush()
    return code
