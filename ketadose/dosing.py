"""Dose calculators: dosing weight, phase rates, pump rates, the course calendar and totals.

Pure: takes a Regimen, a Patient and the chosen concentration; returns a Plan. Every
number keeps what it was computed from, so renderers can show the working.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ketadose.describe import hours_text
from ketadose.errors import KetadoseError
from ketadose.findings import Finding
from ketadose.units import OverTime, Quantity, display, parse_unit


@dataclass(frozen=True)
class Why:
    """One step of a derivation, recorded by the code that computes the number."""

    what: str
    expression: str
    value: float | None
    unit: str
    source: str | None = None


def _g(x) -> str:
    return f"{x:.4g}"


def _signed(x: float, digits: int = 3) -> str:
    """A change as the tables show numbers, with its sign: +0.05, -1.2, 0."""
    from ketadose.units import display_number

    text = display_number(x, digits)
    return text if text == "0" or text.startswith("-") else "+" + text


PUMP_STEP_ML_H = 0.1  # the pump's resolution (issue #5): rates are programmed to 0.1 mL/h
INCH_CM = 2.54

DEVINE = "Devine BJ. Gentamicin therapy. Drug Intell Clin Pharm 1974;8:650-655 (ideal body weight)"
OBESITY = ("Erstad BL, Barletta JF. Crit Care 2020;24:315, PMID 32513237 (ketamine in obesity: "
           "use ideal or adjusted body weight), via docs/evidence.md E")


@dataclass(frozen=True)
class DosingWeight:
    """The weight a dose per kg is given for: actual, ideal or adjusted, and why."""

    kg: float | None
    basis: str  # actual | ideal | adjusted | not-needed
    actual_kg: float | None
    ideal_kg: float | None = None
    adjusted_kg: float | None = None
    bmi: float | None = None
    height_cm: float | None = None
    origin: str = ""  # where the basis came from: regimen or --weight-basis
    note: str | None = None
    derivation: tuple = ()


def ideal_weight_kg(sex: str, height_cm: float) -> float:
    """Devine 1974: 50 kg (male) or 45.5 kg (female) + 2.3 kg per inch over 5 feet."""
    base = 50.0 if sex == "male" else 45.5
    return base + 2.3 * (height_cm / INCH_CM - 60.0)


DEVINE_MIN_CM = 152.4  # Devine adds 2.3 kg per inch over 5 ft: below 5 ft it is not defined


_weight_based_cache: dict = {}


def _weight_based(regimen) -> bool:
    """regimen.weight_based(), once per regimen object (a batch asks it for every patient; a
    regimen is frozen)."""
    got = _weight_based_cache.get(id(regimen))
    if got is None or got[0] is not regimen:
        if len(_weight_based_cache) >= 8:
            _weight_based_cache.clear()
        got = _weight_based_cache[id(regimen)] = (regimen, regimen.weight_based())
    return got[1]


def dosing_weight(regimen, patient, basis_flag: str | None, derive: bool = True) -> DosingWeight:
    """The weight doses are computed on. No silent default: what is needed must be given.

    Ideal and adjusted weight are refused below 5 ft, where Devine's formula is not defined
    (at 100 cm it gives a negative weight): the patient is dosed on actual weight only if the
    prescriber says so.
    """
    needed = _weight_based(regimen)
    basis = basis_flag or regimen.weight_basis
    origin = "--weight-basis" if basis_flag else "regimen"
    actual = patient.weight_kg()
    if needed and actual is None:
        raise KetadoseError(f"{regimen.id} doses per kg: the patient's weight is required "
                            "(--weight or weight: in the patient file)")
    height = patient.height_cm()
    ideal = adjusted = bmi = None
    if height is not None and actual is not None:
        bmi = actual / (height / 100.0) ** 2
    defined = height is not None and height >= DEVINE_MIN_CM
    if defined and patient.sex is not None:
        ideal = ideal_weight_kg(patient.sex, height)
        if actual is not None:
            adjusted = ideal + 0.4 * (actual - ideal)
    if not needed:
        return _weight(None, "not-needed", actual, ideal, adjusted, bmi, height, origin, None, ())
    if basis in ("ideal", "adjusted") and height is not None and not defined:
        raise KetadoseError(f"weight basis {basis!r} (from the {origin}): the ideal-weight formula "
                            f"(Devine) is not defined below 152.4 cm (5 ft) and the patient is "
                            f"{height:g} cm; use --weight-basis actual")
    if basis in ("ideal", "adjusted") and ideal is None:
        raise KetadoseError(f"weight basis {basis!r} needs the patient's height and sex "
                            "(--height, --sex); there is no default")
    note = None
    kg = {"actual": actual, "ideal": ideal, "adjusted": adjusted}[basis]
    if basis in ("ideal", "adjusted") and kg > actual:
        note = (f"{basis} weight {kg:.1f} kg is above the actual weight {actual:.1f} kg: the actual "
                "weight is used so that the dose never exceeds the actual-weight dose")
    why = _weight_why(patient.sex, height, actual, ideal, adjusted, basis, origin, note,
                      actual if note else kg) if derive else ()
    if note:
        kg = actual
    return _weight(kg, basis, actual, ideal, adjusted, bmi, height, origin, note, tuple(why))


def _weight(kg, basis, actual, ideal, adjusted, bmi, height, origin, note, derivation):
    """DosingWeight(...) with every field given, without the frozen dataclass's __init__ (it
    sets each field through object.__setattr__: five times the time; a batch makes one per
    patient). DosingWeight has no __post_init__ and no slots: the same object."""
    made = object.__new__(DosingWeight)
    made.__dict__.update(kg=kg, basis=basis, actual_kg=actual, ideal_kg=ideal,
                         adjusted_kg=adjusted, bmi=bmi, height_cm=height, origin=origin,
                         note=note, derivation=derivation)
    return made


def _weight_why(sex, height, actual, ideal, adjusted, basis, origin, note, kg) -> list:
    """The dosing weight's derivation steps (--explain)."""
    why = [Why("actual weight", "from the patient record", actual, "kg")]
    if ideal is not None:
        base = 50.0 if sex == "male" else 45.5
        why.append(Why("ideal weight (Devine)", f"{base:g} kg ({sex}) + 2.3 kg x "
                       f"({_g(height)} cm / 2.54 - 60 in)", ideal, "kg", DEVINE))
        why.append(Why("adjusted weight", f"{_g(ideal)} + 0.4 x ({_g(actual)} - {_g(ideal)})",
                       adjusted, "kg", "ideal + 0.4 x excess (issue #5 specification)"))
    why.append(Why("dosing weight", f"{basis} weight (basis from the {origin})"
                   + ("; the actual weight is lower and is used" if note else ""), kg, "kg"))
    return why


