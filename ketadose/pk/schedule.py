"""From a dose plan to drug inputs for the engine (the maximum case: every escalation happens)."""

from __future__ import annotations

from ketadose.dosing import staircase, timed
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
            if p.kind == "oral":
                every = 24.0 / p.times_per_day
                for i in range(p.times_per_day):
                    impulses.append(((base_h + i * every) * 60, p.per_dose_mg * scale, DEPOT))
                continue
            if p.duration_h is None or p.mg_h_max is None:
                continue
            t0 = (base_h + p.start_h) * 60
            if p.kind == "titration" and timed(p.steps):
                for begin, end, mg_h in staircase(p.steps, p.duration_h):
                    a, b = t0 + begin * 60, t0 + end * 60
                    if b > a:
                        infusions.append((a, b, mg_h / 60 * scale, target))
            else:
                infusions.append((t0, t0 + p.duration_h * 60, p.mg_h_max / 60 * scale, target))
    if any(p.kind == "titration" and not timed(p.steps) for p in plan.phases):
        notes.append("Titration without step times is simulated at its maximum rate throughout "
                     "(an upper bound; the source titrated to effect).")
    if any(p.conditional for p in plan.phases):
        notes.append("Conditional escalations are simulated as if every escalation happens.")
    if r.route == "oral":
        notes.append("Oral doses are assumed evenly spaced over 24 h.")
    return Inputs(tuple(infusions), tuple(impulses)), notes
