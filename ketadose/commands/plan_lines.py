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

Every patient still gets make_plan's and the gate's work, the same functions in the same order
(dosing_weight, the memo's dosing and verdict, weight_findings, gate.patient_verdict: the
weight's invariants, the verdict's failed invariant, the plausibility guard), without the Plan
objects; the blocked verdict is Plan.blocked's test over the same findings. The line is the
bytes between its parts (made once per batch by encoding the record with a marker in each
part's place) joined with the parts: the id, the patient section (written from its numbers as
json writes them), the screen, the warnings and cards, and the dosing's parts. Anything else
than a plan delivered without a block (a screen or gate block, an error, a FHIR record, a
record Builder refuses, an id json_safe escapes, a number orjson or repr would write
differently) takes the general path.
tests/test_plan_lines.py compares the lines with the general path's and the single-patient
path's over generated patients.
"""

from __future__ import annotations

import operator
from dataclasses import fields

from ketadose.dosing import dosing_weight, weight_findings
from ketadose.errors import KetadoseError
from ketadose.findings import Finding
from ketadose.gate import GateError, patient_checks
from ketadose.plan import Declared, Undeclared
from ketadose.render.documents import batch as rbatch
from ketadose.render.documents import plan as dplan
from ketadose.render.documents.screen import finding_data, question_data, screen_data
from ketadose.render.explain import cards
from ketadose.screen import status as screen_status


class _Outcome:
    """A screening group's outcome as PlanLines keeps it: equal outcomes, the same object;
    with its findings and questions as a screen's JSON shows them (made on first use)."""

    __slots__ = ("results", "parts")

    def __init__(self, results):
        self.results = results
        self.parts: tuple | None = None