@dataclass(frozen=True)
class Pump:
    """A rate as a syringe pump is programmed (0.1 mL/h steps) and what it then delivers."""

    mg_h: float  # the rate asked for
    ml_h_exact: float
    ml_h: float  # programmed, to the pump's 0.1 mL/h
    mg_h_delivered: float
    rounded_down: bool = False  # the nearest step was above the rate asked: the step below is used
    conc_mg_ml: float | None = None

    @property
    def error_mg_h(self) -> float:
        """Delivered minus asked: what pump rounding changes. Float noise of an exact step
        (4.9 mL/h x 3 mg/mL is 14.700000000000001, not 14.7) is no error: 0, as the
        derivation (pump_rate's "delivered" step) says; it once printed -0.0 in plans."""
        err = self.mg_h_delivered - self.mg_h
        return 0.0 if _noise(err, self.mg_h) else err

    @property
    def error_pct(self) -> float:
        return 100.0 * self.error_mg_h / self.mg_h if self.mg_h else 0.0


def _noise(err: float, mg_h: float) -> bool:
    """Whether a rounding error is float noise of an exact pump step, not an error."""
    return abs(err) <= 1e-9 * max(1.0, abs(mg_h))


def pump_rate(mg_h: float, conc_mg_ml: float, ceiling_mg_h: float | None = None,
              why=None) -> Pump:
    """mL/h for a mg/h at a concentration, to the pump's 0.1 mL/h.

    The pump never delivers more than the rate asked: every rate a regimen writes is the most it
    prescribes at that point (a cap, a titration maximum, or a trial maximum such as
    Schwartzman's 0.35 mg/kg/h), and the rate asked is already within every limit, so rounding
    down can cross none. Where the nearest step is above the rate asked, the step below is used
    and the plan says so; the gate reports errors over 5%. ``ceiling_mg_h`` (a cap below the
    rate asked) lowers it further.
    """
    exact = mg_h / conc_mg_ml
    per_step = 1 / PUMP_STEP_ML_H
    top = mg_h if ceiling_mg_h is None else min(mg_h, ceiling_mg_h)
    nearest = math.floor(exact * per_step + 0.5 + 1e-9)
    steps = math.floor(top / conc_mg_ml * per_step + 1e-9)
    # float noise: 0.1 mL/h steps are exact to ~1e-16; never let it lift a rate above the top
    while steps > 0 and steps / per_step * conc_mg_ml > top * (1 + 1e-12):
        steps -= 1
    down = nearest > steps
    ml_h = steps / per_step
    if why is not None:
        why.append(Why("pump rate", f"{_g(mg_h)} mg/h / {_g(conc_mg_ml)} mg/mL = {_g(exact)} mL/h, "
                       + ("rounded down (never above the rate asked)" if down else "rounded")
                       + " to the pump's 0.1 mL/h", ml_h, "mL/h"))
        err = ml_h * conc_mg_ml - mg_h
        if _noise(err, mg_h):
            err = 0.0
        pct = 100 * err / mg_h if mg_h else 0.0
        why.append(Why("delivered", f"{ml_h:g} mL/h x {_g(conc_mg_ml)} mg/mL "
                       f"({_signed(err)} mg/h, {_signed(pct, 2)}% from rounding)",
                       ml_h * conc_mg_ml, "mg/h"))
    return Pump(mg_h, exact, ml_h, ml_h * conc_mg_ml, down, conc_mg_ml)


def given_mg_h(pump: Pump | None, asked: float) -> float:
    """The rate the patient is given, in mg/h: what the pump delivers at its programmed mL/h
    where one is programmed (a concentration is known), else the rate asked. Doses and totals
    are computed on it: a rate rounded down to the pump's step gives less than asked, and the
    plan shows (and the limits check) what is delivered."""
    return pump.mg_h_delivered if pump is not None else asked


def _given_text(pump: Pump | None, mg_h: float) -> str:
    """The rate a dose is computed on, as the derivation shows it: the pump's step where a pump
    rate is programmed ("delivered at 2.0 mL/h x 10 mg/mL = 20 mg/h; 20 mg/h"), else the
    rate asked."""
    if pump is None:
        return f"{_g(mg_h)} mg/h"
    given = pump.mg_h_delivered
    return (f"delivered at {pump.ml_h:.1f} mL/h x {_g(pump.conc_mg_ml)} mg/mL = {_g(given)} mg/h; "
            f"{_g(given)} mg/h")


@dataclass(frozen=True)
class Step:
    """One rate of a rising phase, from its time after the phase's start."""

    t_h: float  # from the start of the phase
    mg_h: float
    written: str  # in the regimen's own unit
    pump: Pump | None


@dataclass(frozen=True)
class Titrated:
    """A titration's part of its planned phase: the steps and whether a hard limit lowered its
    maximum."""

    steps: tuple = ()
    ceiling_lowered: bool = False


@dataclass(frozen=True)
class BolusDose:
    """A bolus's part: the dose and its volume at the concentration (None without one)."""

    mg: float
    ml: float | None = None


@dataclass(frozen=True)
class Intakes:
    """The part of a phase given so many times a day (oral intakes, topical applications)."""

    per_dose_mg: float | None  # None: a topical amount the regimen does not give
    times_per_day: int
    per_dose_mg_max: float | None = None  # oral: per intake at the top of a titration
    ml_per_dose: float | None = None
    strength: str | None = None  # topical
    amount: str | None = None  # topical, per application as written


