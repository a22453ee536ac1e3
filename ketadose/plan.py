"""A dose plan: the calculators, the limit library on the patient's own numbers, and the
preparation. Pure: no I/O."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

from ketadose import limits as lim
from ketadose.dosing import (
    DosingWeight,
    calendar,
    ceiling_findings,
    dosing_weight,
    plan_phases,
    totals,
    weight_findings,
)
from ketadose.errors import KetadoseError
from ketadose.units import Quantity, parse_unit

# Vial strengths of ketamine injection (base): 10, 50 and 100 mg/mL (US labels; docs/evidence.md C3).
VIALS_MG_ML = (10.0, 50.0, 100.0)
# Esketamine is a different product: never the racemic vials. docs/evidence.md names the product
# (Ketanest, esketamine, Pfizer Norway SPC 2019, C4) but not its strengths: the 5 and 25 mg/mL
# strengths of Ketanest S are UNVERIFIED and say so wherever they are shown.
PRODUCTS = {
    "racemic-ketamine": (VIALS_MG_ML, {}, None),
    "esketamine": ((5.0, 25.0), {5.0: "Ketanest S (esketamine) 5 mg/mL",
                                 25.0: "Ketanest S (esketamine) 25 mg/mL"},
                   "UNVERIFIED strength: the esketamine product strengths are not in "
                   "docs/evidence.md; check the product in hand"),
}
_MG_H, _MG, _MG_KG, _MG_KG_H, _MG_KG_DAY, _MG_ML = (parse_unit(u) for u in (
    "mg/h", "mg", "mg/kg", "mg/kg/h", "mg/kg/day", "mg/mL"))


@dataclass(frozen=True)
class Preparation:
    route: str
    concentration_mg_ml: float | None
    concentration_origin: str | None
    drug_mg: float | None = None  # in the bag as prepared (volume x concentration)
    per: str = ""  # what the bag is for
    final_volume_ml: float | None = None
    diluent: str | None = None
    priming_ml: float | None = None
    vials: tuple = ()  # (strength mg/mL, mL of drug to draw, mL of diluent, note)
    syringes: tuple = ()  # (label, mg per 24 h, mL per 24 h or None)
    notes: tuple = ()
    need_mg: float | None = None  # what the session (or the 24 h) needs, without priming
    discard_mg: float | None = None  # a standard volume kept: drawn off before hanging
    discard_ml: float | None = None


@dataclass(frozen=True)
class Plan:
    regimen: object
    weight: DosingWeight
    concentration_mg_ml: float | None
    concentration_origin: str | None
    phases: tuple
    days: tuple
    totals: dict
    preparation: Preparation
    findings: tuple = ()
    notes: tuple = field(default_factory=tuple)
    consulted: tuple = ()  # every limit comparison made (for --explain)
    totals_derivation: tuple = ()
    patient_age: int | None = None
    patient_sex: str | None = None  # for the weight-for-age plausibility guard (KD-GATE-004)
    # the Dosed its phases, days, totals and bag come from (a batch keys remembered parts by it)
    dosing: object = field(default=None, compare=False, repr=False)

    @property
    def blocked(self) -> bool:
        return any(f.severity == "error" for f in self.findings)


def make_plan(regimen, patient, library, *, basis=None, concentration=None, priming_ml=None,
              regimen_findings=(), override=None, explain: bool = True, memo=None) -> Plan:
    """Calculate the plan, then pass it through the safety gate (ketadose/gate.py): what is
    returned has been checked as delivered, or carries the findings that refuse it.

    ``explain`` False leaves out what only --explain shows (the weight's and the totals'
    derivation steps, the limits consulted): a batch line shows neither. Every number, finding
    and check is the same. ``memo`` (a DosingMemo made for these same arguments) remembers the
    dosing and its verdict per dosing weight: the same plan, faster for a batch."""
    from ketadose import gate

    weight = dosing_weight(regimen, patient, basis, derive=explain)
    args = (regimen, library, concentration, priming_ml, override, explain)
    dosed = memo(weight, args) if memo is not None else dose(weight, *args)
    conc, origin = dosed.concentration
    # Limit findings are recomputed on the delivered plan by the gate; the regimen's other
    # findings stay.
    findings = [f for f in regimen_findings if not f.rule.startswith("KD-LIM")]
    findings += weight_findings(weight)
    findings += dosed.findings
    plan = Plan(regimen, weight, conc, origin, dosed.phases, dosed.days, dosed.totals,
                dosed.preparation, tuple(findings), totals_derivation=dosed.totals_derivation,
                patient_age=patient.age, patient_sex=patient.sex, dosing=dosed)
    return gate.run(plan, library, override, explain, dosed.verdict)


def _concentration(regimen, concentration) -> tuple:
    """(mg/mL, where it comes from) of the plan: --concentration, else the regimen's
    preparation; none for a topical regimen."""
    if regimen.route == "topical":
        return None, None
    if concentration is not None:
        return concentration.magnitude("mg/mL"), "--concentration"
    if regimen.preparation and regimen.preparation.concentration is not None:
        return regimen.preparation.concentration.magnitude("mg/mL"), "regimen preparation"
    return None, None


@dataclass(frozen=True)
class Dosed:
    """What the dosing gives for one dosing weight: the phases, the calendar, the totals, the
    bag, the titration-ceiling findings, and the gate's verdict on them (gate.dosing_verdict:
    its first failed invariant, limit and pump findings, limits consulted)."""

    phases: tuple
    days: tuple
    totals: dict
    preparation: Preparation
    findings: tuple
    totals_derivation: tuple
    verdict: tuple
    concentration: tuple  # (mg/mL, where it comes from)


def dose(weight, regimen, library, concentration, priming_ml, override, explain) -> Dosed:
    """The dosing of a plan and the gate's verdict on it. Of the patient it reads the weight's
    fields of gate.DOSING_WEIGHT_READS only (DosingMemo holds it to that)."""
    from ketadose import gate

    conc, origin = _concentration(regimen, concentration)
    ctx = lim.LimitContext(regimen.drug, regimen.route, regimen.setting, regimen.confirm)
    if weight.actual_kg is None and per_kg_limited(library, ctx):
        raise KetadoseError(f"the patient's weight is required: the limits per kg for "
                            f"{regimen.route.upper()} {regimen.drug} are checked on every plan "
                            "(--weight or weight: in the patient file)")
    ceilings = hard_rate_ceilings(library, ctx, weight)
    ceiling = min((mg_h for mg_h, _ in ceilings), default=None)
    phases = tuple(plan_phases(regimen, weight, conc, ceiling, explain))
    days = tuple(calendar(regimen, phases))
    tot_why: list = []
    tot = totals(regimen, phases, days, tot_why if explain else None)
    prep = preparation(regimen, phases, tot, conc, origin, priming_ml)
    # the gate's checks of the dosing see the plan as delivered, with this weight
    plan = Plan(regimen, weight, conc, origin, phases, days, tot, prep)
    return Dosed(phases, days, tot, prep,
                 tuple(ceiling_findings(phases, ceiling_unverified(ceilings, ceiling))), tuple(tot_why),
                 gate.dosing_verdict(plan, library, override, explain), (conc, origin))


class Undeclared(Exception):
    """A remembered computation read a field it did not declare: it is computed again on the
    whole value, and not remembered."""


class Declared:
    """An object as a remembered computation may see it: only the declared attributes; any
    other raises Undeclared (so a remembered result depends only on what its key is made of).

    The declared attributes are read once, when the view is made, into its own dict: a read is
    then a plain attribute read, and __getattr__ (which Python calls only when the normal lookup
    fails) is reached by an undeclared name alone. (A view that looked each read up in Python,
    through __getattr__ or __getattribute__, cost 2,500-4,000 instructions a read; a batch
    reads 4 fields for each new weight, height and sex.) The objects viewed are frozen: a value
    read when the view is made is the value read later. A declared name the object does not
    have is left out, and reading it raises Undeclared (the computation is then made on the
    whole object, which raises what it raises)."""

    def __init__(self, of, names):
        seen = self.__dict__
        for name in names:
            try:
                seen[name] = getattr(of, name)
            except AttributeError:
                pass

    def __getattr__(self, name):
        raise Undeclared(f"read {name!r} without declaring it")


def exact(value):
    """A key that tells apart every value a computation could tell apart: the type with the
    value, and a float by its bits (0.0 and -0.0 are equal, 1 and 1.0 and True too)."""
    cls = value.__class__
    return (cls, value.hex()) if cls is float else (cls, value)


class DosingMemo:
    """``dose`` for a batch: remembered per dosing weight, keyed by the exact values of the
    weight's fields the dosing and its checks read (gate.DOSING_WEIGHT_READS), for one set of
    the other arguments (a batch's regimen, library, --concentration, --priming, --override and
    explain: the same objects for every patient). ``dose`` runs on a weight that has only those fields: if it reads another, the
    result is computed again on the whole weight and not remembered (counted in
    ``undeclared``). Other arguments than the first ones, or an error: computed, not
    remembered. Bounded in count and in the size of what it keeps."""

    SIZE = 2048
    BUDGET = 16 << 20  # bytes of remembered dosings (estimated by their phases and days)

    def __init__(self, reads=None):
        from ketadose import gate

        self.reads = tuple(gate.DOSING_WEIGHT_READS if reads is None else reads)
        self.values = _getter(self.reads)
        # the usual reads: the same key as exact() of each, written out (a batch makes one
        # for every patient); a float's hex text cannot equal exact() of another value
        self.key = _weight_key if self.reads == ("kg", "actual_kg", "basis") else \
            (lambda weight: tuple(map(exact, self.values(weight))))
        self.args: tuple | None = None
        self.cache: dict = {}
        self.used = 0
        self.undeclared = 0
        self.hits = 0

    def __call__(self, weight, args) -> Dosed:
        if args is not self.args:  # a batch passes the same tuple: PlanLines
            if self.args is None:
                self.args = args
            elif not _same(args, self.args):
                return dose(weight, *args)
        key = self.key(weight)
        got = self.cache.get(key)
        if got is not None:
            self.hits += 1
            return got
        try:
            got = dose(Declared(weight, self.reads), *args)
        except Undeclared:
            self.undeclared += 1
            return dose(weight, *args)
        if got.verdict[0] is not None:  # a failed invariant (our bug): raised, never kept
            return got
        cost = 600 * (len(got.phases) + 1) + 100 * len(got.days)
        if len(self.cache) >= self.SIZE or self.used + cost > self.BUDGET:
            self.cache.clear()
            self.used = 0
        self.cache[key] = got
        self.used += cost
        return got


def _weight_key(w) -> tuple:
    """DosingMemo's key for the reads kg, actual_kg and basis: each float by its hex text
    (its bits), anything else by exact()."""
    kg, actual = w.kg, w.actual_kg
    return (kg.hex() if kg.__class__ is float else exact(kg),
            actual.hex() if actual.__class__ is float else exact(actual), exact(w.basis))


def _getter(names):
    """A function giving the tuple of an object's attributes ``names`` (operator.attrgetter,
    which gives the value itself for one name)."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    if names:
        get = operator.attrgetter(names[0])
        return lambda of: (get(of),)
    return lambda of: ()


