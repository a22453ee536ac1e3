"""`plan --patients`: a batch line put together from remembered parts (issue 18).

The general path (commands/batch._one, and _FastPlans for the records patient.Builder accepts)
makes each patient's PlanResult, its document and its line. In a cohort most of that repeats:
weights are recorded to 1 or 0.1 kg, and the dosing (phases, calendar, totals, bag) and the
safety gate's checks of it depend on the dosing weight alone; a screen's outcome is one of a
few. Here each stage is remembered by exactly what it reads, and a line is the JSON text of
its parts joined:

- the dosing and the gate's verdict on it: plan.DosingMemo, by the exact values of the
  weight's fields they read (gate.DOSING_WEIGHT_READS), computed on a weight that has no other
  field (a read past the declaration: computed again on the whole weight, not remembered);
- the document's sections that come from the dosing (sessions, calendar, totals, preparation:
  render.documents.plan.dosing_sections), encoded once per remembered dosing, computed on a
  plan with only the fields DOSING_SECTIONS_READS declares (the same fail-safe);
- the screen: screen.Memo's outcomes (as for `check --patients`), and per distinct set of
  outcomes the Screen, its JSON and its findings' cards;
- a finding's warning and card, encoded once per Finding object.

Every patient still gets the whole plan made through the gate (make_plan with the memo): the
weight's invariants, the plausibility guard (age, sex, BMI), the obesity and dosing-weight
findings, and the blocked verdict are computed for each patient. Anything else than a plan
delivered without a block (a screen or gate block, an error, a FHIR record, a record
Builder refuses, a float orjson would write differently) takes the general path.
tests/test_plan_lines.py compares the lines with the general path's and the single-patient
path's over generated patients.
"""

from __future__ import annotations

from ketadose.errors import KetadoseError
from ketadose.gate import GateError
from ketadose.plan import Declared, Undeclared
from ketadose.render.documents import batch as rbatch
from ketadose.render.documents import plan as dplan
from ketadose.render.documents.screen import screen_data
from ketadose.render.explain import cards


class _Outcome:
    """A screening group's outcome as PlanLines keeps it: equal outcomes, the same object."""

    __slots__ = ("results",)

    def __init__(self, results):
        self.results = results


