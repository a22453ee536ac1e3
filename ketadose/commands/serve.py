"""`ketadose serve`: run the CDS Hooks service (the optional extra ``ketadose[serve]``)."""

from __future__ import annotations

import ipaddress
import signal
import socket
import sys

from ketadose.errors import KetadoseError


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_workers() -> int:
    """Worker processes when --workers is not given: none on a machine with one or two usable
    cores (measured on two: the EHR's connections, the proxy and the server share them, and
    workers added a hop without lowering latency; docs/fhir-and-cds-hooks.md), else one per
    core beyond the first, at most 8."""
    import os

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return 0 if cores <= 2 else min(cores - 1, 8)


def run_serve(dirs, host, port, jwks, no_auth, public_url, regimen, audit_log, cors,
              workers=None) -> int:
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        raise KetadoseError("the CDS Hooks service needs the serve extra: "
                            "pip install 'ketadose[serve]'") from None
    from ketadose.serve.app import Config, create_app
    from ketadose.serve.hooks import Settings

    if no_auth and jwks:
        raise KetadoseError("--no-auth and --jwks contradict each other; give one")
    if no_auth and not _loopback(host):
        raise KetadoseError(f"--no-auth only on a loopback address (127.0.0.1, ::1), not {host}")
    if not no_auth and not jwks:
        raise KetadoseError("give --jwks FILE (trusted EHR issuers and their public keys), or "
                            "--no-auth for a demo on 127.0.0.1")
    verifier = None
    if jwks:
        from ketadose.serve.auth import Verifier, load_issuers

        try:
            verifier = Verifier(load_issuers(jwks))
        except (OSError, ValueError) as exc:
            raise KetadoseError(f"cannot use the key file: {exc}", jwks) from None
    settings = Settings(tuple(dirs), regimen)
    if regimen:
        settings.regimen(regimen)  # a wrong clinic default fails now, not at order time
    workers = default_workers() if workers is None else workers
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it: a response written as headers then body must not wait
    # for a delayed ACK (it cost 40 ms a request on loopback)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise KetadoseError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    bound = sock.getsockname()[1]
    url = public_url or f"http://{host if family == socket.AF_INET else f'[{host}]'}:{bound}"
    pool = None
    if workers:
        from ketadose.serve.workers import Workers

        pool = Workers(workers, settings)  # started and warm before the service listens
    else:
        import gc

        from ketadose.serve.hooks import warm

        warm(settings)
        gc.freeze()  # loaded for the whole run: keep it out of the collector's passes
    config = Config(url, verifier, audit_log, tuple(cors), settings, pool)
    if no_auth:
        print("ketadose serve: WARNING: --no-auth: requests are NOT authenticated; for tests and "
              "demos on this machine only", file=sys.stderr, flush=True)
    print(f"ketadose serve: listening on http://{host}:{bound} (public URL {url})",
          file=sys.stderr, flush=True)
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning",
                                           access_log=False, lifespan="off"))
    # uvicorn shuts down gracefully on SIGINT/SIGTERM and then re-raises the signal to the
    # handlers it found: ours turn that into a normal stop (exit 0), not "aborted".
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stopped)
    try:
        server.run(sockets=[sock])
    except _Stop:
        pass
    finally:
        if pool is not None:
            pool.close()
    print("ketadose serve: stopped", file=sys.stderr, flush=True)
    return 0


class _Stop(Exception):
    pass


def _stopped(signum, frame):
    raise _Stop
