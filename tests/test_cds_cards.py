"""CDS Hooks answers as properties over generated patients and orders (serve/hooks.py, no server):
a ketamine order always gets cards (never a silent all-clear), absolute contraindications and
hard limits never offer override reasons, and damaged requests are 400s, never crashes."""

from __future__ import annotations

import copy
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from test_fhir_import import JSON, RECORDS, _paths

from cds_requests import ketamine_order, prefetch_for, request
from conftest import budget
from ketadose.serve.hooks import BadRequest, Settings, answer, cards_for

DAY = dt.date(2026, 11, 25)
SETTINGS = Settings(today=DAY)
REGIMENS = ["crps-schwartzman-2009", "crps-sigtermans-2009", "consensus-cohen-2018",
            "cancer-pain-burst-ketamine", "crps-ketcrps2-esketamine", None]


@settings(max_examples=budget(120), deadline=None)
@given(RECORDS, st.integers(18, 90), st.sampled_from(REGIMENS),
       st.none() | st.floats(0.5, 400), st.sampled_from(["order-sign", "order-select"]),
       st.lists(st.sampled_from(["patient", "observations", "conditions", "medicationRequests",
                                 "medicationStatements", "allergies"]), unique=True, max_size=3))
def test_every_ketamine_order_gets_cards_and_absolutes_are_never_overridable(
        record, age, regimen, rate, hook, drop):
    record = dict(record, id="p-1", age=age)
    if record.get("sex") == "male":
        record.pop("pregnant", None)
    pf = prefetch_for(record, birth=f"{2026 - age}-01-01")
    body = request(hook, record=record, prefetch=pf, drop=drop,
                   orders=[ketamine_order(rate, regimen=regimen, pid="p-1")])
    sid = "ketadose-order-sign" if hook == "order-sign" else "ketadose-order-select"
    cards = answer(sid, body, SETTINGS)["cards"]
    assert cards, "a ketamine order got no card"
    for c in cards:
        assert len(c["summary"]) < 140 and c["indicator"] in ("info", "warning", "critical")
        assert c["source"]["label"] and c["uuid"] and c["detail"]
        if "suggestions" in c:
            assert c["selectionBehavior"] == "at-most-one"
        if c.get("overrideReasons"):
            assert all(r["display"] for r in c["overrideReasons"])
    # absolutes and hard limits: critical, never overridable
    for c in cards:
        if "(absolute)" in c["detail"] or "a hard limit" in c["detail"]:
            assert c["indicator"] == "critical" and "overrideReasons" not in c, c
    if drop:
        assert any("prefetch missing" in c["summary"] for c in cards)
    if record.get("allergies") and "ketamine" in record["allergies"] and "allergies" not in drop:
        assert any(c["indicator"] == "critical" and "overrideReasons" not in c for c in cards)


@settings(max_examples=budget(200), deadline=None)
@given(st.data())
def test_a_damaged_request_is_a_400_never_a_crash(data):
    body = request()
    paths = [p for p in _paths(body) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        parent = body
        try:
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = data.draw(JSON)
        except (KeyError, IndexError, TypeError):
            continue
    try:
        out = answer("ketadose-order-sign", copy.deepcopy(body), SETTINGS)
    except BadRequest:
        return
    assert isinstance(out["cards"], list)


def test_an_order_cannot_make_the_service_read_a_file():
    for ref in ("/etc/passwd", "../regimens/x.yaml", "crps-schwartzman-2009.yaml", "A B"):
        cards = answer("ketadose-order-sign", request(orders=[ketamine_order(regimen=ref)]),
                       SETTINGS)["cards"]
        assert any("not a regimen id" in c["summary"] for c in cards)
        assert not any("root:" in c["detail"] for c in cards)


def test_an_unconfirmed_soft_limit_is_critical_but_overridable_and_a_hard_one_is_not():
    record = {"id": "p-1", "age": 40, "sex": "male", "weight": "150 kg", "height": "180 cm",
              "conditions": [], "medications": [], "allergies": []}
    body = request(record=record, prefetch=prefetch_for(record, birth="1986-01-01"),
                   orders=[ketamine_order(regimen="crps-ketcrps2-esketamine", pid="p-1")])
    cards = answer("ketadose-order-sign", body, SETTINGS)["cards"]
    soft = [c for c in cards if "soft limit; the plan needs" in c["detail"]]
    assert soft and all(c["indicator"] == "critical" and c["overrideReasons"] for c in soft)
    body = request(record=record, prefetch=prefetch_for(record, birth="1986-01-01"),
                   orders=[ketamine_order(rate_mg_h=300, regimen="crps-schwartzman-2009",
                                          pid="p-1")])
    hard = [c for c in answer("ketadose-order-sign", body, SETTINGS)["cards"]
            if "a hard limit" in c["detail"]]
    assert hard and all(c["indicator"] == "critical" and "overrideReasons" not in c for c in hard)


def test_a_finding_on_an_unverified_basis_is_marked_on_its_card():
    """Seizure disorder is a caution by ketadose's choice (KD-CI-011, UNVERIFIED): the card says
    so first in its summary and names the basis in its detail, as every other output does."""
    from cds_requests import example_record

    record = example_record()
    record["conditions"] = list(record.get("conditions") or []) + ["seizure-disorder"]
    body = request(record=record)
    cards, issued = cards_for("ketadose-order-sign", body, SETTINGS)
    rules = dict(issued)
    card = next(c for c in cards["cards"] if rules[c["uuid"]] == "KD-CI-011")
    assert card["summary"].startswith("[UNVERIFIED] ") and len(card["summary"]) < 140
    assert "**UNVERIFIED**: no source in docs/evidence.md grades seizure disorder" in card["detail"]
    for c in cards["cards"]:  # and only cards on an unverified basis carry the mark
        assert ("UNVERIFIED" in c["summary"]) == ("**UNVERIFIED**" in c["detail"])


def test_a_suggested_rate_from_an_unverified_phase_maximum_is_marked():
    """Sigtermans 2009's titration maximum (7.2 mcg/kg/min) is UNVERIFIED: an order above it gets
    the planned rate as the suggestion, marked, on a marked card."""
    body = request(orders=[ketamine_order(rate_mg_h=60, regimen="crps-sigtermans-2009")])
    cards = answer("ketadose-order-sign", body, SETTINGS)["cards"]
    rate_cards = [c for c in cards if c.get("suggestions")]
    assert rate_cards
    for c in rate_cards:
        assert c["summary"].startswith("[UNVERIFIED] ")
        assert "phase 'titrated infusion' max: 7.2 mcg/kg/min was not found" in c["detail"]
        assert all(s["label"].endswith("(UNVERIFIED)") for s in c["suggestions"])
    phase_cards = [c for c in cards if "titrated infusion:" in c["summary"]]
    assert phase_cards and all(c["summary"].startswith("[UNVERIFIED] ") for c in phase_cards)