def _same(args, first) -> bool:
    """The same arguments: the same objects, or equal values of the same types."""
    for a, b in zip(args, first):
        if a is not b and (a.__class__ is not b.__class__ or exact(a) != exact(b)):
            return False
    return True


_PER_KG = ("rate_per_kg", "bolus_per_kg", "daily_dose_per_kg", "push_rate_per_kg")


def per_kg_limited(library, ctx) -> bool:
    """Whether any limit for this drug and route is per kg (then a plan needs the weight)."""
    return any(library.find(ctx.drug, ctx.route, m) for m in _PER_KG)


def hard_rate_ceilings(library, ctx, weight) -> list:
    """The hard limits on the infusion rate for this patient: (mg/h, the limit's UNVERIFIED
    note or None) each. The lowest is the titration ceiling.

    Per-kg limits are taken on the lower of the dosing and the actual weight, so a regimen
    written in mg/h is bounded per kg of the patient as well.
    """
    kgs = [k for k in (weight.kg, weight.actual_kg) if k]
    kg = min(kgs) if kgs else None
    ceilings = []
    for measure, scale in (("rate", 1.0), ("rate_per_kg", kg)):
        if scale is None:
            continue
        for limit in library.find(ctx.drug, ctx.route, measure):
            if limit.direction != "max":
                continue
            _soft, hard, _note, unverified = limit.bounds(ctx.setting, ctx.confirmed)
            if hard is not None and not limit.hard_inclusive:
                ceilings.append((Quantity(hard * scale, parse_unit(
                    limit.unit.replace("/kg", "") if measure == "rate_per_kg" else limit.unit))
                    .magnitude("mg/h"), unverified))
    return ceilings


