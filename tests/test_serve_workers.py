"""`ketadose serve --workers N`: answers made in worker processes (serve/workers.py), started
through the real CLI on 127.0.0.1 (an ephemeral port) and stopped by the test.

What must hold for the whole service holds with several workers: a token is accepted once
(however many copies arrive at the same moment), the feedback audit finds the rule of a card
any worker issued, the answers are the in-process answers, a dead worker costs one answer
(500, no detail) and is replaced, and SIGINT stops the server and every worker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
jwt = pytest.importorskip("jwt")
httpx = pytest.importorskip("httpx")

from cds_requests import dumps, ketamine_order, request  # noqa: E402

ISS = "https://ehr.example.org/"
SIGN = "ketadose-order-sign"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    tmp = tmp_path_factory.mktemp("workers")
    key = ec.generate_private_key(ec.SECP384R1())
    pub = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    pub.update(kid="k1", alg="ES384")
    (tmp / "jwks.json").write_text(json.dumps({"issuers": {ISS: {"keys": [pub]}}}))
    proc = subprocess.Popen([sys.executable, "-m", "ketadose", "serve", "--port", "0", "--jwks",
                             str(tmp / "jwks.json"), "--audit-log", str(tmp / "audit.jsonl"),
                             "--workers", "2", "--regimen", "crps-schwartzman-2009"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        line = proc.stderr.readline()
        assert "listening on" in line, line
        url = line.split("listening on ")[1].split()[0]
        yield {"url": url, "key": key, "proc": proc, "audit": tmp / "audit.jsonl"}
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def token(svc, path, jti=None):
    now = int(time.time())
    return jwt.encode({"iss": ISS, "aud": svc["url"] + path, "iat": now, "exp": now + 300,
                       "jti": jti or str(uuid.uuid4())}, svc["key"], algorithm="ES384",
                      headers={"kid": "k1"})


def post(svc, path, body, tok=None):
    return httpx.post(svc["url"] + path, content=body if isinstance(body, bytes) else dumps(body),
                      headers={"Authorization": f"Bearer {tok or token(svc, path)}"}, timeout=30)


def workers_of(pid) -> list:
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as fh:
            out += [int(c) for c in fh.read().split()]
    return [p for p in out if b"ketadose" in open(f"/proc/{p}/cmdline", "rb").read()
            or b"multiprocessing" in open(f"/proc/{p}/cmdline", "rb").read()]


def _strip(cards):
    """Cards without their random uuids (card and suggestion)."""
    out = []
    for c in cards:
        c = dict(c)
        c.pop("uuid")
        c["suggestions"] = [{k: v for k, v in s.items() if k != "uuid"}
                            for s in c.get("suggestions", [])]
        out.append(c)
    return out


def test_copies_of_one_token_sent_at_once_are_accepted_once(service):
    path = f"/cds-services/{SIGN}"
    tok = token(service, path)
    body = dumps(request())
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: post(service, path, body, tok).status_code, range(8)))
    assert sorted(codes) == [200] + [401] * 7


def test_worker_answers_are_the_in_process_answers(service):
    from ketadose.serve.hooks import Settings, answer

    settings = Settings(default_regimen="crps-schwartzman-2009")
    for rate in (None, 20, 300):
        body = request(orders=[ketamine_order(rate_mg_h=rate)])
        r = post(service, f"/cds-services/{SIGN}", body)
        assert r.status_code == 200
        assert _strip(r.json()["cards"]) == _strip(answer(SIGN, body, settings)["cards"])


def test_feedback_finds_the_rule_of_a_card_a_worker_issued(service):
    cards = post(service, f"/cds-services/{SIGN}",
                 request(orders=[ketamine_order(rate_mg_h=300)])).json()["cards"]
    path = f"/cds-services/{SIGN}/feedback"
    r = post(service, path, {"feedback": [
        {"card": c["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:00:00Z"}
        for c in cards]})
    assert r.status_code == 200 and r.json() == {"recorded": len(cards)}
    lines = [json.loads(x) for x in service["audit"].read_text().splitlines()][-len(cards):]
    assert all(x["rule"] and x["rule"].startswith("KD-") for x in lines)


def test_bad_bodies_are_400_from_a_worker(service):
    path = f"/cds-services/{SIGN}"
    r = post(service, path, b'{"hook": NaN}')
    assert r.status_code == 400 and "malformed JSON" in r.json()["error"]
    r = post(service, path, {"hook": "order-select", "hookInstance": "x", "context": {}})
    assert r.status_code == 400 and "order-sign" in r.json()["error"]


def test_a_dead_worker_costs_one_answer_and_is_replaced(service):
    """SIGKILL both workers (one at a time, while idle): the next requests are 500 with the
    fixed message (never a partial answer), and the service answers again after that."""
    path = f"/cds-services/{SIGN}"
    assert len(workers_of(service["proc"].pid)) >= 2
    for pid in workers_of(service["proc"].pid):
        if b"resource_tracker" not in open(f"/proc/{pid}/cmdline", "rb").read():
            os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    codes = []
    for _ in range(6):
        r = post(service, path, request())
        codes.append(r.status_code)
        if r.status_code == 500:
            assert r.json() == {"error": "internal error in the ketadose CDS service"}
        else:
            assert r.status_code == 200 and r.json()["cards"]
    assert codes[-1] == 200 and set(codes) <= {200, 500} and codes.count(500) <= 2


def test_sigint_stops_the_server_and_every_worker(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "ketadose", "serve", "--port", "0",
                             "--no-auth", "--workers", "2", "--audit-log",
                             str(tmp_path / "a.jsonl")],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert "WARNING" in proc.stderr.readline()
        url = proc.stderr.readline().split("listening on ")[1].split()[0]
        kids = workers_of(proc.pid)
        assert len(kids) >= 2
        body = request()
        body["context"]["draftOrders"]["entry"][0]["resource"]["extension"] = []
        r = httpx.post(url + f"/cds-services/{SIGN}", content=dumps(body), timeout=30)
        assert r.status_code == 200 and r.json()["cards"]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    err = proc.stderr.read()
    assert "Traceback" not in err and "stopped" in err
    deadline = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{k}") for k in kids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(os.path.exists(f"/proc/{k}") and
                   open(f"/proc/{k}/stat").read().split()[2] != "Z" for k in kids)


def test_the_workers_option_is_checked():
    r = subprocess.run([sys.executable, "-m", "ketadose", "serve", "--workers", "-1",
                        "--no-auth"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--workers" in r.stderr


def test_an_internal_error_is_a_fixed_500_and_its_message_is_never_logged(monkeypatch, capsys):
    """respond() (in the server process or a worker): an exception in an answer gives the fixed
    500 body; the log line names the exception type and place, not its text (which could carry
    patient data)."""
    from ketadose.serve import workers
    from ketadose.serve.hooks import Settings

    def boom(service, body, settings):
        raise KeyError("Jane Doe, born 1981-03-14")

    monkeypatch.setattr(workers, "cards_for", boom)
    status, payload, issued = workers.respond(SIGN, dumps(request()), Settings())
    assert (status, payload, issued) == (500, workers.INTERNAL, [])
    err = capsys.readouterr().err
    assert err.startswith("ketadose serve: internal error KeyError at ") and err.count("\n") == 1
    assert "Jane" not in err and "1981" not in err
