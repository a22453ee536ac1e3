"""Screening: run every patient rule for a regimen (or none) and summarise the result.

Status, most severe first: contraindicated (an absolute or relative contraindication),
incomplete (a rule could not be assessed: missing is not normal), caution, clear.

An override (a clinician's recorded reason) lifts relative contraindications only. An absolute
one works like a pump library's hard limit: no reason makes it non-blocking.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ketadose.findings import SCREEN_SEVERITIES

if TYPE_CHECKING:
    from ketadose.regimen import Regimen
    from ketadose.thresholds import Thresholds

STATUSES = ("contraindicated", "incomplete", "caution", "clear")
BLOCKING = ("absolute", "relative")


@dataclass(frozen=True)
class Missing:
    """A rule could not be assessed; the question that would let it be."""

    question: str


def needs(field_name: str, question: str):
    """A rule that cannot be assessed while ``field_name`` is unanswered (None). ``{answer}`` in
    the question becomes the answer's form for the interface that ran (ketadose.questions)."""
    import functools

    def wrap(check):
        @functools.wraps(check)
        def guarded(patient, ctx):
            if getattr(patient, field_name) is None:
                from ketadose.questions import ask

                return Missing(question.replace("{answer}", ask(field_name, ctx)))
            return check(patient, ctx)
        return guarded
    return wrap


@dataclass(frozen=True)
class Context:
    """What screening rules may know about the regimen (None: screening without one)."""

    regimen: Regimen | None = None
    today: dt.date = field(default_factory=dt.date.today)
    vocabulary: Any = None  # patient.Vocabulary: the regimen's adjuncts are screened with it
    # The clinical thresholds (versioned data, ketadose.io.library.thresholds); the rules that
    # compare a number refuse to run without them rather than assume one.
    thresholds: Thresholds | None = None
    # How the record was given: "file" or "flags" (ketadose.questions words questions for it).
    interface: str = "file"

    @property
    def th(self) -> Thresholds:
        if self.thresholds is None:
            raise ValueError("screening needs the clinical thresholds: Context(thresholds=...)")
        return self.thresholds

    @property
    def route(self):
        return self.regimen.route if self.regimen else None

    @property
    def drug(self):
        return self.regimen.drug if self.regimen else None

    def prolonged(self) -> bool | None:
        """Continuous infusion over 3 days, or sessions on more than 3 days (Noppers 2011)."""
        r = self.regimen
        if r is None:
            return None
        if r.pattern == "continuous":
            return self.th.fires("prolonged-infusion-hours", r.session_hours() or 0)
        return self.th.fires("prolonged-course-days", r.days)


@dataclass(frozen=True)
class Screen:
    status: str
    findings: tuple
    not_assessed: tuple  # (rule id, question)
    evaluated: tuple  # (rule id, "fired" | "not fired" | "not assessed")
    override: str | None = None

    @property
    def questions(self) -> list[tuple[str, tuple[str, ...]]]:
        """Each unanswered question once, with the rules that need it."""
        from ketadose.questions import grouped

        return grouped(self.not_assessed)

    @property
    def absolute(self) -> tuple:
        """The absolute findings: no override lifts them."""
        return tuple(f for f in self.findings if f.severity == "absolute")

    @property
    def override_applied(self) -> bool:
        return bool(self.override) and self.status == "contraindicated" and not self.absolute

    @property
    def blocking(self) -> bool:
        return self.status == "contraindicated" and (not self.override or bool(self.absolute))


def run(patient, ctx: Context, rules, override: str | None = None) -> Screen:
    findings, missing, evaluated = [], [], []
    for rule in rules:
        outcome = rule.check(patient, ctx)
        # A rule returns None, Missing, or a list of Findings that may end with a Missing: what is
        # known fires even while another of the rule's questions is unanswered.
        items = [outcome] if isinstance(outcome, Missing) else list(outcome or ())
        fired = [x for x in items if not isinstance(x, Missing)]
        missing += [(rule.id, x.question) for x in items if isinstance(x, Missing)]
        findings += fired
        evaluated.append((rule.id, "fired" if fired else
                          "not assessed" if len(items) > len(fired) else "not fired"))
    return _summary(findings, missing, evaluated, override)


def _summary(findings: list, missing: list, evaluated: list, override: str | None) -> Screen:
    """The Screen of every rule's outcome, in rule order."""
    findings.sort(key=lambda f: (SCREEN_SEVERITIES.index(f.severity), f.rule))
    return Screen(status({f.severity for f in findings}, missing), tuple(findings),
                  tuple(missing), tuple(evaluated), override)