class PlanLines:
    """(exit code, line) of a `plan --patients` record, or None: the general path decides.
    Made once per batch from its _FastPlans (the Builder, the screening memo, the options)."""

    SIZE = 4096  # entries of each cache
    # entries of the weight memo (weighed: about 1 KiB each): a cohort in whole kg and cm has
    # about 8,000 weight, height and sex combinations
    WEIGHTS = 8192
    # Bytes of encoded parts each cache keeps: the remembered dosings' sections (13 KiB each,
    # the dearest to make again), the screens and the findings made anew. A cache over its
    # budget starts again alone: with one budget for all, a 0.1-kg cohort (a new obesity
    # finding and often a new screen for every patient) emptied the dosings' sections every
    # 3,000 patients or so and encoded them 6 times over (issue 18, fourth round).
    BUDGET = 16 << 20
    SCREENS = 8 << 20
    FOUND = 2 << 20

    def __init__(self, plans, memos: bool = True):
        self.plans, self.job = plans, plans.job
        self.fast = rbatch._fast()
        self.memos = memos
        self.sections: dict = {}  # id(Dosed) -> (Dosed, its parts of the line)
        self.screens: dict = {}  # ids of the outcomes -> (Screen, JSON, cards' JSON)
        self.findings: dict = {}  # id(Finding) -> (Finding, found(Finding))
        self.by_value: dict = {}  # Finding -> (warning bytes, card bytes, an error?)
        self.digests: dict = {}  # a group's digest -> its _Outcome
        self.texts: dict = {}  # a text -> its JSON (weight bases, concentration origins)
        self.numbers: dict = {1: {}, 2: {}}  # decimals -> a positive float -> _number's text
        self.weights: dict = {}  # (ids of the weight and height, sex) -> weighed()
        self.weighing, self.weight_hits, self.weight_misses = True, 0, 0
        self.templates: dict = {}  # a finding's fields but its message -> _template
        # bytes kept by each cache (_keep), and the name of its budget
        self.kept_bytes = {id(c): 0 for c in (self.sections, self.screens, self.findings,
                                              self.by_value)}
        self.budgets = {id(self.sections): "BUDGET", id(self.screens): "SCREENS",
                        id(self.findings): "FOUND", id(self.by_value): "FOUND"}
        self.undeclared = 0  # document sections computed on a plan past their declaration
        j = self.job
        opts = j.opts
        self.start = opts.start.isoformat() if opts.start else None
        self.override = rbatch.reference(plans.override).encode()
        self.versions = plans.versions
        # make_plan's arguments for every patient of the batch (one tuple: plan.DosingMemo
        # sees the same object); the options were checked once before any record (make_job)
        self.basis = opts.weight_basis
        self.args = (j.regimen, plans.library, opts.concentration, opts.priming, opts.override,
                     False)
        # the regimen's findings a plan keeps (make_plan: the limit findings are the gate's)
        self.kept = tuple(f for f in j.findings if not f.rule.startswith("KD-LIM"))
        # screening as _FastPlans does, each group's outcome kept as an _Outcome
        from ketadose.rules import screening_reads
        from ketadose.screen import Memo

        self.memo = Memo(plans.memo.ctx, plans.rules, screening_reads(), prepare=self.outcome)
        # the regimen's own sections, encoded once (by the reference encoder)
        self.constants = {k: self.fast.Fragment(rbatch.reference(v).encode()) for k, v in
                          dplan.regimen_constant(j.regimen, j.src).items()} if self.fast else {}
        self.pieces = self._pieces() if self.fast else ()
        self.kept_parts = self.encoded(self.kept) if self.fast else ()
        self.shaped = bool(self.fast) and self._shaped()

    # The parts of a line, in its order: the record's line number and id, then its plan.
    _PARTS = ("line", "id", "patient", "concentration_mg_per_ml", "concentration_from", "screen",
              "calendar", "totals", "preparation", "warnings", "cards", "sessions")

    def _pieces(self) -> tuple:
        """The text between the parts of a line (_PARTS), made once per batch by encoding the
        record __call__ writes with a marker in the place of each part: the keys, their order
        and the constant sections are those orjson writes for the whole record."""
        Fragment = self.fast.Fragment
        mark = {k: Fragment(b"\x00%d\x00" % i) for i, k in enumerate(self._PARTS)}
        body = {
            "format_version": 1, "ketadose_version": dplan.__version__,
            "limits_version": self.versions.limits,
            "patient": mark["patient"], "start": self.start,
            "concentration_mg_per_ml": mark["concentration_mg_per_ml"],
            "concentration_from": mark["concentration_from"], "screen": mark["screen"],
            "calendar": mark["calendar"], "totals": mark["totals"],
            "preparation": mark["preparation"], "unverified": None,
            "warnings": mark["warnings"], "cards": mark["cards"], "blocked": False,
            "override": Fragment(self.override), "sessions": mark["sessions"],
        }
        body.update(self.constants)  # unverified in its place, the regimen's sections last
        text = self.fast.dumps({"line": mark["line"], "id": mark["id"], "exit": 0,
                                "blocked": False, "plan": body}) + b"\n"
        pieces = []
        for i in range(len(self._PARTS)):
            before, _mark, text = text.partition(b"\x00%d\x00" % i)
            pieces.append(before)
        pieces.append(text)
        pieces[2] += b'{"id":'  # the patient section's first key (patient_json writes the rest)
        return tuple(pieces)

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
        pid = data.get("id")
        if pid is not None and pid.__class__ is not str:
            return None  # Builder refuses an id that is not text; build() words the error
        id_json = b"null" if pid is None else self.text_json(pid)
        if id_json is None:  # json_safe escapes it, or orjson refuses it: the general path
            return None
        # make_plan (explain False, the batch's DosingMemo) and the gate (gate.run), the same
        # functions in the same order, without the Plan objects: the weight, its findings,
        # the dosing and the gate's verdict on it, the weight's invariants and the
        # plausibility guard, for every patient
        try:
            weighed = self.weighed(patient)
            weight = weighed[2]
            dosed = self.plans.dosing(weight, self.args)  # kept by the dosing weight
            measures = patient_checks(weight, dosed.verdict, patient.age, patient.sex,
                                      self.args[4])
        except (KetadoseError, GateError):
            return None
        parts = self.dosing_parts(dosed, weight, patient)
        if parts is None:
            return None  # a float orjson writes otherwise: the general path (rbatch)
        # the plan's findings, in make_plan's and the gate's order: the regimen's kept ones,
        # the weight's (weighed[4]), the dosing's and its verdict's (parts[3]: encoded once per
        # dosing), the plausibility guard's. Blocked (Plan.blocked: one is an error): the
        # general path
        kept, own, dosing = self.kept_parts, weighed[4], parts[3]
        if kept[2] or own[2] or dosing[2]:
            return None
        if measures:
            gate = [self.found_anew(f) for f in measures]
            if any(m[2] for m in gate):
                return None
            warnings = _array((kept[0], own[0], dosing[0], _joined(gate, 0)))
            cards_json = _array((screen_cards, kept[1], own[1], dosing[1], _joined(gate, 1)))
        else:
            warnings = _array((kept[0], own[0], dosing[0]))
            cards_json = _array((screen_cards, kept[1], own[1], dosing[1]))
        section = weighed[5]
        if section is None:
            return None
        pieces = self.pieces
        line = b"".join((pieces[0], b"%d" % number, pieces[1], id_json, pieces[2], id_json,
                         section, parts[0], screen_json, parts[1], warnings, pieces[10],
                         cards_json, parts[2]))
        return 0, line

    # What dosing_weight reads of the patient (weighed keeps its work by these)
    WEIGHT_READS = ("weight_kg", "height_cm", "sex")

    def weighed(self, patient) -> tuple:
        """(the patient's weight and height objects, the DosingWeight, None, the weight's
        findings encoded (warnings, cards, an error?), the patient section after the id or
        None): make_plan's dosing_weight (explain False) and weight_findings, once per weight
        and height object and sex (the dosing is the DosingMemo's: kept here it held 40,000
        dosings of a 0.1-kg cohort alive, 23 MB more). dosing_weight runs on a
        patient with only WEIGHT_READS (weight_kg() and height_cm() read the weight and the
        height: patient.Builder gives one object per value of a field while it is cached); a
        read past them is computed on the whole patient, counted and not kept. Raises what
        they raise (KetadoseError: the general path words it)."""
        wq, hq, sex = patient.weight, patient.height, patient.sex
        key = (id(wq), id(hq), sex)
        if self.weighing:
            got = self.weights.get(key)
            if got is not None and got[0] is wq and got[1] is hq:
                self.weight_hits += 1
                return got
        else:
            weight = dosing_weight(self.args[0], patient, self.basis, False)
            own = [self.found_anew(f) for f in weight_findings(weight)]
            return (wq, hq, weight, None, (_joined(own, 0), _joined(own, 1),
                                           any(m[2] for m in own)), self.patient_json(weight))
        keep = True
        try:
            weight = dosing_weight(self.args[0], Declared(patient, self.WEIGHT_READS),
                                   self.basis, False)
        except Undeclared:
            self.undeclared += 1
            keep = False
            weight = dosing_weight(self.args[0], patient, self.basis, False)
        own = [self.found_anew(f) for f in weight_findings(weight)]
        made = (wq, hq, weight, None, (_joined(own, 0), _joined(own, 1), any(m[2] for m in own)),
                self.patient_json(weight))
        if keep and self.memos:
            if len(self.weights) >= self.WEIGHTS:
                self.weights.clear()
            self.weights[key] = made
            self.weight_misses += 1
            # a cohort whose weights rarely repeat (0.1 kg and 0.1 cm) gains nothing: after
            # 4,096 misses with fewer than one hit in eight, the memo is no longer kept
            if self.weight_misses >= 4096 and self.weight_hits * 8 < self.weight_misses:
                self.weighing = False
                self.weights.clear()
        return made

    def text_json(self, text: str) -> bytes | None:
        """A text as the reference writes it (JSON, not ASCII-escaped), or None when json_safe
        would escape a character of it or orjson refuses it (a lone surrogate)."""
        if text.isascii():
            # printable ASCII without a quote or a backslash: nothing to escape (bytes.translate
            # deletes the others: a few instructions a character, where str.isprintable looks
            # each one up in the Unicode tables)
            data = text.encode()
            if len(data.translate(None, _NOT_PLAIN)) == len(data):
                return b'"' + data + b'"'
        try:
            out = self.fast.dumps(text)
        except (TypeError, ValueError, OverflowError):
            return None
        return None if rbatch._to_escape(out) else out

    _PATIENT = (',"dosing_weight_kg":%s,"weight_basis":%s,"weight_basis_from":%s,'
                '"actual_weight_kg":%s,"ideal_weight_kg":%s,"adjusted_weight_kg":%s,'
                '"bmi":%s,"height_cm":%s}')

    def patient_json(self, w) -> bytes | None:
        """The plan's ``patient`` (render.documents.plan.patient_section) after its id as the
        reference writes it, or None (the general path) for a number it would refuse or write
        otherwise than repr does. The line has '{"id":' and the id before it (pieces)."""
        n = self.number
        try:
            return (self._PATIENT % (
                n(w.kg, 2), self.json_of(w.basis), self.json_of(w.origin), n(w.actual_kg, 2),
                n(w.ideal_kg, 2), n(w.adjusted_kg, 2), n(w.bmi, 1), n(w.height_cm, 1))).encode()
        except _Otherwise:
            return None

    def number(self, x, nd: int) -> str:
        """_number(x, nd), remembered for a positive float (its value is its bits: no two
        positive doubles are equal, and -0.0, 0.0 and NaN are left out): of a new weight,
        height and sex, the actual and dosing weight, the height and the ideal weight are
        usually numbers already written (a decimal conversion each, about 4,000 instructions)."""
        if x.__class__ is float and x > 0.0:
            memo = self.numbers[nd]
            got = memo.get(x)
            if got is None:
                got = _number(x, nd)
                if len(memo) >= self.SIZE:
                    memo.clear()
                memo[x] = got
            return got
        return _number(x, nd)

    def json_of(self, text) -> str:
        """A weight basis or its origin as JSON text (a few values a batch: kept)."""
        got = self.texts.get(text)
        if got is None:
            got = rbatch.reference(text)
            if len(self.texts) < 64:
                self.texts[text] = got
        return got

    def dosing_parts(self, dosed, weight, patient) -> tuple | None:
        """The line between its parts that come from the dosing (concentration and its origin,
        calendar, totals, preparation, sessions) as bytes, once per remembered dosing: (from the
        concentration to the screen, from the calendar to the warnings, from the sessions to
        the end); None when a float of it is one orjson writes otherwise."""
        got = self.sections.get(id(dosed)) if self.memos else None
        if got is not None and got[0] is dosed:
            return got[1]
        conc, origin = dosed.concentration
        prep = dosed.preparation
        if any(map(rbatch.written_otherwise, (conc, prep.concentration_mg_ml, prep.priming_ml))):
            return None
        from ketadose.plan import Plan

        plan = Plan(self.job.regimen, weight, conc, origin, dosed.phases, dosed.days,
                    dosed.totals, prep, patient_age=patient.age, patient_sex=patient.sex,
                    dosing=dosed)
        encoded = self.dosing_sections(plan)
        if encoded is None:
            return None
        sessions, calendar, totals, preparation = encoded
        pc = self.pieces
        made = (pc[3] + self.fast.dumps(conc) + pc[4] + rbatch.reference_bytes(origin) + pc[5],
                pc[6] + calendar + pc[7] + totals + pc[8] + preparation + pc[9],
                pc[11] + sessions + pc[12],
                self.encoded(dosed.findings + dosed.verdict[1]))
        if self.memos and dosed is not None:
            self._keep(self.sections, id(dosed), (dosed, made), sum(map(len, made)))
        return made

    def encoded(self, findings) -> tuple:
        """(warnings, cards, whether one is an error) of findings kept from patient to patient
        (the regimen's, a remembered dosing's): the JSON of each joined by commas."""
        made = [self.found(f) for f in findings]
        return (_joined(made, 0), _joined(made, 1), any(m[2] for m in made))

    def screen(self, outcomes) -> tuple:
        """(Screen, its JSON, its findings' cards joined) for a patient's screening outcomes,
        made once per distinct set of remembered outcomes."""
        key = tuple(outcomes)  # by identity: the same _Outcomes (kept alive by the key)
        got = self.screens.get(key) if self.memos else None
        if got is not None:
            return got
        made = self.screened(outcomes) if self.shaped else None
        if made is None:
            screen = self.plans.screen([o.results for o in outcomes])
            made = (screen, rbatch.reference_bytes(screen_data(screen)),
                    _joined([self.found(f) for f in screen.findings], 1))
        if self.memos:
            self._keep(self.screens, key, made, len(made[1]) + len(made[2]))
        return made

    def screened(self, outcomes) -> tuple:
        """``screen``'s result from the outcomes' findings and questions encoded once each
        (_Outcome.parts): the findings and questions of every group in screen.run's order
        (_FastPlans.screen's sort keys), the status as _FastPlans.screen decides it, and the
        Screen's own blocking and override_applied. The Screen has no rules evaluated: a
        batch line does not show them (screen_data does not read them)."""
        from ketadose.screen import Screen

        findings: list = []
        missing: list = []
        for o in outcomes:
            parts = o.parts
            if parts is None:
                parts = o.parts = self._parts(o.results)
            if parts[0]:
                findings += parts[0]
            if parts[1]:
                missing += parts[1]
        if len(findings) > 1:
            findings.sort(key=_first)
        if len(missing) > 1:
            missing.sort(key=_first)
        found = tuple([x[1] for x in findings])
        screen = Screen(screen_status({f.severity for f in found}, missing), found,
                        tuple([x[1] for x in missing]), (), self.plans.override)
        data = {"status": screen.status, "blocking": screen.blocking,
                "findings": self.fast.Fragment(b"[" + b",".join([x[2] for x in findings])
                                               + b"]"),
                "not_assessed": self.fast.Fragment(b"[" + b",".join([x[2] for x in missing])
                                                   + b"]"),
                "override": self.fast.Fragment(self.override),
                "override_applied": screen.override_applied}
        return screen, rbatch._exact(self.fast.dumps(data)), b",".join([x[3] for x in findings])

    def _parts(self, results) -> tuple:
        """A group's findings as (sort key, Finding, its JSON in a screen, its card) and its
        questions as (sort key, (rule id, question), its JSON), by _FastPlans.digest."""
        findings, missing, _evaluated = self.plans.digest(results)
        return ([(k, f, rbatch.reference_bytes(finding_data(f)), self.found(f)[1])
                 for k, f in findings],
                [(k, q, rbatch.reference_bytes(question_data(*q))) for k, q in missing])

    def _shaped(self) -> bool:
        """Whether ``screened`` writes what screen_data makes: the same keys in the same order
        (a key added to the contract makes the batch take the long way until screened writes
        it too), and an override the reference writes as orjson does."""
        from ketadose.screen import Screen

        keys = tuple(screen_data(Screen("clear", (), (), (), None)))
        return keys == ("status", "blocking", "findings", "not_assessed", "override",
                        "override_applied") and not rbatch._to_escape(self.override)

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

    def dosing_sections(self, plan) -> tuple | None:
        """(sessions, calendar, totals, preparation) as the reference encodes them:
        dosing_sections runs on a plan with only the fields it declares (a read past them:
        None, counted, and the general path writes the line)."""
        try:
            data = dplan.dosing_sections(Declared(plan, dplan.DOSING_SECTIONS_READS),
                                         self.job.opts.start)
        except Undeclared:
            self.undeclared += 1
            return None
        data = dplan.batch_order(data)  # each session's phases last, as batch lines have them
        # the plan passed the small-float guard (dosing_parts): orjson writes what json writes
        return tuple(rbatch.plan_part_bytes(data[k]) for k in
                     ("sessions", "calendar", "totals", "preparation"))

    def found(self, f) -> tuple:
        """(warning, card, whether it is an error) of a finding as JSON, once
        per Finding object (the screen's, the dosing's, the regimen's: kept from patient to
        patient), and once per equal finding."""
        got = self.findings.get(id(f))
        if got is not None and got[0] is f:
            return got[1]
        made = self.found_anew(f)
        self._keep(self.findings, id(f), (f, made), 0)
        return made

    def found_anew(self, f) -> tuple:
        """``found`` for a finding made anew for a patient (the obesity and plausibility
        findings): once per equal finding; a new one from the template of the findings that
        differ from it in the message alone (``templated``)."""
        made = self.by_value.get(f)
        if made is None:
            made = self.templated(f)
            if made is None:
                made = (rbatch.reference_bytes(dplan.warning_data(f)),
                        rbatch.reference_bytes(cards([f])[0]), f.severity == "error")
            self._keep(self.by_value, f, made, len(made[0]) + len(made[1]))
        return made

    def templated(self, f) -> tuple | None:
        """(warning, card, an error?) of a finding put together from the encoded text of the
        findings with every field but the message equal to its (the obesity finding differs
        from patient to patient in its numbers alone): the warning's message, the card's
        summary and detail (made by render.explain.cards) written as the reference writes a
        text, between the parts the other fields make. None: the long way (a text json_safe
        escapes, a part that is not plain)."""
        key = _ALL_BUT_MESSAGE(f)
        template = self.templates.get(key)
        if template is None:
            template = self._template(f)
            if len(self.templates) >= 64:
                self.templates.clear()
            self.templates[key] = template
        if not template:
            return None
        card = cards([f])[0]
        message, summary, detail = (self.text_json(t) for t in (f.message, card["summary"],
                                                                 card["detail"]))
        if message is None or summary is None or detail is None:
            return None
        w0, w1, c0, c1, c2 = template
        return w0 + message + w1, c0 + summary + c1 + detail + c2, f.severity == "error"

    def _template(self, f) -> tuple:
        """The encoded warning and card of ``f`` cut where the message (the warning) and the
        summary and detail (the card) go, or () when a part is not plain text or None."""
        Fragment = self.fast.Fragment
        warning = dplan.warning_data(f)
        card = dict(cards([f])[0])
        marks = [Fragment(b"\x00%d\x00" % i) for i in range(3)]
        warning["message"], card["summary"], card["detail"] = marks
        for data in (warning, card):
            if not rbatch._no_float({k: v for k, v in data.items() if v not in marks}):
                return ()
        texts = [self.fast.dumps(warning), self.fast.dumps(card)]
        if any(map(rbatch._to_escape, texts)):
            return ()
        w0, _m, w1 = texts[0].partition(b"\x000\x00")
        c0, _m, rest = texts[1].partition(b"\x001\x00")
        c1, _m, c2 = rest.partition(b"\x002\x00")
        return w0, w1, c0, c1, c2

    def _keep(self, cache, key, value, size) -> None:
        """Remember, within SIZE entries and the cache's own budget of bytes (BUDGET, SCREENS
        or FOUND): beyond, that cache starts again."""
        used = self.kept_bytes[id(cache)] + size
        if len(cache) >= self.SIZE or used > getattr(self, self.budgets[id(cache)]):
            cache.clear()
            used = size
        cache[key] = value
        self.kept_bytes[id(cache)] = used

    @property
    def used(self) -> int:
        """Bytes of encoded parts kept in all."""
        return sum(self.kept_bytes.values())