def hard_rate_ceiling(library, ctx, weight) -> float | None:
    """The lowest hard limit on the infusion rate for this patient, in mg/h (None if none)."""
    return min((mg_h for mg_h, _ in hard_rate_ceilings(library, ctx, weight)), default=None)


def ceiling_unverified(ceilings, ceiling) -> str | None:
    """The UNVERIFIED notes of the limits that set the ceiling (the lowest), so the titration-
    ceiling finding carries the mark beside the number it shows; None when all are verified."""
    if ceiling is None:
        return None
    notes = dict.fromkeys(u for mg_h, u in ceilings
                          if u and abs(mg_h - ceiling) <= 1e-9 * max(1.0, ceiling))
    return "; ".join(notes) or None


def preparation(regimen, phases, tot, conc, origin, priming_ml) -> Preparation:
    """What the pharmacy prepares for the route: a bag (IV), a syringe driver's contents (SC),
    the product strength (oral), or the regimen's own words (topical)."""
    notes = []
    if regimen.route in ("iv", "sc") and conc is None:
        notes.append("No concentration given: pump rates and volumes need --concentration "
                     "(or a concentration in the regimen's preparation).")
    make = _BY_ROUTE.get(regimen.route, _topical)
    return make(regimen, phases, tot, conc, origin, priming_ml, notes)