@dataclass(frozen=True)
class PhasePlan:
    """One planned phase: what every kind has (timing, rates, pump, dose range, derivation),
    and the part of its own kind, if any (titration, bolus, intakes)."""

    name: str
    kind: str
    start_h: float  # from the start of the session (max case)
    duration_h: float | None
    conditional: bool = False
    criteria: str | None = None
    written: str = ""  # the dose as the regimen writes it
    mg_h: float | None = None  # planned rate (titration: start)
    mg_h_max: float | None = None  # titration maximum after caps
    per_kg_h: float | None = None  # effective mg/kg/h on the dosing weight
    cap_mg_h: float | None = None
    cap_binds: bool = False
    pump: Pump | None = None
    dose_mg_min: float | None = None
    dose_mg_max: float | None = None
    source: str = ""
    unverified: dict = field(default_factory=dict)
    derivation: tuple = ()
    titration: Titrated | None = None
    bolus: BolusDose | None = None
    intakes: Intakes | None = None

    # Read-through views of the parts, for the readers that take a phase flat (the gate, the
    # PK schedule, the JSON contract's field names).
    @property
    def phase_kind(self) -> PhaseKind:
        """The class of its kind (PHASE_KINDS), which the calendar and the PK inputs ask."""
        return PHASE_KINDS[self.kind]

    @property
    def steps(self) -> tuple:
        return self.titration.steps if self.titration else ()

    @property
    def ceiling_lowered(self) -> bool:
        return bool(self.titration and self.titration.ceiling_lowered)

    @property
    def bolus_mg(self) -> float | None:
        return self.bolus.mg if self.bolus else None

    @property
    def bolus_ml(self) -> float | None:
        return self.bolus.ml if self.bolus else None

    @property
    def per_dose_mg(self) -> float | None:
        return self.intakes.per_dose_mg if self.intakes else None

    @property
    def per_dose_mg_max(self) -> float | None:
        return self.intakes.per_dose_mg_max if self.intakes else None

    @property
    def times_per_day(self) -> int | None:
        return self.intakes.times_per_day if self.intakes else None

    @property
    def ml_per_dose(self) -> float | None:
        return self.intakes.ml_per_dose if self.intakes else None

    @property
    def strength(self) -> str | None:
        return self.intakes.strength if self.intakes else None

    @property
    def applications_per_day(self) -> int | None:
        return self.intakes.times_per_day if self.intakes and self.intakes.strength else None

    @property
    def amount(self) -> str | None:
        return self.intakes.amount if self.intakes else None


def _rate_mg_h(q, weight_kg, why=None, what="rate", source=None):
    written = q
    if isinstance(q, OverTime):
        q = q.rate()
        if why is not None:
            why.append(Why(f"{what} from a fixed dose", f"{written.amount} / {written.duration}",
                           q.canonical(), q.unit.symbol, source))
    if q.unit.per_kg:
        per_kg = q.magnitude("mg/kg/h")
        value = per_kg * weight_kg
        if why is not None:
            conv = "" if q.unit.symbol == "mg/kg/h" else f" (= {_g(per_kg)} mg/kg/h)"
            why.append(Why(what, f"{q}{conv} x {_g(weight_kg)} kg dosing weight", value, "mg/h",
                           source))
        return value
    value = q.magnitude("mg/h")
    if why is not None and not isinstance(written, OverTime):
        why.append(Why(what, f"{q} as written" + ("" if q.unit.symbol == "mg/h" else
                                                   f" = {_g(value)} mg/h"), value, "mg/h", source))
    return value


def _capped(mg_h, cap_mg_h, why=None, source=None):
    if cap_mg_h is not None and mg_h > cap_mg_h:
        if why is not None:
            why.append(Why("capped", f"{_g(mg_h)} mg/h is above the regimen's cap of "
                           f"{_g(cap_mg_h)} mg/h", cap_mg_h, "mg/h", source))
        return cap_mg_h, True
    return mg_h, False


class _Session:
    """What every phase planner needs: the dosing weight, the concentration, the patient's lowest
    hard rate limit, and the phase's cap and derivation record."""

    def __init__(self, kg, conc_mg_ml, ceiling_mg_h, derive=True):
        self.kg, self.conc_mg_ml, self.ceiling_mg_h = kg, conc_mg_ml, ceiling_mg_h
        self.derive = derive  # record the derivation steps (--explain); None when not

    def phase(self, p):
        self.cap = p.max_rate.magnitude("mg/h") if p.max_rate is not None else None
        self.why: list | None = [] if self.derive else None

    def pump(self, mg_h, ceiling="cap", record="why"):
        if not self.conc_mg_ml:
            return None
        return pump_rate(mg_h, self.conc_mg_ml, self.cap if ceiling == "cap" else ceiling,
                         self.why if record == "why" else record)

    def common(self, p) -> dict:
        return dict(name=p.name, kind=p.kind, source=p.source, unverified=dict(p.unverified),
                    cap_mg_h=self.cap, derivation=self.why if self.why is not None else ())

    def per_kg(self, mg_h):
        return mg_h / self.kg if self.kg else None


def _given(q) -> Quantity:
    """A quantity the validated format requires for the phase's kind."""
    if q is None:  # pragma: no cover - the format refuses such a phase before it is built
        raise ValueError("a phase is missing a length its kind requires")
    return q


