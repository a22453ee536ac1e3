"""The ASGI application (Starlette): routes, authentication, body bounds, errors, CORS, and the
feedback audit log. The answers themselves come from serve/hooks.py."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ketadose.serve.auth import Unauthorized, Verifier
from ketadose.serve.hooks import SERVICES, BadRequest, Settings, discovery, remember
from ketadose.serve.workers import Workers, parse, respond

MAX_BODY = 1 << 20  # 1 MiB


@dataclass
class Config:
    public_url: str  # the base URL the EHR calls (JWT audience), e.g. https://cds.clinic.example
    verifier: Verifier | None = None  # serve.auth.Verifier; None only with --no-auth (loopback)
    audit_log: str = "ketadose-cds-feedback.jsonl"
    cors_origins: tuple = ()
    settings: Settings = field(default_factory=Settings)
    # answers made in worker processes (serve/workers.py); None: in this process, in the loop
    workers: Workers | None = None


def _error(status, message, **headers):
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def create_app(config: Config) -> Starlette:
    lock = threading.Lock()
    base = config.public_url.rstrip("/")

    def authenticate(request: Request, *audiences):
        if config.verifier is None:
            return
        config.verifier.verify(request.headers.get("authorization"),
                               tuple(f"{base}{a}" for a in audiences))

    async def read_body(request: Request):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return None, _error(413, f"request body over {MAX_BODY // 1024} KiB")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return None, _error(413, f"request body over {MAX_BODY // 1024} KiB")
        return bytes(body), None

    async def read_json(request: Request):
        body, err = await read_body(request)
        if err is not None:
            return None, err
        try:
            return parse(body), None
        except ValueError as exc:
            return None, _error(400, str(exc))

    async def services(request: Request):
        try:
            authenticate(request, "/cds-services")
        except Unauthorized as exc:
            return _error(401, str(exc), **{"WWW-Authenticate": "Bearer"})
        return JSONResponse(discovery())

    async def call(request: Request):
        sid = request.path_params["service"]
        if sid not in SERVICES:
            return _error(404, f"no service {sid!r}")
        try:
            authenticate(request, f"/cds-services/{sid}")
        except Unauthorized as exc:
            return _error(401, str(exc), **{"WWW-Authenticate": "Bearer"})
        body, err = await read_body(request)
        if err is not None:
            return err
        if config.workers is not None:
            status, payload, issued = await config.workers.respond(sid, body)
        else:
            status, payload, issued = respond(sid, body, config.settings)
        remember(config.settings, sid, issued)
        return Response(payload, status_code=status, media_type="application/json")

    async def feedback(request: Request):
        sid = request.path_params["service"]
        if sid not in SERVICES:
            return _error(404, f"no service {sid!r}")
        try:
            authenticate(request, f"/cds-services/{sid}/feedback", f"/cds-services/{sid}")
        except Unauthorized as exc:
            return _error(401, str(exc), **{"WWW-Authenticate": "Bearer"})
        body, err = await read_json(request)
        if err is not None:
            return err
        try:
            lines = _feedback_lines(sid, body, config.settings)
        except BadRequest as exc:
            return _error(400, str(exc))
        with lock:  # one writer: lines from concurrent requests never interleave
            fd = os.open(config.audit_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, "".join(json.dumps(x, ensure_ascii=False) + "\n"
                                     for x in lines).encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        return JSONResponse({"recorded": len(lines)})

    async def server_error(request: Request, exc: Exception):
        # No detail: an exception text could carry patient data into a response or a log.
        return _error(500, "internal error in the ketadose CDS service")

    middleware = []
    if config.cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                                     allow_methods=["GET", "POST", "OPTIONS"],
                                     allow_headers=["Authorization", "Content-Type"],
                                     allow_credentials=False, max_age=600))
    return Starlette(routes=[
        Route("/cds-services", services, methods=["GET"]),
        Route("/cds-services/{service}", call, methods=["POST"]),
        Route("/cds-services/{service}/feedback", feedback, methods=["POST"]),
    ], middleware=middleware, exception_handlers={Exception: server_error})


def _feedback_lines(sid, body, settings) -> list:
    """Audit records: ids, outcome, rule ids and reason codes only (no free text, no names)."""
    items = body.get("feedback") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or len(items) > 1000:
        raise BadRequest("feedback must be a non-empty array of Feedback objects")
    received = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("card"), str):
            raise BadRequest("each feedback needs card (the card uuid)")
        if item.get("outcome") not in ("accepted", "overridden"):
            raise BadRequest("outcome must be accepted or overridden")
        if not isinstance(item.get("outcomeTimestamp"), str):
            raise BadRequest("outcomeTimestamp is required")
        accepted = item.get("acceptedSuggestions") or []
        if item["outcome"] == "accepted" and not accepted:
            raise BadRequest("an accepted outcome needs acceptedSuggestions")
        if not isinstance(accepted, list) or not all(isinstance(a, dict) and isinstance(
                a.get("id"), str) for a in accepted):
            raise BadRequest("acceptedSuggestions items need an id")
        reason = item.get("overrideReason") or {}
        coding = reason.get("reason") if isinstance(reason, dict) else None
        issued = settings.issued.get(item["card"])
        out.append({"received": received, "service": sid, "card": item["card"][:100],
                    "rule": issued[1] if issued and issued[0] == sid else None,
                    "outcome": item["outcome"],
                    "override_reason": (f"{coding.get('system')}|{coding.get('code')}"[:300]
                                        if isinstance(coding, dict) else None),
                    "accepted_suggestions": [a["id"][:100] for a in accepted],
                    "outcome_timestamp": item["outcomeTimestamp"][:40]})
    return out
