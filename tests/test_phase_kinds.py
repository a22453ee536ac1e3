"""One class per phase kind (issue 17 item 2): a planned phase carries the part of its own kind
and no other, and what the regimen, the calendar and the renderers need of a kind they ask its
class (dosing.PHASE_KINDS)."""

from __future__ import annotations

import pytest
from test_plan import IDS, plan_for

from ketadose.dosing import PHASE_KINDS, calendar
from ketadose.io.regimens import load_regimen

PART = {"infusion": None, "escalation": None, "bolus": "bolus", "titration": "titration",
        "oral": "intakes", "topical": "intakes"}


@pytest.mark.parametrize("rid", IDS)
def test_each_planned_phase_carries_only_its_kinds_part(rid):
    plan = plan_for(rid, concentration="1 mg/mL" if "oral" not in rid else None)
    assert plan.phases
    for p in plan.phases:
        parts = {name for name in ("bolus", "titration", "intakes") if getattr(p, name) is not None}
        assert parts == ({PART[p.kind]} if PART[p.kind] else set()), (p.name, p.kind, parts)
        # the flat views read the part (the JSON contract keeps its field names)
        assert p.steps == (p.titration.steps if p.titration else ())
        assert p.bolus_mg == (p.bolus.mg if p.bolus else None)
        assert p.times_per_day == (p.intakes.times_per_day if p.intakes else None)


@pytest.mark.parametrize("rid", IDS)
def test_phase_hours_and_the_calendar_ask_the_kind(rid, monkeypatch):
    _src, regimen, _f = load_regimen(rid)
    for phase in regimen.phases:
        assert phase.hours() == PHASE_KINDS[phase.kind].hours(phase)
    plan = plan_for(rid)
    # a kind that gives nothing in the maximum case empties every day's maximum
    for kind in {p.kind for p in plan.phases}:
        monkeypatch.setattr(type(PHASE_KINDS[kind]), "max_pieces", lambda self, pp: [])
        monkeypatch.setattr(type(PHASE_KINDS[kind]), "min_mg", lambda self, pp, t0, t1: 0.0)
    if regimen.pattern != "daily":
        assert all(d.dose_mg_max == 0 and d.dose_mg_min == 0 for d in calendar(regimen, plan.phases))