class PhaseKind:
    """One kind of regimen phase: everything the program needs to know of a kind is asked of
    its class (registered in PHASE_KINDS), never switched on its ``kind`` string.

    Of a regimen's phase: ``hours``, ``describe`` (its dose as written, one line), ``measures``
    and ``fixed_mg`` (what validation checks against the limit library without a patient).
    Planning: ``plan`` returns its PhasePlans (more than one for an escalation) starting at
    ``t`` hours into the session, with the derivation of every number, and the hours it takes.
    Of a planned phase: ``rates`` (its rate over time in the maximum case: the calendar's
    ``max_pieces`` and the PK infusions read it), ``min_mg`` (the calendar's minimum case),
    ``max_intakes`` (the PK doses given at once) and ``pk_note``."""

    kind = ""
    infused = True  # its hours count as infusion hours (``compare``); not a kind given per day

    def hours(self, p) -> float | None:
        """The phase's length in hours; None for a phase given per day (oral, topical)."""
        return None

    def describe(self, p) -> str:
        """The dose of a phase as written, e.g. '0.35 mg/kg/h, max 25 mg/h'."""
        raise NotImplementedError

    def measures(self, p) -> list:
        """(limit measure, quantity, what, key) for every number the phase fixes without a
        patient; ``key`` is the phase's field a finding points at."""
        return []

    def fixed_mg(self, p) -> float | None:
        """The most the phase can give without knowing the patient, in mg; None if unknown."""
        return None

    def plan(self, p, s: _Session, t: float) -> tuple[list, float | None]:
        raise NotImplementedError

    def rates(self, pp) -> list:
        """(begin, end, mg/h) of a planned phase in the maximum case, in hours from the start
        of the phase: its highest rate throughout."""
        if pp.duration_h is None:
            return []
        return [(0.0, pp.duration_h, self.top_mg_h(pp) or 0)]

    def top_mg_h(self, pp) -> float | None:
        """Its highest rate as given, in mg/h (None for a kind given per day)."""
        return pp.mg_h_max

    def max_pieces(self, pp) -> list:
        """(start, duration, mg/h) of a planned phase in the maximum case, in session hours."""
        return [(pp.start_h + begin, end - begin, mg_h) for begin, end, mg_h in self.rates(pp)]

    def max_intakes(self, pp) -> list:
        """(session hour, mg) of each dose given at once in the maximum case (none for a rate)."""
        return []

    def pk_note(self, pp) -> str | None:
        """What a simulation of this planned phase assumes, if anything."""
        return None

    def min_mg(self, pp, t0: float, t1: float) -> float:
        """mg given between session hours t0 and t1 in the minimum case: a conditional phase is
        not given; anything else runs at its (starting) rate."""
        if pp.conditional:
            return 0.0
        return _overlap(pp.start_h, pp.duration_h, t0, t1) * (pp.mg_h or 0)

    def delivered(self, pp, weights) -> list:
        """(limit measure, value, unit, what) of every number of a planned phase the safety
        gate checks against the limit library, per kg in every basis of ``weights`` ((kg,
        label) pairs)."""
        return []

    def pumps(self, pp) -> list:
        """The pump settings programmed in mL/h (the gate checks their rounding)."""
        return [x for x in [pp.pump] + [s.pump for s in pp.steps] if x is not None]


def delivered_rate(p) -> float | None:
    """The highest rate a phase delivers, in mg/h: the pump's programmed rate where there is
    one (a titration's top step), else the rate asked."""
    rates = []
    for pump, asked in [(p.pump, p.mg_h)] + [(s.pump, s.mg_h) for s in p.steps]:
        if asked is not None:
            rates.append(given_mg_h(pump, asked))
    if p.mg_h_max is not None and not p.steps:
        rates.append(given_mg_h(p.pump, p.mg_h_max))
    return max(rates) if rates else None


def _rate_delivered(pp, weights) -> list:
    """A rate's measures: the delivered rate, per kg of each weight, the top pump rate."""
    mg_h = delivered_rate(pp)
    out = [("rate", mg_h, "mg/h", f"{pp.name}: delivered rate")]
    out += [("rate_per_kg", mg_h / kg, "mg/kg/h", f"{pp.name}: delivered rate {label}")
            for kg, label in weights]
    ml = [x.ml_h for x in [pp.pump] + [s.pump for s in pp.steps] if x is not None]
    if ml:
        out.append(("pump_rate", max(ml), "mL/h", f"{pp.name}: pump rate"))
    return out


class Programmed(PhaseKind):
    """A kind whose rate is programmed on a pump in mL/h (an infusion, a titration, an
    escalation): where a concentration is known, what it gives over time (the calendar, the
    minimum, the PK inputs) is what the pump delivers at the programmed rate, not the rate
    asked. (A bolus is given as a volume: its dose is exact, not a rounded rate.)"""

    def delivered(self, pp, weights) -> list:
        return _rate_delivered(pp, weights)

    def top_mg_h(self, pp) -> float | None:
        """Its highest rate as the pump delivers it."""
        return delivered_rate(pp)

    def min_mg(self, pp, t0: float, t1: float) -> float:
        """A conditional phase is not given; anything else runs at its delivered (starting)
        rate."""
        if pp.conditional:
            return 0.0
        return _overlap(pp.start_h, pp.duration_h, t0, t1) * given_mg_h(pp.pump, pp.mg_h or 0.0)


class PerDay(PhaseKind):
    """A kind given so many times a day (oral, topical): no hours, no rate over time."""

    infused = False


def _rate_measure(q) -> str:
    return "rate_per_kg" if q.unit.per_kg else "rate"


def _cap_text(p) -> str:
    return f", max {display(p.max_rate)}" if p.max_rate is not None else ""


def _cap_measures(p) -> list:
    return [("rate", p.max_rate, "rate cap", "max_rate")] if p.max_rate is not None else []