def _iv(regimen, phases, tot, conc, origin, priming_ml, notes) -> Preparation:
    """The bag holds the session dose (one day's dose for a continuous infusion) plus priming,
    at the chosen concentration. The regimen's standard volume is kept only at the regimen's
    own concentration, and then the excess is drawn off before hanging."""
    daily = regimen.pattern == "daily"
    per = "one session" if daily else "24 h (one bag a day)"
    need = tot["max_session_mg"] if daily else tot["max_daily_mg"]
    prep = regimen.preparation
    if conc is None or need is None:
        return Preparation("iv", conc, origin, None, per, need_mg=need, notes=tuple(notes))
    volume, discard_ml = _bag_volume(prep, conc, origin, priming_ml, need, daily, notes)
    if priming_ml is None:
        notes.append("Priming volume not included: add your giving set's volume with --priming.")
    drug = volume * conc
    vials = _vials(regimen.drug, conc, drug, volume, notes)
    notes.append("Use immediately after dilution (label 2.1); do not mix with barbiturates or "
                 "diazepam in the same syringe or bag (precipitate).")
    return Preparation("iv", conc, origin, drug, per, volume,
                       prep.diluent if prep and prep.diluent else "0.9% sodium chloride or 5% glucose",
                       priming_ml, tuple(vials), notes=tuple(notes), need_mg=need,
                       discard_mg=discard_ml * conc if discard_ml is not None else None,
                       discard_ml=discard_ml)


