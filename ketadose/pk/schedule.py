"""From a dose plan to drug inputs for the engine (the maximum case: every escalation happens)."""

from __future__ import annotations

from ketadose.errors import KetadoseError
from ketadose.pk.engine import CENTRAL, DEPOT, Inputs


def inputs_for(plan, f: float, ka: float | None) -> tuple:
    """(Inputs in minutes and mg, notes) for a plan's course; raises ValueError if not simulable."""
    r = plan.regimen
    if r.route == "topical":
        raise KetadoseError("topical regimens cannot be simulated: no systemic PK model for skin "
                         "absorption (AmiKet shows minimal absorption)")
    notes = []
    target = CENTRAL if r.route == "iv" else DEPOT
    scale = 1.0 if r.route == "iv" else f
    infusions, impulses = [], []
    sessions = range(r.days) if r.pattern == "daily" else range(1)
    for d in sessions:
        base_h = 24.0 * d
        for p in plan.phases:
            # the phase's kind gives its doses at once and its rates over time (a timed
            # titration: the staircase the plan's maximum and the calendar read)
            for t_h, mg in p.phase_kind.max_intakes(p):
                impulses.append(((base_h + t_h) * 60, mg * scale, DEPOT))
            t0 = (base_h + p.start_h) * 60
            for begin, end, mg_h in p.phase_kind.rates(p):
                a, b = t0 + begin * 60, t0 + end * 60
                if b > a:
                    infusions.append((a, b, mg_h / 60 * scale, target))
    for note in dict.fromkeys(p.phase_kind.pk_note(p) for p in plan.phases):
        if note:
            notes.append(note)
    if any(p.conditional for p in plan.phases):
        notes.append("Conditional escalations are simulated as if every escalation happens.")
    if r.route == "oral":
        notes.append("Oral doses are assumed evenly spaced over 24 h.")
    return Inputs(tuple(infusions), tuple(impulses)), notes