class FixedRate(Programmed):
    """A fixed infusion: a rate (per kg or not) or a dose over a duration."""

    kind = "infusion"

    def hours(self, p) -> float:
        return _given(p.dose.duration if isinstance(p.dose, OverTime) else p.duration).canonical()

    def describe(self, p) -> str:
        if isinstance(p.dose, OverTime):
            return f"{display(p.dose)} (= {display(p.dose.rate())}){_cap_text(p)}"
        return f"{display(p.rate)}{_cap_text(p)}"

    def measures(self, p) -> list:
        over = isinstance(p.dose, OverTime)
        rate = p.dose.rate() if over else p.rate
        return [(_rate_measure(rate), rate, "rate", "dose" if over else "rate"), *_cap_measures(p)]

    def fixed_mg(self, p) -> float | None:
        if isinstance(p.dose, OverTime):
            return None if p.dose.amount.unit.per_kg else p.dose.amount.canonical()
        if not p.rate.unit.per_kg:
            return p.rate.canonical() * self.hours(p)
        return p.max_rate.canonical() * self.hours(p) if p.max_rate is not None else None

    def plan(self, p, s, t):
        why, kg = s.why, s.kg
        mg_h, binds = _capped(_rate_mg_h(p.dose if p.dose is not None else p.rate, kg, why,
                                         source=p.source), s.cap, why, p.source)
        hours = p.hours()
        pump = s.pump(mg_h)
        given = given_mg_h(pump, mg_h)
        if why is not None:
            why.append(Why("dose in this phase", f"{_given_text(pump, mg_h)} x {_g(hours)} h",
                           given * hours, "mg"))
        return [PhasePlan(start_h=t, duration_h=hours, written=str(p.dose or p.rate),
                          mg_h=mg_h, mg_h_max=mg_h, per_kg_h=s.per_kg(mg_h),
                          cap_binds=binds, pump=pump,
                          # a conditional phase may not be given: none in the minimum
                          dose_mg_min=0.0 if p.conditional else given * hours,
                          dose_mg_max=given * hours, criteria=p.conditional,
                          conditional=bool(p.conditional), **s.common(p))], hours or 0.0


def _per_intake_mg(p, kg, why, what):
    """A dose per kg or fixed, limited by the phase's max_dose: (mg, binds)."""
    mg = p.dose.magnitude("mg/kg") * kg if p.dose.unit.per_kg else p.dose.magnitude("mg")
    if why is not None:
        why.append(Why(what, f"{p.dose} x {_g(kg)} kg dosing weight" if p.dose.unit.per_kg
                       else f"{p.dose} as written", mg, "mg", p.source))
    top = p.max_dose.magnitude("mg") if p.max_dose is not None else None
    binds = top is not None and mg > top
    return (min(mg, top) if binds else mg), binds, top


class Bolus(PhaseKind):
    """A bolus, planned as a short infusion over its stated time."""

    kind = "bolus"

    def delivered(self, pp, weights) -> list:
        """Its push time, and the dose and push rate per kg of each weight."""
        minutes = pp.duration_h * 60.0
        out = [("push_time", minutes, "min", f"{pp.name}: bolus given over")]
        for kg, label in weights:
            out += [("bolus_per_kg", pp.bolus_mg / kg, "mg/kg", f"{pp.name}: bolus {label}"),
                    ("push_rate_per_kg", pp.bolus_mg / kg / minutes, "mg/kg/min",
                     f"{pp.name}: push rate {label}")]
        return out

    def pumps(self, pp) -> list:
        return []  # a bolus is pushed or given as a volume, not programmed in mL/h

    def hours(self, p) -> float:
        return _given(p.over).canonical()

    def describe(self, p) -> str:
        top = f", max {display(p.max_dose)}" if p.max_dose is not None else ""
        return f"{display(p.dose)} over {display(p.over)}{top}"

    def measures(self, p) -> list:
        out = [("push_time", p.over.to("min"), "bolus given over", "over")]
        if p.dose.unit.per_kg:
            out += [("bolus_per_kg", p.dose, "bolus", "dose"),
                    ("push_rate_per_kg", Quantity(p.dose.magnitude("mg/kg") / p.over.magnitude("min"),
                                                  parse_unit("mg/kg/min")), "push rate", "over")]
        return out

    def fixed_mg(self, p) -> float | None:
        if not p.dose.unit.per_kg:
            return p.dose.canonical()
        return p.max_dose.canonical() if p.max_dose is not None else None

    def plan(self, p, s, t):
        why, conc = s.why, s.conc_mg_ml
        mg, binds, _top = _per_intake_mg(p, s.kg, why, "bolus")
        hours = p.hours()
        if why is not None:
            why.append(Why("given over", f"{p.over}: a short infusion of {_g(mg)} mg / "
                           f"{_g(hours)} h", mg / hours, "mg/h", "docs/evidence.md PK5.2 (boluses as short infusions)"))
        if conc:
            if why is not None:
                why.append(Why("bolus volume", f"{_g(mg)} mg / {_g(conc)} mg/mL", mg / conc, "mL"))
        return [PhasePlan(start_h=t, duration_h=hours, written=f"{p.dose} over {p.over}",
                          mg_h=mg / hours, mg_h_max=mg / hours, cap_binds=binds,
                          bolus=BolusDose(mg, mg / conc if conc else None),
                          pump=s.pump(mg / hours, None, None), dose_mg_min=mg, dose_mg_max=mg,
                          **s.common(p))], hours or 0.0


class RisingRate(Programmed):
    """A rate that rises to a top (titration, escalation): validated at its top and its cap."""

    top_what = top_key = ""

    def top(self, p) -> Quantity:
        raise NotImplementedError

    def measures(self, p) -> list:
        top = self.top(p)
        return [(_rate_measure(top), top, self.top_what, self.top_key), *_cap_measures(p)]

    def fixed_mg(self, p) -> float | None:
        top = self.top(p)
        cap = p.max_rate.canonical() if p.max_rate is not None else None
        if not top.unit.per_kg:
            cap = top.canonical() if cap is None else min(cap, top.canonical())
        return None if cap is None else cap * self.hours(p)