def _bag_volume(prep, conc, origin, priming_ml, need, daily, notes) -> tuple:
    """(volume in mL, mL to discard before hanging or None): the need plus priming, or the
    regimen's standard volume at its own concentration with the excess drawn off."""
    prime = priming_ml or 0.0
    volume = need / conc + prime
    what = "session" if daily else "day"
    standard = prep.volume.magnitude("mL") if prep and prep.volume is not None else None
    if standard is not None and origin == "regimen preparation" and standard > volume + 1e-9:
        discard_ml = standard - volume
        notes.append(f"Prepared as the regimen's standard {standard:g} mL "
                     f"({standard * conc:.4g} mg); draw off and discard {discard_ml:.4g} mL "
                     f"({discard_ml * conc:.4g} mg) before hanging, so that the bag holds the "
                     f"{what}'s {need:.4g} mg" + (" plus priming" if prime else "") + ".")
        return standard, discard_ml
    if standard is not None and abs(standard - volume) > 1e-9:
        notes.append(f"Volume {volume:.4g} mL: the {what}'s {need:.4g} mg"
                     + (f" plus {prime:g} mL priming" if prime else "")
                     + f" at {conc:g} mg/mL (the regimen's {standard:g} mL is for its own "
                     "concentration).")
    return volume, None


def _vials(drug_name, conc, drug, volume, notes) -> list:
    """(strength, mL to draw, mL of diluent, note) for each product strength at or above the
    concentration: the drug's own products only (esketamine is never the racemic vials)."""
    vials = []
    strengths, names, caveat = PRODUCTS.get(drug_name, PRODUCTS["racemic-ketamine"])
    for strength in strengths:
        if strength < conc:
            continue
        draw = drug / strength
        note = {100.0: "must be diluted before IV use (label 2.1)",
                10.0: "should not be diluted (Trissel); prefer 50 or 100 mg/mL"}.get(strength, "") \
            if not names else ""
        if strength == conc:
            note = "undiluted"
        note = "; ".join(x for x in (names.get(strength), note, caveat) if x)
        vials.append((strength, draw, volume - draw, note))
    if names:
        notes.append("Esketamine (S-ketamine) products only: the racemic ketamine vials (10, 50, "
                     "100 mg/mL) are a different medicine with a different potency (basis "
                     "notes E); never substitute one for the other.")
    return vials


def _sc(regimen, phases, tot, conc, origin, priming_ml, notes) -> Preparation:
    # what the driver delivers in 24 h at its programmed rate (the rate asked without one)
    tops = [(p.name, p.phase_kind.top_mg_h(p)) for p in phases if p.mg_h_max is not None]
    syringes = tuple((name, mg_h * 24, mg_h * 24 / conc if conc else None) for name, mg_h in tops)
    return Preparation("sc", conc, origin, per="24 h syringe", syringes=syringes,
                       notes=tuple(notes + ["Syringe driver contents per 24 h for each step."]))


def _oral(regimen, phases, tot, conc, origin, priming_ml, notes) -> Preparation:
    if conc is None:
        notes.append("Give the oral product strength with --concentration (e.g. the injection "
                     "solution taken by mouth, Blonk 2010) for the volume per dose.")
    return Preparation("oral", conc, origin, notes=tuple(notes))


def _topical(regimen, phases, tot, conc, origin, priming_ml, notes) -> Preparation:
    return Preparation(regimen.route, None, None, notes=(
        "Topical: strength and applications as the regimen states; the amount per application "
        "must be prescribed where the regimen does not give it.",))


_BY_ROUTE = {"iv": _iv, "sc": _sc, "oral": _oral, "topical": _topical}
