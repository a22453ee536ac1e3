"""The regimen model (frozen dataclasses) and building it from checked data."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from ketadose.regimen_format import REGIMEN
from ketadose.spec import Checker
from ketadose.units import OverTime, Quantity


@dataclass(frozen=True)
class Phase:
    """One phase of a regimen as written in the template."""

    index: int
    name: str
    kind: str
    source: str
    unverified: dict = field(default_factory=dict)
    notes: str | None = None
    # infusion
    rate: Quantity | None = None
    dose: object = None  # Quantity (bolus, oral) or OverTime (infusion)
    duration: Quantity | None = None
    max_rate: Quantity | None = None
    conditional: str | None = None
    # bolus
    over: Quantity | None = None
    max_dose: Quantity | None = None
    # titration
    start: Quantity | None = None
    step: Quantity | None = None
    max: Quantity | None = None
    step_every: Quantity | None = None
    titrate_to: str | None = None
    # escalation
    steps: tuple = ()
    step_duration: Quantity | None = None
    escalate_if: str | None = None
    hold: Quantity | None = None
    # oral / topical
    times_per_day: int | None = None
    titrate: str | None = None
    max_daily: Quantity | None = None  # oral: the top of the titration range, per day
    strength: Quantity | None = None
    applications_per_day: int | None = None
    amount: Quantity | None = None
    site: str | None = None

    @property
    def phase_kind(self):
        """The class of its kind (ketadose.dosing.PHASE_KINDS): what the program needs to know
        of a kind (hours, description, limits, plan) it asks of this, never of ``kind``."""
        from ketadose.dosing import PHASE_KINDS

        return PHASE_KINDS[self.kind]

    def hours(self) -> float | None:
        """Length of the phase in hours (None for oral and topical: they are per day), as its
        kind measures it."""
        return self.phase_kind.hours(self)

    def per_kg_values(self):
        """Every dose quantity of this phase that needs a body weight."""
        return [q for q in self.quantities()
                if (q.amount.unit.per_kg if isinstance(q, OverTime) else q.unit.per_kg)]

    def quantities(self):
        out = [self.rate, self.dose, self.start, self.step, self.max, *self.steps, self.max_daily]
        return [q for q in out if q is not None]


@dataclass(frozen=True)
class Adjunct:
    """An adjunct medicine given with the regimen."""

    name: str
    dose: Quantity
    route: str
    timing: str
    source: str
    unverified: dict = field(default_factory=dict)
    notes: str | None = None


@dataclass(frozen=True)
class Monitoring:
    """What the regimen says to monitor, and when."""

    what: str
    when: str
    source: str
    unverified: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StopRule:
    """When the regimen says to stop or change, and what to do."""

    when: str
    action: str
    source: str
    unverified: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Evidence:
    """A study the regimen rests on."""

    citation: str
    pmid: int | None
    design: str
    n: int | None
    result: str
    role: str
    doi: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Retreatment:
    """When a course may be repeated."""

    minimum_interval: Quantity | None
    relief_lasted: str
    source: str
    liver_warning: str | None = None


@dataclass(frozen=True)
class PreparationSpec:
    """The preparation a regimen states (its source, concentration, volume, diluent); the plan
    computes the bag itself (plan.Preparation)."""

    source: str
    concentration: Quantity | None = None
    volume: Quantity | None = None
    diluent: str | None = None


@dataclass(frozen=True)
class Regimen:
    """A validated regimen template."""

    format: int
    id: str
    title: str
    conditions: tuple
    drug: str
    route: str
    setting: str
    pattern: str
    days: int
    phases: tuple
    schedule_source: str
    monitoring: tuple
    stop_rules: tuple
    retreatment: Retreatment
    evidence: tuple
    weight_basis: str | None = None
    preparation: PreparationSpec | None = None
    adjuncts: tuple = ()
    confirm: dict = field(default_factory=dict)
    notes: str | None = None
    schedule_unverified: dict = field(default_factory=dict)

    def weight_based(self) -> bool:
        return any(p.per_kg_values() for p in self.phases)

    def session_hours(self) -> float | None:
        hours = [p.hours() for p in self.phases]
        return None if any(h is None for h in hours) else sum(hours)

    def unverified(self):
        """(where, field, why) for every number the template marks UNVERIFIED."""
        out = [("schedule", k, v) for k, v in self.schedule_unverified.items()]
        for p in self.phases:
            out += [(f"phase {p.name!r}", k, v) for k, v in p.unverified.items()]
        for group, items in (("adjunct", self.adjuncts), ("monitoring", self.monitoring),
                             ("stop rule", self.stop_rules)):
            for item in items:
                label = getattr(item, "name", None) or getattr(item, "what", None) or item.when
                out += [(f"{group} {label!r}", k, v) for k, v in item.unverified.items()]
        return out


def _make(cls, data: dict, **extra):
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names}, **extra)


def build(data) -> tuple:
    """Check data against format v1 and build a Regimen: (regimen or None, findings)."""
    checker = Checker()
    clean = checker.check(REGIMEN, data)
    if checker.findings or clean is None:
        return None, checker.findings
    sched = clean["schedule"]
    phases = tuple(
        _make(Phase, {**p, "steps": tuple(p.get("steps", ()))}, index=i)
        for i, p in enumerate(sched["phases"]))
    regimen = Regimen(
        format=clean["format"], id=clean["id"], title=clean["title"],
        conditions=tuple(clean["conditions"]), drug=clean["drug"], route=clean["route"],
        setting=clean["setting"], weight_basis=clean.get("weight_basis"),
        pattern=sched["pattern"], days=sched["days"], phases=phases,
        schedule_source=sched["source"], schedule_unverified=sched.get("unverified") or {},
        preparation=_make(PreparationSpec, clean["preparation"]) if clean.get("preparation") else None,
        adjuncts=tuple(_make(Adjunct, a) for a in clean.get("adjuncts") or ()),
        monitoring=tuple(_make(Monitoring, m) for m in clean["monitoring"]),
        stop_rules=tuple(_make(StopRule, s) for s in clean["stop_rules"]),
        retreatment=_make(Retreatment, clean["retreatment"]),
        evidence=tuple(_make(Evidence, e) for e in clean["evidence"]),
        confirm=dict(clean.get("confirm") or {}), notes=clean.get("notes"),
    )
    return regimen, []
