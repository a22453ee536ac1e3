"""The dose-limit library and the check of one number against it.

Works like a smart-pump drug library: each limit is per drug form, route and
measure, with a soft value (a warning the regimen must confirm with a reason)
and a hard value (refused, no override). A regimen's setting can move limits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ketadose.findings import Finding
from ketadose.units import Quantity, display, parse_unit

DRUGS = ("racemic-ketamine", "esketamine")
ROUTES = ("iv", "sc", "oral", "topical")


@dataclass(frozen=True)
class Limit:
    """One hard or soft limit of the dose-limit library, with its source."""

    id: str
    name: str
    what: str
    drug: str  # a drug form or "any"
    routes: tuple
    measure: str
    unit: str
    soft: float | None
    hard: float | None
    source: str
    hard_inclusive: bool = False
    unverified: str | None = None
    settings: dict = field(default_factory=dict)  # setting -> {soft, hard, note, unverified}
    # "max": a value above the bound fires (most limits); "min": a value below it fires (a
    # concentration too dilute, a push too fast to be given over its minimum time).
    direction: str = "max"
    # "clinical": rests on docs/evidence.md; "guard": a device or typing-error guard with no
    # clinical source (shown as such wherever it fires).
    kind: str = "clinical"

    def applies(self, drug: str, route: str, measure: str) -> bool:
        return self.measure == measure and route in self.routes and self.drug in ("any", drug)

    def bounds(self, setting: str, confirmed: dict | None = None):
        """(soft, hard, note, unverified) in force for a regimen's setting.

        A setting entry marked ``requires_confirm`` (the ICU lifts) moves the limit only for a
        regimen that confirms this limit with a reason: declaring ``setting: icu`` alone lifts
        nothing. ``confirmed`` None (listing the library) shows the moved values.
        """
        moved = self.settings.get(setting)
        if moved is not None and moved.get("requires_confirm") and confirmed is not None \
                and self.id not in confirmed:
            moved = None
        if moved is None:
            return self.soft, self.hard, None, self.unverified
        return (moved.get("soft"), moved.get("hard"), moved.get("note"),
                moved.get("unverified", self.unverified))


@dataclass(frozen=True)
class LimitLibrary:
    """The dose-limit library: every limit, looked up by drug, route and measure."""

    version: str
    limits: tuple
    _index: dict = field(default_factory=dict, compare=False, repr=False)

    def find(self, drug: str, route: str, measure: str):
        key = (drug, route, measure)
        found = self._index.get(key)  # pragma: no mutate (a cache: a miss only recomputes)
        if found is None:  # cached: plans in a batch ask the same questions every time
            found = self._index[key] = [lim for lim in self.limits if lim.applies(drug, route, measure)]
        return found

    def by_id(self, rule_id: str):
        return next((lim for lim in self.limits if lim.id == rule_id), None)


def library_from_data(data: dict) -> LimitLibrary:
    """Build the library from its YAML data (shipped; tests check that it loads)."""
    limits = []
    for raw in data["limits"]:
        routes = raw["route"] if isinstance(raw["route"], list) else [raw["route"]]
        parse_unit(raw["unit"])  # a typo in the library must fail loudly
        limits.append(Limit(
            id=raw["id"], name=raw["name"], what=raw["what"], drug=raw["drug"],
            routes=tuple(routes), measure=raw["measure"], unit=raw["unit"],
            soft=raw.get("soft"), hard=raw.get("hard"), source=" ".join(raw["source"].split()),
            hard_inclusive=bool(raw.get("hard_inclusive")),
            unverified=" ".join(raw["unverified"].split()) if raw.get("unverified") else None,
            settings=dict(raw.get("settings") or {}),
            direction=raw.get("direction", "max"), kind=raw.get("kind", "clinical"),
        ))
        if limits[-1].direction not in ("max", "min") or limits[-1].kind not in ("clinical", "guard"):
            raise ValueError(f"{raw['id']}: direction must be max or min, kind clinical or guard")
    ids = [lim.id for lim in limits]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate limit id in the library")
    return LimitLibrary(str(data["version"]), tuple(limits))


@dataclass(frozen=True)
class LimitContext:
    """What a limit check needs to know about the regimen."""

    drug: str
    route: str
    setting: str
    confirmed: dict  # rule id -> reason


def check(library: LimitLibrary, ctx: LimitContext, measure: str, qty: Quantity, what: str,
          path: tuple = (), consulted: list | None = None) -> list:
    """Check one number against every limit for its measure; return findings.

    ``consulted`` (for --explain) receives every comparison made, fired or not.
    """
    findings: list = []
    for lim in library.find(ctx.drug, ctx.route, measure):
        soft, hard, note, unverified = lim.bounds(ctx.setting, ctx.confirmed)
        value = qty.magnitude(lim.unit)
        before = len(findings)
        # the number as a finding words it: made only when a limit fires (most checks pass)
        shown = _Shown(what, qty, lim.unit)
        if lim.direction == "min":
            findings += _check_min(lim, ctx, value, soft, hard, shown, path, unverified)
        elif hard is not None and (
                at_or_above(value, hard) if lim.hard_inclusive else above(value, hard)):
            op = "at or above" if lim.hard_inclusive else "above"
            hint = unit_hint(qty, lim, hard)
            findings.append(Finding(
                lim.id, "error",
                f"{shown} is {op} the hard limit of {_num(hard)} {lim.unit} for "
                f"{lim.what}{_guard(lim)} ({ctx.drug}); refused, no override{hint}",
                lim.source, path, unverified=unverified))
        elif soft is not None and above(value, soft):
            reason = ctx.confirmed.get(lim.id)
            if reason:
                findings.append(Finding(
                    lim.id, "info",
                    f"{shown} is above the soft limit of {_num(soft)} {lim.unit}; "
                    f"confirmed: {reason}", lim.source, path, unverified=unverified))
            else:
                findings.append(Finding(
                    lim.id, "warning",
                    f"{shown} is above the soft limit of {_num(soft)} {lim.unit} for "
                    f"{lim.what}{_guard(lim)}; confirm it with a reason (confirm: {{{lim.id}: \"...\"}})",
                    lim.source, path, unverified=unverified))
        if consulted is not None:
            outcome = findings[before].severity if len(findings) > before else "within"
            entry = {"rule": lim.id, "what": what, "value": round(value, 6),
                     "unit": lim.unit, "soft": soft, "hard": hard,
                     "hard_inclusive": lim.hard_inclusive, "outcome": outcome,
                     "source": lim.source, "unverified": unverified,
                     "setting_note": note}
            if lim.direction != "max":
                entry["direction"] = lim.direction
            if lim.kind != "clinical":
                entry["kind"] = lim.kind
            consulted.append(entry)
    return findings


class _Shown:
    """'what 12.5 mg/h (= 0.18 mg/kg/h)': formatted when a message is made."""

    __slots__ = ("what", "qty", "unit")

    def __init__(self, what, qty, unit):
        self.what, self.qty, self.unit = what, qty, unit

    def __format__(self, spec) -> str:
        qty = self.qty
        return f"{self.what} {display(qty)}" + (
            "" if qty.unit.symbol == self.unit else f" (= {display(qty.to(self.unit))})")


def _guard(lim) -> str:
    return " (a device or typing-error guard, not a clinical limit)" if lim.kind == "guard" else ""


def _check_min(lim, ctx, value, soft, hard, shown, path, unverified) -> list:
    """A lower bound: below the hard value is refused, below the soft one needs a confirm."""
    guard = _guard(lim)
    if hard is not None and (value <= hard + abs(hard) * _TOL if lim.hard_inclusive
                             else value < hard - abs(hard) * _TOL):
        op = "at or below" if lim.hard_inclusive else "below"
        return [Finding(lim.id, "error", f"{shown} is {op} the hard minimum of {_num(hard)} "
                        f"{lim.unit} for {lim.what}{guard} ({ctx.drug}); refused, no override",
                        lim.source, path, unverified=unverified)]
    if soft is not None and value < soft - abs(soft) * _TOL:
        reason = ctx.confirmed.get(lim.id)
        if reason:
            return [Finding(lim.id, "info", f"{shown} is below the soft minimum of {_num(soft)} "
                            f"{lim.unit}{guard}; confirmed: {reason}", lim.source, path,
                            unverified=unverified)]
        return [Finding(lim.id, "warning", f"{shown} is below the soft minimum of {_num(soft)} "
                        f"{lim.unit} for {lim.what}{guard}; confirm it with a reason "
                        f"(confirm: {{{lim.id}: \"...\"}})", lim.source, path, unverified=unverified)]
    return []


# Unit conversion is exact only to ~1e-16 relative: 7.2 mcg/kg/min is 0.43200000000000005
# mg/kg/h. A number equal to a limit within 1e-9 is treated as equal to it.
_TOL = 1e-9


def above(value: float, bound: float) -> bool:
    return value > bound + abs(bound) * _TOL


def at_or_above(value: float, bound: float) -> bool:
    return value >= bound - abs(bound) * _TOL


def _num(x: float) -> str:
    return f"{x:g}"


def unit_hint(qty: Quantity, lim: Limit, hard: float) -> str:
    """Suggest the unit the writer probably meant, if that reading is plausible.

    Three slips are tried: the review article's "22.2 mg/hr/kg" was mg/h per 70 kg
    (docs/evidence.md section 0); per minute written for per hour (60-fold); and mg
    written for mcg (1000-fold). A reading is offered when it falls within the soft limit.
    """
    ceiling = lim.soft if lim.soft is not None else hard
    readings = []
    if qty.kind == "rate_per_kg":
        readings.append((f"{_num(qty.value)} mg/h per 70 kg",
                         Quantity(qty.value / 70.0, parse_unit("mg/kg/h"))))
    sym = qty.unit.symbol
    if sym.endswith("/min"):
        per_h = sym[: -len("/min")] + "/h"
        readings.append((f"{_num(qty.value)} {per_h}", Quantity(qty.value, parse_unit(per_h))))
    if sym.startswith("mg"):
        mcg = "mcg" + sym[2:]
        readings.append((f"{_num(qty.value)} {mcg}", Quantity(qty.value, parse_unit(mcg))))
    hints = [f"{text} would be {display(q.to(lim.unit))}" for text, q in readings
             if q.magnitude(lim.unit) <= ceiling]
    return "; likely unit error? " + "; or ".join(hints) if hints else ""
