"""One patient's `plan` run as a value: the screen, the plan (through the safety gate) and the
audit, which every renderer of a plan reads (render/documents/plan.py builds the JSON contract
from it; the table, HTML, FHIR and CSV renderers take it with a stream).

Pure: the command loads the regimen, the patient and the limit library, screens the patient,
and hands them here; nothing is read or written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ketadose.errors import KetadoseError
from ketadose.plan import Plan, make_plan

if TYPE_CHECKING:
    from ketadose.patient import Patient
    from ketadose.regimen import Regimen
    from ketadose.screen import Screen


@dataclass(frozen=True)
class PlanOptions:
    """Every option that changes a plan's output (recorded in the audit, so that `verify`
    recomputes exactly this)."""

    concentration: Any = None  # a Quantity (--concentration)
    weight_basis: str | None = None
    start: dt.datetime | None = None
    priming: float | None = None
    override: str | None = None
    date: dt.date | None = None  # the screening date (today when --start is not given)
    explain: bool = False
    reproducible: bool = False
    format: str | None = None
    from_flags: frozenset[str] = frozenset()  # patient keys given as command-line flags

    @classmethod
    def of(cls, opts: Mapping[str, Any]) -> PlanOptions:
        """From the commands' option mapping (missing keys: not given)."""
        return cls(concentration=opts.get("concentration"), weight_basis=opts.get("weight_basis"),
                   start=opts.get("start"), priming=opts.get("priming"),
                   override=opts.get("override"), date=opts.get("date"),
                   explain=bool(opts.get("explain")), reproducible=bool(opts.get("reproducible")),
                   format=opts.get("format"), from_flags=frozenset(opts.get("from_flags") or ()))

    def record(self) -> dict:
        """The options as text, as the audit records them."""
        from ketadose.units import format_quantity

        conc, start = self.concentration, self.start
        return {"concentration": format_quantity(conc) if conc is not None else None,
                "weight_basis": self.weight_basis, "start": start.isoformat() if start else None,
                "priming": self.priming, "override": self.override,
                "date": self.date.isoformat() if self.date else None,
                "explain": self.explain, "format": self.format,
                "patient_from_flags": sorted(self.from_flags)}


@dataclass(frozen=True)
class Versions:
    """The versions of the data a plan was computed with (named in the output and the audit)."""

    limits: str
    vocabulary: str
    thresholds: str


@dataclass(frozen=True)
class PlanResult:
    """What `plan` computed for one patient. ``plan`` is None when the screen blocks it (a
    contraindication without an override); a plan refused by the gate carries its findings."""

    src: Any  # the regimen's source (io.regimens.Source, or any object with name and sha256)
    regimen: Regimen
    patient: Patient
    patient_data: dict
    options: PlanOptions
    screen: Screen
    plan: Plan | None
    versions: Versions
    audit: dict | None = None  # None in a batch record (its lines carry no audit)

    @property
    def screen_blocked(self) -> bool:
        return self.plan is None

    @property
    def blocked(self) -> bool:
        return self.plan is None or self.plan.blocked

    @property
    def exit_code(self) -> int:
        return 1 if self.blocked else 0


_ROUTE_NAMES = {"iv": "IV", "sc": "SC"}


def check_options(regimen, options: PlanOptions) -> None:
    """An option that does not apply to the regimen is an error (exit 2), never silently
    ignored: the prescriber asked for something the plan would not do (issue 16)."""
    rid, route = regimen.id, regimen.route
    if options.priming is not None and route != "iv":
        raise KetadoseError(f"--priming does not apply to {rid!r} ({_ROUTE_NAMES.get(route, route)}): it is the "
                            "giving set's volume added to an IV bag; leave it out")
    if options.concentration is not None and route == "topical":
        raise KetadoseError(f"--concentration does not apply to {rid!r} (topical): its strength "
                            "is the regimen's own; leave it out")
    if options.weight_basis is not None and not regimen.weight_based():
        raise KetadoseError(f"--weight-basis does not apply to {rid!r}: it does not dose per kg "
                            "(per-kg limits are checked on the actual weight); leave it out")


def make_options_plan(regimen, patient, library, options: PlanOptions, regimen_findings,
                      explain: bool = True, memo=None) -> Plan:
    """The plan with the options that change it (single runs, batches and the CDS service);
    ``explain`` False leaves out what only --explain shows, ``memo`` remembers the dosing per
    dosing weight for a batch (plan.make_plan)."""
    check_options(regimen, options)
    return make_plan(regimen, patient, library, basis=options.weight_basis,
                     concentration=options.concentration, priming_ml=options.priming,
                     regimen_findings=regimen_findings, override=options.override,
                     explain=explain, memo=memo)


def plan_result(src, regimen, regimen_findings, patient, patient_data, options: PlanOptions,
                screen, library, versions: Versions, *, audit: bool = True,
                explain: bool = True, memo=None) -> PlanResult:
    """Plan for a screened patient: no plan when the screen blocks (a contraindicated patient
    gets none unless a clinician records why), else the plan through the safety gate; with the
    audit block unless ``audit`` is False, and without what only --explain shows when
    ``explain`` is False (a batch line)."""
    from ketadose.audit import audit_block

    plan = None if screen.blocking else make_options_plan(regimen, patient, library, options,
                                                          regimen_findings, explain, memo)
    block = None
    if audit:
        block = audit_block(src, patient_data, {"command": "plan", **options.record()},
                            versions.limits, versions.vocabulary, options.reproducible,
                            thresholds_version=versions.thresholds)
    return PlanResult(src, regimen, patient, patient_data, options, screen, plan, versions, block)