class Titration(RisingRate):
    """A rate titrated from a start to a maximum, in steps (timed or to effect)."""

    kind = "titration"
    top_what, top_key = "titration maximum", "max"

    def hours(self, p) -> float:
        return _given(p.duration).canonical()

    def top(self, p) -> Quantity:
        return p.max

    def describe(self, p) -> str:
        every = f" every {display(p.step_every)}" if p.step_every is not None else ""
        steps = f", steps of {display(p.step)}{every}" if p.step is not None else every
        return f"start {display(p.start)}{steps}, up to {display(p.max)}{_cap_text(p)}"

    def rates(self, pp) -> list:
        """A timed titration climbs its staircase, as in the session maximum."""
        if not timed(pp.steps):
            return super().rates(pp)
        return list(staircase(pp.steps, pp.duration_h))

    def pk_note(self, pp) -> str | None:
        if timed(pp.steps):
            return None
        return ("Titration without step times is simulated at its maximum rate throughout "
                "(an upper bound; the source titrated to effect).")

    def plan(self, p, s, t):
        why, kg, cap, ceiling_mg_h = s.why, s.kg, s.cap, s.ceiling_mg_h
        start, binds_s = _capped(_rate_mg_h(p.start, kg, why, "starting rate", p.source),
                                 cap, why, p.source)
        top, binds = _capped(_rate_mg_h(p.max, kg, why, "maximum rate", p.source), cap, why,
                             p.source)
        lowered = ceiling_mg_h is not None and top > ceiling_mg_h * (1 + 1e-12)
        if lowered:
            if why is not None:
                why.append(Why("maximum lowered", f"{_g(top)} mg/h is above the lowest hard rate "
                               f"limit for this patient ({_g(ceiling_mg_h)} mg/h)", ceiling_mg_h,
                               "mg/h", "ketadose limit library"))
            top, binds = ceiling_mg_h, True
            start = min(start, top)
        steps = self.steps(p, s, start, top, lowered, binds)
        hours = p.hours()
        first, last = steps[0].pump, steps[-1].pump  # the start's pump: the phase's own
        low = given_mg_h(first, start)
        if why is not None:
            rates = f"{_g(start)} to {_g(top)} mg/h" if first is None or last is None else (
                f"delivered at {first.ml_h:.1f} to {last.ml_h:.1f} mL/h x {_g(first.conc_mg_ml)} "
                f"mg/mL = {_g(low)} to {_g(last.mg_h_delivered)} mg/h")
            why.append(Why("dose range in this phase", f"{rates} x {_g(hours)} h "
                           "(at the start rate throughout, or at the maximum)",
                           _titration_max(steps, hours), "mg"))
        return [PhasePlan(start_h=t, duration_h=hours, written=display_titration(p),
                          mg_h=start, mg_h_max=top, per_kg_h=s.per_kg(top),
                          cap_binds=binds or binds_s, pump=first,
                          titration=Titrated(tuple(steps), lowered),
                          dose_mg_min=low * hours, dose_mg_max=_titration_max(steps, hours),
                          criteria=p.titrate_to, **s.common(p))], hours or 0.0

    @staticmethod
    def steps(p, s, start, top, lowered, binds) -> list:
        cap, ceiling_mg_h = s.cap, s.ceiling_mg_h
        steps = [Step(0.0, start, str(p.start), s.pump(start))]
        if p.step is not None:
            inc = _rate_mg_h(p.step, s.kg)
            every = p.step_every.canonical() if p.step_every is not None else None
            k = 1
            while start + k * inc < top - 1e-9:
                mg_h = start + k * inc
                written = display(Quantity(p.start.value + k * p.step.magnitude(p.start.unit.symbol),
                                           p.start.unit))
                steps.append(Step(every * k if every else math.nan, mg_h, written,
                                  s.pump(mg_h, record=None)))
                k += 1
        label = str(p.max) + (" lowered to the hard limit" if lowered else
                              " (cap)" if binds else "")
        steps.append(Step(math.nan if not (p.step and p.step_every) else
                          p.step_every.canonical() * len(steps), top, label,
                          s.pump(top, min(x for x in (cap, ceiling_mg_h) if x is not None)
                                 if (cap or ceiling_mg_h) else None)))
        return steps


class Escalation(RisingRate):
    """Stepwise escalation: each step after the first is conditional; the last is held."""

    kind = "escalation"
    top_what, top_key = "highest escalation step", "steps"

    def hours(self, p) -> float:
        """The longest course: every escalation happens."""
        return ((len(p.steps) - 1) * _given(p.step_duration).canonical()
                + _given(p.hold).canonical())

    def top(self, p) -> Quantity:
        return p.steps[-1]

    def describe(self, p) -> str:
        steps = " -> ".join(display(s) for s in p.steps)
        return (f"{steps}, {display(p.step_duration)} per step; {display(p.hold)} at the step "
                f"reached{_cap_text(p)}")

    def min_mg(self, pp, t0, t1) -> float:
        """The minimum case stops at step 1 after the hold (its minimum dose at its delivered
        rate)."""
        if pp.conditional:
            return 0.0
        rate = given_mg_h(pp.pump, pp.mg_h)
        hold = pp.dose_mg_min / rate if rate else 0.0
        return _overlap(pp.start_h, hold, t0, t1) * rate

    def plan(self, p, s, t):
        kg, cap, conc = s.kg, s.cap, s.conc_mg_ml
        sd, hold = p.step_duration.canonical(), p.hold.canonical()
        n = len(p.steps)
        out = []
        for i, q in enumerate(p.steps):
            why: list | None = [] if s.derive else None
            mg_h, binds = _capped(_rate_mg_h(q, kg, why, f"step {i + 1}", p.source), cap, why,
                                  p.source)
            last = i == n - 1
            hours = hold if last else sd
            pump = pump_rate(mg_h, conc, cap, why) if conc else None
            given = given_mg_h(pump, mg_h)
            if why is not None:
                why.append(Why("dose at this step", f"{_given_text(pump, mg_h)} x {_g(hours)} h"
                               + (" (held at the step reached)" if last else ""), given * hours,
                               "mg"))
            out.append(PhasePlan(
                start_h=t, duration_h=hours, written=str(q), mg_h=mg_h, mg_h_max=mg_h,
                per_kg_h=s.per_kg(mg_h), cap_binds=binds, pump=pump,
                dose_mg_min=(given * hold if i == 0 else 0.0), dose_mg_max=given * hours,
                conditional=i > 0, criteria=p.escalate_if if i > 0 else
                f"start; if effective, continue for {hours_text(hold)} in all",
                **{**s.common(p), "derivation": why if why is not None else (),
                   "name": f"{p.name} step {i + 1}" + (" and hold" if last else "")}))
            t += hours
        # the session clock has moved past every step (the phase's own hours are not added)
        return out, None