class PlanLines:
    """(exit code, line) of a `plan --patients` record, or None: the general path decides.
    Made once per batch from its _FastPlans (the Builder, the screening memo, the options)."""

    SIZE = 4096  # entries of each cache
    BUDGET = 16 << 20  # bytes of encoded sections kept for remembered dosings and screens

    def __init__(self, plans, memos: bool = True):
        self.plans, self.job = plans, plans.job
        self.fast = rbatch._fast()
        self.memos = memos
        self.sections: dict = {}  # id(Dosed) -> (Dosed, the encoded sections)
        self.screens: dict = {}  # ids of the outcomes -> (outcomes, Screen, bytes, cards)
        self.findings: dict = {}  # id(Finding) -> (Finding, warning bytes, card bytes)
        self.by_value: dict = {}  # Finding -> (warning bytes, card bytes)
        self.digests: dict = {}  # a group's digest -> its _Outcome
        self.used = 0
        self.undeclared = 0  # document sections computed on a plan past their declaration
        j = self.job
        opts = j.opts
        self.start = opts.start.isoformat() if opts.start else None
        self.override = rbatch.reference(plans.override).encode()
        self.versions = plans.versions
        from ketadose.planning import make_options_plan

        self.make_plan = make_options_plan
        # screening as _FastPlans does, each group's outcome kept as an _Outcome
        from ketadose.rules import screening_reads
        from ketadose.screen import Memo

        self.memo = Memo(plans.memo.ctx, plans.rules, screening_reads(), prepare=self.outcome)
        # the regimen's own sections, encoded once (by the reference encoder)
        self.constants = {k: self.fast.Fragment(rbatch.reference(v).encode()) for k, v in
                          dplan.regimen_constant(j.regimen, j.src).items()} if self.fast else {}

    def __call__(self, number, data):
        fast = self.fast
        if fast is None or "resourceType" in data:
            return None
        p = self.plans
        keys = p.builder.read(data)
        if keys is None:
            return None
        patient = p.builder.patient(data, keys)
        try:
            outcomes = self.memo.outcomes(keys, patient)
            screen, screen_json, screen_cards = self.screen(outcomes)
        except Exception:  # the general path screens again and reports it as it does
            return None
        if screen.blocking:
            return None
        j = self.job
        try:
            plan = self.make_plan(j.regimen, patient, p.library, j.opts, j.findings, False,
                                  p.dosing)
        except (KetadoseError, GateError):
            return None
        prep = plan.preparation
        if plan.blocked or any(map(rbatch.written_otherwise, (
                plan.concentration_mg_ml, prep.concentration_mg_ml, prep.priming_ml))):
            return None  # blocked: the general path; a float orjson writes otherwise: rbatch
        sections = self.dosing_sections(plan)
        pid = data.get("id")
        found = self.found
        warnings = [found(f)[0] for f in plan.findings]
        cards_json = screen_cards + [found(f)[1] for f in plan.findings]
        Fragment = fast.Fragment
        body = {
            "format_version": 1, "ketadose_version": dplan.__version__,
            "limits_version": self.versions.limits,
            "patient": dplan.patient_section(patient.id, plan.weight),
            "start": self.start,
            "concentration_mg_per_ml": plan.concentration_mg_ml,
            "concentration_from": plan.concentration_origin,
            "screen": Fragment(screen_json),
            "calendar": sections[1], "totals": sections[2], "preparation": sections[3],
            "unverified": None,
            "warnings": Fragment(b"[" + b",".join(warnings) + b"]"),
            "cards": Fragment(b"[" + b",".join(cards_json) + b"]"),
            "blocked": False,
            "override": Fragment(self.override),
            "sessions": sections[0],
        }
        body.update(self.constants)  # unverified in its place, the regimen's sections last
        if pid is not None and rbatch._to_escape(pid.encode("utf-8", "surrogatepass")):
            return None  # an id json_safe escapes: the general path writes it
        try:
            text = fast.dumps({"line": number, "id": pid if isinstance(pid, str) else None,
                               "exit": 0, "blocked": False, "plan": body})
        except (TypeError, ValueError, OverflowError):  # a lone surrogate in the id ...
            return None
        return 0, text + b"\n"

    def screen(self, outcomes) -> tuple:
        """(Screen, its JSON, its findings' cards) for a patient's screening outcomes, made
        once per distinct set of remembered outcomes."""
        key = tuple(outcomes)  # by identity: the same _Outcomes (kept alive by the key)
        got = self.screens.get(key) if self.memos else None
        if got is not None:
            return got
        screen = self.plans.screen([o.results for o in outcomes])
        encoded = rbatch.reference_bytes(screen_data(screen))
        made = (screen, encoded, [self.found(f)[1] for f in screen.findings])
        if self.memos:
            self._keep(self.screens, key, made, len(encoded))
        return made

    def outcome(self, results) -> _Outcome:
        """What the screening memo keeps for a group's results (made on its miss only): one
        _Outcome per distinct digest (_FastPlans.digest: the findings, questions and rule
        statuses, compared by value). A Screen is made from the digests alone (with the batch's
        --override): the same _Outcomes, the same Screen. The blood pressure rules' results
        for 120/80 and 121/80 are two results that say the same: one _Outcome."""
        digest = self.plans.digest(results)
        try:
            got = self.digests.get(digest)
        except TypeError:  # an unhashable part: an _Outcome of its own
            return _Outcome(results)
        if got is None:
            got = _Outcome(results)
            if len(self.digests) >= self.SIZE:
                self.digests.clear()
            self.digests[digest] = got
        return got

    def dosing_sections(self, plan) -> tuple:
        """(sessions, calendar, totals, preparation) as encoded fragments, once per remembered
        dosing: dosing_sections runs on a plan with only the fields it declares."""
        dosed = plan.dosing
        got = self.sections.get(id(dosed)) if self.memos else None
        if got is not None and got[0] is dosed:
            return got[1]
        keep = self.memos and dosed is not None
        try:
            data = dplan.dosing_sections(Declared(plan, dplan.DOSING_SECTIONS_READS),
                                         self.job.opts.start)
        except Undeclared:
            self.undeclared += 1
            keep = False
            data = dplan.dosing_sections(plan, self.job.opts.start)
        data = dplan.batch_order(data)  # each session's phases last, as batch lines have them
        # the plan passed the small-float guard (__call__): orjson writes what json writes
        encoded = [rbatch.plan_part_bytes(data[k]) for k in
                   ("sessions", "calendar", "totals", "preparation")]
        made = tuple(self.fast.Fragment(e) for e in encoded)
        if keep:
            self._keep(self.sections, id(dosed), (dosed, made), sum(map(len, encoded)))
        return made

    def found(self, f) -> tuple:
        """(warning, card) of a finding as JSON, once per Finding object, and once per equal
        finding (a patient's obesity finding is made anew for each plan)."""
        got = self.findings.get(id(f))
        if got is not None and got[0] is f:
            return got[1]
        made = self.by_value.get(f)
        if made is None:
            made = (rbatch.reference_bytes(dplan.warning_data(f)),
                    rbatch.reference_bytes(cards([f])[0]))
            self._keep(self.by_value, f, made, sum(map(len, made)))
        self._keep(self.findings, id(f), (f, made), 0)
        return made

    def _keep(self, cache, key, value, size) -> None:
        """Remember, within SIZE entries a cache and BUDGET bytes in all: beyond, start again."""
        if len(cache) >= self.SIZE or self.used + size > self.BUDGET:
            if self.used + size > self.BUDGET:
                for kept in (self.sections, self.screens, self.findings, self.by_value):
                    kept.clear()
                self.used = 0
            else:
                cache.clear()
        cache[key] = value
        self.used += size