_BLOCKING = frozenset(BLOCKING)


def status(severities: set, missing) -> str:
    """A screen's status from its findings' ``severities`` and its questions not answered
    (``missing``); the batch paths (commands.batch, commands.plan_lines) call it too."""
    if severities & _BLOCKING:
        return "contraindicated"
    if missing:
        return "incomplete"
    if "caution" in severities:
        return "caution"
    return "clear"


class Undeclared(Exception):
    """A rule read a patient field its ``READS`` entry does not declare (our bug)."""


class _View:
    """The patient as a rule with declared reads sees it: any other field raises Undeclared, so
    a remembered outcome can only depend on the fields its key is made of."""

    __slots__ = ("_patient", "_reads")

    def __init__(self, patient, reads: frozenset):
        self._patient, self._reads = patient, reads

    # __getattribute__, not __getattr__: Python 3.11 calls __getattr__ only after the normal
    # lookup has failed, which makes and formats an AttributeError for every read (about 1.5 us;
    # a rule run on a new value reads several fields). A declared field is the patient's (the
    # reads are patient fields, never this class's own names: tested); any other name is this
    # object's own (__class__, ...) or Undeclared, as before.
    def __getattribute__(self, name):
        reads = _VIEW_READS(self)
        if name in reads or (name == "has" and "conditions" in reads) or (
                name == "with_class" and "medications" in reads):
            return getattr(_VIEW_PATIENT(self), name)
        if name == "with_medications" and "medications" in reads:
            patient = _VIEW_PATIENT(self)
            return lambda meds: _View(patient.with_medications(meds), reads)
        try:
            return object.__getattribute__(self, name)
        except AttributeError:
            raise Undeclared(f"a screening rule read the patient's {name!r} without declaring "
                             "it") from None


# The slots of _View read without its __getattribute__
_VIEW_PATIENT = _View.__dict__["_patient"].__get__
_VIEW_READS = _View.__dict__["_reads"].__get__


# A patient attribute and the record field it is read from (``patient.Builder`` keys).
_FIELD_OF = {"systolic": "blood_pressure", "diastolic": "blood_pressure"}


def _key_fields(attrs):
    """The record fields a memo key is made of for these patient attributes: one field's name,
    or a sorted tuple of names."""
    fields = tuple(sorted({_FIELD_OF.get(a, a) for a in attrs}))
    return fields[0] if len(fields) == 1 else fields


def _items(outcome) -> tuple:
    """A rule's outcome as the tuple of its items (findings and Missing), as run() reads it."""
    return (outcome,) if isinstance(outcome, Missing) else tuple(outcome or ())


