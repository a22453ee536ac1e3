"""`ketadose serve`: the real CDS Hooks server on 127.0.0.1 (an ephemeral port), called over HTTP.

Skipped only when the serve extra is not installed; CI installs it with the test extra.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
jwt = pytest.importorskip("jwt")
httpx = pytest.importorskip("httpx")

from cds_requests import dumps, example_record, ketamine_order, prefetch_for, request  # noqa: E402

ISS = "https://ehr.example.org/"
DAY = dt.date(2026, 11, 25)
SIGN, SELECT = "ketadose-order-sign", "ketadose-order-select"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    ec_key = ec.generate_private_key(ec.SECP384R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub_ec = json.loads(ECAlgorithm.to_jwk(ec_key.public_key()))
    pub_ec.update(kid="ec-1", alg="ES384", use="sig")
    pub_rsa = json.loads(RSAAlgorithm.to_jwk(rsa_key.public_key()))
    pub_rsa.update(kid="rsa-1", alg="RS384", use="sig")
    path = tmp_path_factory.mktemp("keys") / "jwks.json"
    path.write_text(json.dumps({"issuers": {ISS: {"keys": [pub_ec, pub_rsa]}}}))
    other = ec.generate_private_key(ec.SECP384R1())  # a key nobody trusts
    return {"path": str(path), "ec": ec_key, "rsa": rsa_key, "other": other}


class Server:
    """The app under uvicorn in a thread, on a socket bound to 127.0.0.1:0."""

    def __init__(self, config):
        import uvicorn

        from ketadose.serve.app import create_app

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        config.public_url = f"http://127.0.0.1:{self.port}"
        self.url = config.public_url
        self.server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning",
                                                    access_log=False, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                break
            time.sleep(0.01)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(scope="module")
def server(keys, tmp_path_factory):
    from ketadose.serve.app import Config
    from ketadose.serve.auth import Verifier, load_issuers
    from ketadose.serve.hooks import Settings

    log = tmp_path_factory.mktemp("audit") / "feedback.jsonl"
    s = Server(Config("", Verifier(load_issuers(keys["path"])), str(log),
                      ("https://ehr-ui.example.org",), Settings(today=DAY)))
    s.audit_log = log
    yield s
    s.stop()


def token(keys, server, path, key="ec", alg="ES384", kid="ec-1", **claims):
    now = int(time.time())
    payload = {"iss": ISS, "aud": f"{server.url}{path}", "exp": now + 300, "iat": now,
               "jti": str(uuid.uuid4()), **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, keys[key],
                      algorithm=alg, headers={"kid": kid})


def call(keys, server, sid, body, **tok):
    path = f"/cds-services/{sid}"
    return httpx.post(server.url + path, content=body if isinstance(body, bytes) else dumps(body),
                      headers={"Authorization": f"Bearer {token(keys, server, path, **tok)}",
                               "Content-Type": "application/json"}, timeout=10)


def test_discovery_lists_both_hooks_with_prefetch(keys, server):
    r = httpx.get(server.url + "/cds-services", headers={
        "Authorization": f"Bearer {token(keys, server, '/cds-services')}"})
    assert r.status_code == 200
    services = {s["id"]: s for s in r.json()["services"]}
    assert {s["hook"] for s in services.values()} == {"order-select", "order-sign"}
    for s in services.values():
        assert s["description"] and "{{context.patientId}}" in s["prefetch"]["patient"]


def test_order_sign_for_the_example_patient_warns_and_never_says_all_clear(keys, server):
    r = call(keys, server, SIGN, request())
    assert r.status_code == 200
    cards = r.json()["cards"]
    kinds = {c["indicator"] for c in cards}
    assert kinds == {"warning"}
    assert any("incomplete" in c["summary"] for c in cards)  # previous courses are not in FHIR
    for c in cards:
        assert len(c["summary"]) < 140 and c["source"]["label"] and c["uuid"]


def test_ketamine_allergy_is_critical_without_override_reasons(keys, server):
    record = example_record()
    record["allergies"] = ["ketamine"]
    r = call(keys, server, SIGN, request(record=record))
    critical = [c for c in r.json()["cards"] if c["indicator"] == "critical"]
    assert critical and all("overrideReasons" not in c for c in critical)
    assert any("hypersensitivity" in c["summary"].lower() for c in critical)


def test_relative_contraindication_is_critical_with_override_reasons(keys, server):
    record = example_record()
    record["conditions"] = ["ischaemic-heart-disease"]
    cards = call(keys, server, SIGN, request(record=record)).json()["cards"]
    critical = [c for c in cards if c["indicator"] == "critical"]
    assert critical and all(c["overrideReasons"] for c in critical)
    assert all(r["display"] for c in critical for r in c["overrideReasons"])


def test_rate_above_a_hard_limit_is_critical_with_a_safe_suggestion(keys, server):
    cards = call(keys, server, SIGN, request(orders=[ketamine_order(rate_mg_h=300)])).json()["cards"]
    hard = [c for c in cards if c["indicator"] == "critical"]
    assert hard and all("overrideReasons" not in c for c in hard)
    action = hard[0]["suggestions"][0]["actions"][0]
    assert action["type"] == "update" and hard[0]["selectionBehavior"] == "at-most-one"
    from fhir.resources.R4B.medicationrequest import MedicationRequest

    fixed = MedicationRequest.model_validate(action["resource"])
    rate = fixed.dosageInstruction[0].doseAndRate[0].rateQuantity
    assert float(rate.value) < 300 and rate.code == "mg/h"
    # the suggested rate passes the gate: asking again with it gives no rate card
    again = call(keys, server, SIGN, request(orders=[action["resource"]])).json()["cards"]
    assert not any(c["summary"].startswith(("Ordered rate", "Ordered ")) for c in again)


def test_info_cards_for_soft_limits_that_the_template_confirms(keys, server):
    order = ketamine_order(regimen="cancer-pain-burst-ketamine")
    cards = call(keys, server, SIGN, request(orders=[order])).json()["cards"]
    assert "info" in {c["indicator"] for c in cards}


def test_missing_prefetch_is_named_on_a_card(keys, server):
    cards = call(keys, server, SIGN, request(drop=("allergies", "observations"))).json()["cards"]
    missing = [c for c in cards if "prefetch missing" in c["summary"]]
    assert missing and "allergies" in missing[0]["summary"] and "observations" in missing[0]["summary"]
    assert any("incomplete" in c["summary"] for c in cards)


def test_order_select_only_checks_the_selected_ketamine_order(keys, server):
    other = {"resourceType": "MedicationRequest", "id": "para-1", "status": "draft",
             "intent": "order", "subject": {"reference": "Patient/example-001"},
             "medicationCodeableConcept": {"text": "paracetamol 1 g"}}
    req = request("order-select", orders=[other, ketamine_order(coded=False)])
    assert call(keys, server, SELECT, req).json()["cards"] == []  # paracetamol selected
    req["context"]["selections"] = ["MedicationRequest/ket-1"]
    cards = call(keys, server, SELECT, req).json()["cards"]
    assert cards  # free-text ketamine order recognised
    r = call(keys, server, SIGN, req)  # hook and service must agree
    assert r.status_code == 400 and "order-sign" in r.json()["error"]


@pytest.mark.parametrize("case", ["none", "garbage", "wrong-aud", "expired", "untrusted-key",
                                  "unknown-iss", "hs256", "replay", "no-jti", "iss-list",
                                  "kid-of-another-algorithm", "bad-base64"])
def test_bad_tokens_get_401(keys, server, case):
    path = f"/cds-services/{SIGN}"
    now = int(time.time())
    if case == "none":
        headers = {}
    elif case == "garbage":
        headers = {"Authorization": "Bearer not.a.jwt"}
    elif case == "bad-base64":
        headers = {"Authorization": "Bearer e30.!!!!.x"}
    else:
        kw = {"wrong-aud": {"aud": server.url + "/cds-services/other"},
              "expired": {"exp": now - 120, "iat": now - 600},
              "untrusted-key": {"key": "other"},
              "unknown-iss": {"iss": "https://evil.example/"},
              "no-jti": {"jti": None}, "kid-of-another-algorithm": {"kid": "rsa-1"}}.get(case, {})
        if case == "iss-list":  # PyJWT will not encode it: signed as raw bytes
            tok = jwt.api_jws.encode(json.dumps({
                "iss": [ISS], "aud": server.url + path, "exp": now + 60, "iat": now,
                "jti": str(uuid.uuid4())}).encode(), keys["ec"], algorithm="ES384",
                headers={"kid": "ec-1"})
        elif case == "hs256":
            tok = jwt.encode({"iss": ISS, "aud": server.url + path, "exp": now + 60, "iat": now,
                              "jti": "x"}, "secret-secret-secret-secret-secret", algorithm="HS256",
                             headers={"kid": "ec-1"})
        else:
            tok = token(keys, server, path, **kw)
        headers = {"Authorization": f"Bearer {tok}"}
        if case == "replay":
            assert httpx.post(server.url + path, content=dumps(request()), headers=headers,
                              timeout=10).status_code == 200
    r = httpx.post(server.url + path, content=dumps(request()), headers=headers, timeout=10)
    assert r.status_code == 401 and r.json()["error"]
    assert "example-001" not in r.text


def test_rs384_tokens_are_accepted(keys, server):
    assert call(keys, server, SIGN, request(), key="rsa", alg="RS384", kid="rsa-1").status_code == 200


def test_oversized_and_malformed_bodies(keys, server):
    big = b'{"hook": "order-sign", "pad": "' + b"x" * (1 << 20) + b'"}'
    assert call(keys, server, SIGN, big).status_code == 413
    for body, status in ((b"{not json", 400), (b"[1, 2]", 400), (b'{"hook": "order-sign"}', 400),
                         (b'{"a": NaN}', 400)):
        r = call(keys, server, SIGN, body)
        assert r.status_code == status and "error" in r.json(), body
    bad_fhir = request()
    bad_fhir["prefetch"]["observations"]["entry"][0]["resource"]["valueQuantity"]["code"] = "stone"
    r = call(keys, server, SIGN, bad_fhir)
    assert r.status_code == 400 and "stone" in r.json()["error"]
    r = call(keys, server, "no-such-service", request())
    assert r.status_code == 404


def test_feedback_is_audited_with_ids_and_rule_ids_only(keys, server):
    cards = call(keys, server, SIGN, request(orders=[ketamine_order(rate_mg_h=300)])).json()["cards"]
    hard = next(c for c in cards if c["indicator"] == "critical")
    path = f"/cds-services/{SIGN}/feedback"
    body = {"feedback": [
        {"card": hard["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-11-25T10:00:00Z",
         "acceptedSuggestions": [{"id": hard["suggestions"][0]["uuid"]}]},
        {"card": cards[0]["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-25T10:01:00Z",
         "overrideReason": {"reason": cards[0]["overrideReasons"][0],
                            "userComment": "Jane Doe agreed"}}]}
    r = httpx.post(server.url + path, content=dumps(body), timeout=10, headers={
        "Authorization": f"Bearer {token(keys, server, path)}"})
    assert r.status_code == 200 and r.json() == {"recorded": 2}
    lines = [json.loads(x) for x in server.audit_log.read_text().splitlines()]
    assert lines[-2]["rule"] and lines[-2]["outcome"] == "accepted"
    assert lines[-1]["override_reason"].endswith("benefit-outweighs-risk")
    assert "Jane" not in server.audit_log.read_text()
    r = httpx.post(server.url + path, content=b'{"feedback": [{"card": 1}]}', timeout=10,
                   headers={"Authorization": f"Bearer {token(keys, server, path)}"})
    assert r.status_code == 400


def test_cors_preflight_for_an_allowed_origin_only(server):
    ok = httpx.options(server.url + f"/cds-services/{SIGN}", headers={
        "Origin": "https://ehr-ui.example.org", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert ok.headers["access-control-allow-origin"] == "https://ehr-ui.example.org"
    bad = httpx.options(server.url + f"/cds-services/{SIGN}", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in bad.headers


def test_the_prefetch_is_valid_fhir_r4b():
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.patient import Patient

    pf = prefetch_for(example_record())
    Patient.model_validate(pf.pop("patient"))
    for b in pf.values():
        Bundle.model_validate(b)
    Bundle.model_validate(request()["context"]["draftOrders"])


def _serve(*args):
    return subprocess.Popen([sys.executable, "-m", "ketadose", "serve", *args],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)


def test_the_cli_serves_on_an_ephemeral_port_and_stops_on_sigint(tmp_path):
    proc = _serve("--port", "0", "--no-auth", "--audit-log", str(tmp_path / "a.jsonl"))
    try:
        warning = proc.stderr.readline()
        assert "WARNING" in warning and "--no-auth" in warning
        line = proc.stderr.readline()
        url = line.split("listening on ")[1].split()[0]
        r = httpx.get(url + "/cds-services", timeout=10)
        assert r.status_code == 200 and len(r.json()["services"]) == 2
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=15) == 0


def test_no_auth_is_refused_off_loopback_and_without_keys():
    for args, message in ((["--no-auth", "--host", "0.0.0.0"], "loopback"), ([], "--jwks")):
        proc = _serve("--port", "0", *args)
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 2 and message in err
        assert len(err.strip().splitlines()) == 1


def test_cli_start_up_does_not_import_the_server():
    code = ("import sys; from ketadose.cli import main\n"
            "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'jwt', "
            "'httpx') or m.startswith('ketadose.serve') or m == 'ketadose.io.fhir_in']\n"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": ""})
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_brand_name_orders_are_recognised_by_the_allergy_vocabulary(keys, server):
    order = ketamine_order(coded=False)
    order["medicationCodeableConcept"] = {"text": "KETALAR 50 mg/mL injection"}
    assert call(keys, server, SIGN, request(orders=[order])).json()["cards"]
    order["medicationCodeableConcept"] = {"text": "ketorolac 30 mg/mL injection"}
    assert call(keys, server, SIGN, request(orders=[order])).json()["cards"] == []


def test_another_patients_data_is_refused(keys, server):
    req = request()
    req["context"]["patientId"] = "someone-else"
    r = call(keys, server, SIGN, req)
    assert r.status_code == 400 and "patientId" in r.json()["error"]
    req = request(orders=[ketamine_order(pid="someone-else")])
    r = call(keys, server, SIGN, req)
    assert r.status_code == 400 and "someone-else" in r.json()["error"]


def test_the_replay_cache_forgets_only_expired_tokens():
    """Live jtis are kept however many arrive (a replay is refused until the token expires);
    expired ones are dropped once the cache has doubled, so the scan is not paid per request."""
    from ketadose.serve.auth import LEEWAY_S, Verifier

    v = Verifier({})
    now = 1_000_000.0
    for i in range(5000):
        v.seen[f"live-{i}"] = now + 300
        v.seen[f"old-{i}"] = now - LEEWAY_S - 1
        v._forget(now)
    assert all(f"live-{i}" in v.seen for i in range(5000))
    assert sum(j.startswith("old-") for j in v.seen) < 5000  # pruned along the way
    v._prune_at = 0
    v._forget(now)
    assert not any(j.startswith("old-") for j in v.seen) and len(v.seen) == 5000