class _Otherwise(Exception):
    """A number the reference refuses or writes otherwise than repr: the general path."""


def _number(x, nd: int) -> str:
    """render.numbers.machine(x, nd) as the reference writes it: null for None and NaN, else
    the rounded number's repr (json.dumps writes a float and an int by their repr)."""
    if x.__class__ is float and -1e13 < x < 1e13:  # the usual case (not NaN, not infinite)
        # repr(round(x, nd)) without round() and repr() (each a decimal conversion): round()
        # gives the double nearest to the correctly rounded decimal '%.{nd}f' % x (the same
        # conversion, mode 3 of CPython's dtoa), and that decimal, with at most 15 significant
        # digits here (|x| < 1e13, nd <= 2), is the shortest text that reads back as that
        # double (decimals of up to 15 digits map to distinct doubles), which is what repr
        # writes, positionally (it is 0 or at least 0.01), with trailing zeros dropped but one;
        # machine() writes a value that rounds to 0 from below as 0.0, not -0.0
        text = (_FIXED[nd] % x).rstrip("0")
        if text[-1] == ".":
            return "0.0" if text == "-0." else text + "0"
        return text
    if x is None or x != x:
        return "null"
    r = round(x, nd) + 0  # another class, or a float too large for the short cut
    cls = r.__class__
    if cls is float:
        if r - r != 0.0:  # an infinity: the reference refuses it
            raise _Otherwise
        return repr(r)
    if cls is int:
        return repr(r)
    raise _Otherwise  # a bool or another class: the general path


_first = operator.itemgetter(0)
# The ASCII characters text_json does not write as they are: controls, DEL, quote, backslash
_NOT_PLAIN = bytes(range(0x20)) + b'\x7f"\\'
_FIXED = {1: "%.1f", 2: "%.2f"}  # _number's decimals (the patient section has 1 or 2)
# Every field of a Finding but its message (the key of PlanLines.templated)
_ALL_BUT_MESSAGE = operator.attrgetter(*[f.name for f in fields(Finding) if f.name != "message"])


def _joined(made, index: int) -> bytes:
    """The JSON texts ``made[i][index]`` joined by commas."""
    return b",".join([m[index] for m in made])


def _array(parts) -> bytes:
    """A JSON array of the joined texts ``parts`` (each empty or items joined by commas)."""
    return b"[" + b",".join([p for p in parts if p]) + b"]"