class Oral(PerDay):
    """Oral intakes a day, optionally titrated up to a maximum daily dose."""

    kind = "oral"

    def delivered(self, pp, weights) -> list:
        """The highest daily dose per kg of each weight."""
        if pp.dose_mg_max is None:
            return []
        return [("daily_dose_per_kg", pp.dose_mg_max / kg, "mg/kg/day",
                 f"{pp.name}: highest daily dose {label}") for kg, label in weights]

    def describe(self, p) -> str:
        top = f", max {display(p.max_dose)}" if p.max_dose is not None else ""
        return f"{display(p.dose)} x {p.times_per_day} a day{top}"

    def measures(self, p) -> list:
        if not p.dose.unit.per_kg:
            return []
        per_day = Quantity(p.dose.magnitude("mg/kg") * p.times_per_day, parse_unit("mg/kg/day"))
        out = [("daily_dose_per_kg", per_day, f"daily dose ({p.dose} x {p.times_per_day})", "dose")]
        if p.max_daily is not None and p.max_daily.unit.per_kg:
            out.append(("daily_dose_per_kg", p.max_daily.to("mg/kg/day"), "top of the titration",
                        "max_daily"))
        return out

    def max_intakes(self, pp) -> list:
        """Intakes evenly spaced over the day (the PK notes say so)."""
        every = 24.0 / pp.times_per_day
        return [(pp.start_h + i * every, pp.per_dose_mg) for i in range(pp.times_per_day)]

    def plan(self, p, s, t):
        why, kg, conc = s.why, s.kg, s.conc_mg_ml
        mg, binds, top = _per_intake_mg(p, kg, why, "dose per intake")
        if why is not None:
            why.append(Why("daily dose", f"{_g(mg)} mg x {p.times_per_day} a day",
                           mg * p.times_per_day, "mg", p.source))
        daily_max = mg * p.times_per_day
        per_dose_max = mg
        if p.max_daily is not None:
            # A titrated oral dose: the course maximum is the top of the range, not the start
            top_day = _rate_mg_h(p.max_daily, kg) * 24.0
            if top_day > daily_max:
                daily_max, per_dose_max = top_day, top_day / p.times_per_day
                if top is not None and per_dose_max > top:
                    per_dose_max, daily_max = top, top * p.times_per_day
            if why is not None:
                why.append(Why("daily dose at the top of the titration",
                               f"{p.max_daily}" + (f" x {_g(kg)} kg dosing weight"
                                                   if p.max_daily.unit.per_kg else " as written")
                               + f" = {_g(per_dose_max)} mg x {p.times_per_day} a day",
                               daily_max, "mg", p.source))
        if conc:
            if why is not None:
                why.append(Why("volume per intake", f"{_g(mg)} mg / {_g(conc)} mg/mL",
                               mg / conc, "mL"))
        return [PhasePlan(start_h=t, duration_h=None, written=str(p.dose)
                          + (f" up to {p.max_daily}" if p.max_daily is not None else ""),
                          intakes=Intakes(mg, p.times_per_day, per_dose_max,
                                          mg / conc if conc else None), cap_binds=binds,
                          dose_mg_min=mg * p.times_per_day, dose_mg_max=daily_max,
                          criteria=p.titrate, **s.common(p))], p.hours() or 0.0


class Topical(PerDay):
    """A topical preparation: strength and applications a day; mg only when an amount is given."""

    kind = "topical"

    def describe(self, p) -> str:
        amount = f", {display(p.amount)} each" if p.amount is not None else ""
        return f"{display(p.strength)} x {p.applications_per_day} a day{amount}"

    def measures(self, p) -> list:
        return [("strength", p.strength, "strength", "strength")]

    def plan(self, p, s, t):
        why = s.why
        per_app = None
        if why is not None:
            why.append(Why("strength", "as written", p.strength.value, "%", p.source))
        if why is not None:
            why.append(Why("applications", "a day, as written", p.applications_per_day, "/day",
                           p.source))
        if p.amount is not None and p.amount.kind == "mass":
            per_app = p.amount.magnitude("mg") * p.strength.value / 100.0
            if why is not None:
                why.append(Why("ketamine per application", f"{p.amount} x {p.strength}", per_app,
                               "mg", p.source))
        else:
            if why is not None:
                why.append(Why("ketamine per application", "not computed: the regimen gives no "
                               "amount per application (the prescriber states it)", None, "mg"))
        daily = None if per_app is None else per_app * p.applications_per_day
        return [PhasePlan(start_h=t, duration_h=None, written=str(p.strength),
                          intakes=Intakes(per_app, p.applications_per_day, strength=str(p.strength),
                                          amount=str(p.amount) if p.amount is not None else None),
                          dose_mg_min=daily, dose_mg_max=daily, **s.common(p))], p.hours() or 0.0


# The registration table: one planner per phase kind of the regimen format.
PHASE_KINDS: dict[str, PhaseKind] = {k.kind: k() for k in (
    FixedRate, Bolus, Titration, Escalation, Oral, Topical)}


def plan_phases(regimen, weight: DosingWeight, conc_mg_ml: float | None,
                ceiling_mg_h: float | None = None, derive: bool = True) -> list:
    """PhasePlans of one session in the maximum case (every escalation happens).

    ``ceiling_mg_h`` is the lowest hard rate limit for this patient: a titration never steps
    above it (a pump refuses rates over a hard limit); fixed rates are not lowered here, the
    limit check refuses them instead.
    """
    session = _Session(weight.kg, conc_mg_ml, ceiling_mg_h, derive)
    out: list = []
    t = 0.0
    for p in regimen.phases:
        session.phase(p)
        plans, hours = p.phase_kind.plan(p, session, t)
        out.extend(plans)
        t = plans[-1].start_h + plans[-1].duration_h if hours is None else t + hours
    return out


def display_titration(p) -> str:
    step = f" in steps of {p.step}" if p.step is not None else ""
    return f"{p.start} up to {p.max}{step}"


