"""Answers made in worker processes, so that a burst of orders uses every core.

An answer is CPU work in Python (the FHIR import, screen, plan and gate: a few ms): made inside
the event loop it holds the loop, and every request waiting behind it queues (16 concurrent
orders on one core waited about 100 ms). Threads would not help (the interpreter lock), so the
answers are made in a pool of processes, each with its own copy of the regimens, vocabulary and
limit library, loaded once when it starts.

What must be one for the whole service stays in the server process: the authentication and its
replay cache (a token's ``jti`` is accepted once, checked and recorded in the event loop with no
await in between, so two copies of a token never both pass) and the card -> rule map of the
feedback audit. A worker gets the raw body and returns the HTTP status, the JSON bytes and the
(card uuid, rule) pairs it issued; it keeps nothing between requests but its caches.

Nothing here imports the web stack: a worker loads only ketadose.
"""

from __future__ import annotations

import asyncio
import json
import sys

from ketadose.serve.hooks import BadRequest, Settings, cards_for, warm

_settings: Settings | None = None  # a worker's own settings (set by _start_worker)

INTERNAL = b'{"error":"internal error in the ketadose CDS service"}'


def _encode(data) -> bytes:
    # as Starlette's JSONResponse encodes
    return json.dumps(data, ensure_ascii=False, allow_nan=False, indent=None,
                      separators=(",", ":")).encode("utf-8")


def error(message: str) -> bytes:
    return _encode({"error": message})


def _no_constant(name):
    raise ValueError(f"{name} is not a number")


def parse(raw: bytes):
    """The JSON body, or ValueError with a one-line reason (NaN and Infinity are not JSON)."""
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"malformed JSON: {str(exc).splitlines()[0][:200]}") from None


def respond(service: str, raw: bytes, settings: Settings | None = None) -> tuple:
    """(HTTP status, JSON body bytes, [(card uuid, rule)]) for a hook request's raw body."""
    settings = settings if settings is not None else _settings
    if settings is None:
        raise RuntimeError("respond() outside a worker needs settings")
    try:
        body = parse(raw)
        response, issued = cards_for(service, body, settings)
        return 200, _encode(response), issued
    except ValueError as exc:
        return 400, error(str(exc)), []
    except BadRequest as exc:
        return 400, error(str(exc)), []
    except Exception as exc:  # our bug: a fixed answer, and a log line without its message
        _log_internal(exc)
        return 500, INTERNAL, []


def _log_internal(exc: BaseException) -> None:
    """The exception's type and where it was raised, never its text: an exception message can
    carry patient data, and the service logs none."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else ""
    print(f"ketadose serve: internal error {type(exc).__name__}{where}", file=sys.stderr,
          flush=True)


# A frame on a worker's socket: 4-byte big-endian length, then a pickle. Only the server process
# and the workers it started hold these sockets (a socketpair, inherited by the spawned process).
_HEAD = 4


def _send(sock, data) -> None:
    import pickle

    blob = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(len(blob).to_bytes(_HEAD, "big") + blob)


def _recv_exact(sock, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise EOFError
        buf += chunk
    return bytes(buf)


def _worker_main(sock, dirs, default_regimen, today) -> None:
    """A worker process: load once, then answer (service, body) frames until the server
    process closes the socket (or dies: the read ends, and so does the worker)."""
    import gc
    import pickle
    import signal

    # Ctrl-C reaches the whole process group: the server process stops the workers in order
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _settings
    _settings = Settings(tuple(dirs), default_regimen, today)
    warm(_settings)
    gc.freeze()  # what warm() loaded lives as long as the worker: keep it out of collections
    _send(sock, "ready")
    while True:
        try:
            size = int.from_bytes(_recv_exact(sock, _HEAD), "big")
            service, raw = pickle.loads(_recv_exact(sock, size))
        except (EOFError, OSError):
            return
        _send(sock, respond(service, raw))


class _Worker:
    def __init__(self, args):
        import multiprocessing
        import socket

        parent, child = socket.socketpair()
        # spawned, not forked: the server process has threads and an event loop a fork would copy
        self.process = multiprocessing.get_context("spawn").Process(
            target=_worker_main, args=(child, *args), daemon=True, name="ketadose-cds-worker")
        self.process.start()
        child.close()
        self.sock = parent
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def wait_ready(self, timeout: float) -> None:
        import pickle

        self.sock.settimeout(timeout)
        size = int.from_bytes(_recv_exact(self.sock, _HEAD), "big")
        if pickle.loads(_recv_exact(self.sock, size)) != "ready":
            raise RuntimeError("a CDS worker did not start")
        self.sock.settimeout(None)

    async def call(self, service: str, raw: bytes) -> tuple:
        import pickle

        if self.reader is None or self.writer is None:
            self.sock.setblocking(False)
            self.reader, self.writer = await asyncio.open_connection(sock=self.sock,
                                                                     limit=1 << 22)
        blob = pickle.dumps((service, raw), protocol=pickle.HIGHEST_PROTOCOL)
        self.writer.write(len(blob).to_bytes(_HEAD, "big") + blob)
        await self.writer.drain()
        size = int.from_bytes(await self.reader.readexactly(_HEAD), "big")
        return pickle.loads(await self.reader.readexactly(size))

    def close(self) -> None:
        if self.writer is not None:
            try:
                self.writer.close()
            except RuntimeError:  # the event loop has already ended (the service stopped)
                pass
        self.sock.close()  # the worker reads the end of its input and returns
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)


class Workers:
    """N worker processes, each answering one request at a time; all started and warm before
    the service listens. A request waits for an idle worker (in arrival order)."""

    def __init__(self, n: int, settings: Settings, start_timeout: float = 120):
        self.args = (tuple(settings.dirs), settings.default_regimen, settings.today)
        self.timeout = start_timeout
        self.all = [_Worker(self.args) for _ in range(n)]
        try:
            for w in self.all:
                w.wait_ready(start_timeout)
        except BaseException:
            self.close()
            raise
        self._idle: asyncio.Queue | None = None

    async def respond(self, service: str, raw: bytes) -> tuple:
        if self._idle is None:  # made in the event loop that uses it
            self._idle = asyncio.Queue()
            for w in self.all:
                self._idle.put_nowait(w)
        idle = self._idle
        worker = await idle.get()
        try:
            result = await worker.call(service, raw)
        except (EOFError, OSError, asyncio.IncompleteReadError):
            # the worker died (killed, out of memory): this answer is lost (500; the EHR may
            # retry), and a new worker takes its place
            print("ketadose serve: a worker process died; starting a new one", file=sys.stderr,
                  flush=True)
            worker.close()
            worker = await asyncio.get_running_loop().run_in_executor(None, self._replace, worker)
            return 500, INTERNAL, []
        except BaseException:
            # cancelled mid-answer (the client went away): the reply is still coming, so this
            # worker's socket is out of step; replace it rather than read a stale answer later
            worker.close()
            worker = await asyncio.get_running_loop().run_in_executor(None, self._replace, worker)
            raise
        finally:
            idle.put_nowait(worker)
        return result

    def _replace(self, old: _Worker) -> _Worker:
        new = _Worker(self.args)
        new.wait_ready(self.timeout)
        self.all[self.all.index(old)] = new
        return new

    def close(self) -> None:
        for w in self.all:
            w.close()