class Memo:
    """Screening for a batch: ``run`` with one regimen, date and vocabulary (one Context), where
    each rule's outcome is remembered by the values of the record fields it reads (its
    ``READS`` entry beside the rule) and reused for the next patient with the same values.

    The rules themselves are run unchanged on a miss, on a view of the patient that refuses any
    field the rule did not declare (Undeclared: the outcome is then computed on the whole
    patient and not remembered). Rules that read the same fields form a group;
    ``prepare(results)`` turns a group's results, ``(rule index, rule, fired findings,
    questions)`` in rule order, into what the caller keeps (e.g. encoded JSON). Bounded caches.
    """

    SIZE = 4096

    def __init__(self, ctx: Context, rules, reads: dict, prepare=None, parts=None):
        self.ctx, self.rules = ctx, tuple(rules)
        self.prepare = prepare or (lambda results: results)
        groups: dict = {}
        for index, r in enumerate(self.rules):
            declared = reads.get(r.id)
            sig = None if declared is None else frozenset(declared)
            groups.setdefault(sig, []).append(index)
        # (record fields of the key, declared patient attributes, rule indexes, cache); a
        # group keyed by one field is keyed by its value alone
        self.groups: list = []
        for sig, indexes in groups.items():
            self.groups.append((None if sig is None else _key_fields(sig), sig, tuple(indexes),
                                {}))
        # A rule made of parts (rules.screening_parts: its outcome is theirs one after the
        # other) is run part by part on a miss, each part's outcome kept by the fields that
        # part reads: (part, declared attributes, key fields, cache) by rule index
        if parts is None:
            from ketadose.rules import screening_parts

            parts = screening_parts()
        self.parts: dict = {index: tuple((part, frozenset(attrs), _key_fields(attrs), {})
                                   for part, attrs in parts[r.id])
                      for index, r in enumerate(self.rules)
                      if r.id in parts and reads.get(r.id) is not None}
        self.undeclared = 0  # outcomes not remembered because a rule read past its declaration
        # every group's (key getter, cache) when every group has a key (the usual case): one
        # comprehension looks them all up by subscripts, and a miss takes the loop of
        # ``_outcomes``. The getter gives the key ``_outcomes`` makes (keys.get of the field,
        # or the tuple of the fields' keys) from keys that name every field (Builder.read's);
        # from keys that leave a field out it raises, and ``_outcomes`` decides
        from operator import itemgetter

        self._lookups = None if any(g[0] is None for g in self.groups) else \
            tuple((itemgetter(g[0]) if g[0].__class__ is str else itemgetter(*g[0]), g[3])
                  for g in self.groups)

    def outcomes(self, keys: dict, patient) -> list:
        """The prepared outcome of every group. ``patient`` is the Patient or a callable making
        it (called only on a miss); ``keys`` are patient.Builder's keys of its record (a missing
        field has none)."""
        return self.kept(keys) or self._outcomes(keys, patient)

    def kept(self, keys: dict) -> list | None:
        """``outcomes`` when every group's outcome is remembered (the usual case in a batch),
        else None: a caller that makes the patient only for ``outcomes`` skips it."""
        if self._lookups is None:
            return None
        try:
            return [cache[key(keys)] for key, cache in self._lookups]
        except KeyError:  # an outcome not kept (or a field the keys leave out)
            return None

    def _outcomes(self, keys: dict, patient) -> list:
        out = []
        get = keys.get
        for fields, sig, indexes, cache in self.groups:
            if fields is None:  # rules with no declaration: run for every patient
                patient = patient() if callable(patient) else patient
                out.append(self.prepare([self._one(i, patient, None)[0] for i in indexes]))
                continue
            key = get(fields) if fields.__class__ is str else tuple(map(get, fields))
            got = cache.get(key)
            if got is None:
                patient = patient() if callable(patient) else patient
                results, keep = [], True
                for i in indexes:
                    result, ok = self._one(i, patient, sig, keys)
                    results.append(result)
                    keep = keep and ok
                got = self.prepare(results)
                if keep:
                    if len(cache) >= self.SIZE:
                        cache.clear()
                    cache[key] = got
            out.append(got)
        return out

    def screen(self, keys: dict, patient, override: str | None = None) -> Screen:
        """The Screen ``run`` makes for this patient (for a Memo made without ``prepare``):
        the same findings in the same order, questions, rules evaluated and status."""
        n = len(self.rules)
        found: list = [()] * n
        asked: list = [()] * n
        evaluated: list = [None] * n
        for group in self.outcomes(keys, patient):
            for index, rule, fired, questions in group:
                found[index], asked[index] = fired, questions
                evaluated[index] = (rule.id, "fired" if fired else
                                    "not assessed" if questions else "not fired")
        findings = [f for fired in found for f in fired]
        missing = [(self.rules[i].id, q) for i in range(n) for q in asked[i]]
        return _summary(findings, missing, evaluated, override)

    def _one(self, index, patient, sig, keys=None) -> tuple:
        """((index, rule, fired, questions), whether the outcome may be remembered)."""
        rule = self.rules[index]
        ok = True
        if keys is not None and index in self.parts:
            items: list = []
            for part, declared, fields, cache in self.parts[index]:
                key = keys.get(fields) if fields.__class__ is str else \
                    tuple(map(keys.get, fields))
                got = cache.get(key)
                if got is None:
                    try:
                        got = _items(part(_View(patient, declared), self.ctx))
                    except Undeclared:
                        self.undeclared += 1
                        ok = False
                        got = _items(part(patient, self.ctx))
                    else:
                        if len(cache) >= self.SIZE:
                            cache.clear()
                        cache[key] = got
                items += got
            fired = tuple(x for x in items if not isinstance(x, Missing))
            questions = tuple(x.question for x in items if isinstance(x, Missing))
            return (index, rule, fired, questions), ok
        if sig is None:
            outcome = rule.check(patient, self.ctx)
        else:
            try:
                outcome = rule.check(_View(patient, sig), self.ctx)
            except Undeclared:
                self.undeclared += 1
                ok = False
                outcome = rule.check(patient, self.ctx)
        items = [outcome] if isinstance(outcome, Missing) else list(outcome or ())
        fired = tuple(x for x in items if not isinstance(x, Missing))
        questions = tuple(x.question for x in items if isinstance(x, Missing))
        return (index, rule, fired, questions), ok