def staircase(steps, hours):
    """(begin, end, mg/h) of each step of a timed titration, within the phase's hours, from the
    start of the phase, at the rate each step delivers (given_mg_h). The one staircase: the
    session maximum, the calendar and the PK inputs all read it."""
    for here, nxt in zip(steps, [*steps[1:], None]):
        begin = min(here.t_h, hours)
        yield begin, (min(nxt.t_h, hours) if nxt else hours), given_mg_h(here.pump, here.mg_h)


def timed(steps) -> bool:
    """Every step of a titration has a time (else it is titrated to effect)."""
    return bool(steps) and not any(math.isnan(s.t_h) for s in steps)


def _titration_max(steps, hours) -> float:
    """The most a titration can give: the staircase if step times are known, else max throughout."""
    if not timed(steps):
        return given_mg_h(steps[-1].pump, steps[-1].mg_h) * hours
    return sum((end - begin) * mg_h for begin, end, mg_h in staircase(steps, hours))


@dataclass(frozen=True)
class Day:
    """One day of the course: its dose and the cumulative dose, lowest and highest."""

    day: int
    dose_mg_min: float | None
    dose_mg_max: float | None
    cumulative_mg_min: float | None
    cumulative_mg_max: float | None
    conditional: bool
    sessions: int


def calendar(regimen, phases) -> list:
    """Per calendar day: dose (planned minimum and maximum) and the running totals."""
    days = []
    if regimen.pattern == "daily":
        lo = _sum(p.dose_mg_min for p in phases)
        hi = _sum(p.dose_mg_max for p in phases)
        per_day = [(lo, hi, False)] * regimen.days
    else:
        per_day = []
        for d in range(regimen.days):
            t0, t1 = 24.0 * d, 24.0 * (d + 1)
            hi = sum(_overlap(start, duration, t0, t1) * mg_h for p in phases
                     for start, duration, mg_h in p.phase_kind.max_pieces(p))
            lo = sum(p.phase_kind.min_mg(p, t0, t1) for p in phases)
            conditional = any(p.conditional and _overlap(p.start_h, p.duration_h, t0, t1) > 0
                              for p in phases)
            per_day.append((lo, hi, conditional))
    cum_lo: float | None = 0.0
    cum_hi: float | None = 0.0
    for i, (lo, hi, cond) in enumerate(per_day, start=1):
        cum_lo = None if lo is None or cum_lo is None else cum_lo + lo
        cum_hi = None if hi is None or cum_hi is None else cum_hi + hi
        days.append(Day(i, lo, hi, cum_lo, cum_hi, cond, 1 if regimen.pattern == "daily" else 0))
    return days


def _sum(values):
    values = list(values)
    return None if any(v is None for v in values) else sum(values)


def _overlap(start, duration, t0, t1) -> float:
    if duration is None:
        return 0.0
    return max(0.0, min(start + duration, t1) - max(start, t0))


def totals(regimen, phases, days, why: list | None = None) -> dict:
    session_max = _sum(p.dose_mg_max for p in phases)
    session_min = _sum(p.dose_mg_min for p in phases)
    if why is not None and session_max is not None:
        why.append(Why("session (maximum)", " + ".join(f"{_g(p.dose_mg_max)} mg ({p.name})"
                                                       for p in phases), session_max, "mg"))
        if days and days[-1].cumulative_mg_max is not None:
            why.append(Why("course (maximum)", f"sum of {len(days)} daily maxima", days[-1].cumulative_mg_max, "mg"))
            why.append(Why("course (minimum)", f"sum of {len(days)} daily minima "
                           "(titrations at their start rate; escalations stopping at step 1)",
                           days[-1].cumulative_mg_min, "mg"))
    return {
        "max_session_mg": session_max,
        "min_session_mg": session_min,
        "max_daily_mg": max((d.dose_mg_max for d in days if d.dose_mg_max is not None), default=None),
        "course_mg_min": days[-1].cumulative_mg_min if days else None,
        "course_mg_max": days[-1].cumulative_mg_max if days else None,
    }


def ceiling_findings(phases, unverified: str | None = None) -> list:
    """KD-DOSE-003 per lowered titration; ``unverified`` is the note of the limit that set the
    ceiling, so the number it shows carries the UNVERIFIED mark as KD-LIM findings do."""
    return [Finding("KD-DOSE-003", "warning",
                    f"{p.name}: the titration maximum ({p.steps[-1].written}) is above a hard rate "
                    f"limit for this patient; steps stop at {p.mg_h_max:.3g} mg/h",
                    "ketadose limit library (`ketadose limits`)", title="Titration ceiling",
                    unverified=unverified)
            for p in phases if p.ceiling_lowered]


def _weight_basis_words(basis: str) -> str:
    """The dosing weight as a clinician reads it: "not-needed" is the internal name of a regimen
    of fixed doses, never shown as a kind of weight. Short, so that the CDS card's summary (139
    characters, else cut at the first "; ") keeps it for a typical obese patient."""
    if basis == "not-needed":
        return "no dosing weight: doses are fixed, not per kg"
    return f"dosing on {basis} weight"


def weight_findings(weight: DosingWeight) -> list:
    out = []
    if weight.bmi is not None and weight.bmi >= 30:
        ideal = f"{weight.ideal_kg:.1f} kg" if weight.ideal_kg else "n/a"
        adj = f"{weight.adjusted_kg:.1f} kg" if weight.adjusted_kg else "n/a"
        out.append(Finding("KD-DOSE-001", "warning",
                           f"BMI {weight.bmi:.1f} (obese): actual {weight.actual_kg:.1f} kg, ideal "
                           f"{ideal}, adjusted {adj}; " + _weight_basis_words(weight.basis)
                           + (" (consider ideal or adjusted weight; no chronic-pain-specific "
                              "guidance exists)" if weight.basis == "actual" else ""),
                           OBESITY, title="Obesity: dosing weight"))
    if weight.note:
        out.append(Finding("KD-DOSE-002", "info", weight.note, DEVINE, title="Dosing weight"))
    return out
