"""The patient record: its format (one spec for checker and JSON Schema), the model, and
building it from data with the controlled vocabulary.

``None`` always means "not asked"; an empty tuple means "asked: none". Screening
treats the two differently: a rule that needs an unanswered field is not assessed.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import MISSING, dataclass
from marshal import dumps as _marshal

from ketadose.allergies import REACTIONS, SEVERITIES, Matcher
from ketadose.allergies import read as read_allergy
from ketadose.findings import Finding
from ketadose.isotime import parse_date
from ketadose.spec import BAD_VALUE, Checker, Field, Node, _name
from ketadose.text import UNSAFE as _UNSAFE
from ketadose.text import suggest, unsafe_message
from ketadose.units import Quantity

_EMPTY_LIST = _marshal([], 2)  # Builder.read's key of an empty list

TEXT = Node("text")
ROUTES = ("oral", "iv", "sc", "im", "transdermal", "sublingual", "intranasal", "topical", "inhaled")
LIVER_TESTS = ("alt", "ast", "alp", "ggt")

# Plausibility bounds, not clinical limits: they catch typing errors (700 kg, age 250).
WEIGHT_KG = (2.0, 400.0)
HEIGHT_CM = (45.0, 250.0)

_Q = lambda kinds, doc="": Node("quantity", kinds=kinds, doc=doc)  # noqa: E731

PATIENT = Node("object", doc="A ketadose patient record", fields=(
    Field("id", Node("text", doc="Your identifier for this patient (batch output carries it)")),
    Field("age", Node("integer", minimum=0, maximum=120, doc="Years")),
    Field("sex", Node("enum", enum=("female", "male"))),
    Field("weight", _Q(("body_weight",), f"Body weight, {WEIGHT_KG[0]:g}-{WEIGHT_KG[1]:g} kg "
                                         "or lb, always written with its unit (a bare number is refused)")),
    Field("height", _Q(("length",), f"Height, {HEIGHT_CM[0]:g}-{HEIGHT_CM[1]:g} cm")),
    Field("pregnant", Node("boolean")),
    Field("breastfeeding", Node("boolean")),
    Field("blood_pressure", Node("text", pattern=r"\d{2,3}\s*/\s*\d{2,3}",
                                 hint="systolic/diastolic in mmHg, e.g. 128/82",
                                 doc="Resting systolic/diastolic in mmHg, e.g. 128/82")),
    Field("heart_rate", Node("integer", minimum=20, maximum=300, doc="Beats per minute")),
    Field("conditions", Node("list", doc="Ids from `ketadose vocabulary`; [] means asked, none",
                             max_items=50,
                             item=Node("text", doc="a condition id, or 'hepatic-impairment:moderate'"))),
    Field("liver", Node("object", doc="Latest liver tests with the laboratory's upper limits",
                        fields=tuple(Field(n, _Q(("enzyme_activity",))) for t in LIVER_TESTS
                                     for n in (t, f"{t}_uln"))
                        + (Field("bilirubin", _Q(("molar_concentration",))),
                           Field("date", Node("text", pattern=r"\d{4}-\d{2}-\d{2}", hint="a date, YYYY-MM-DD"))))),
    Field("medications", Node("list", doc="Generic names from `ketadose vocabulary`; [] means none",
                              max_items=100,
                              item=Node("object", fields=(
                                  Field("name", TEXT, True),
                                  Field("dose", _Q(("mass", "rate"), "e.g. 60 mg/day")),
                                  Field("route", Node("enum", enum=ROUTES)),
                                  Field("started", Node("text", pattern=r"\d{4}-\d{2}-\d{2}",
                                                        hint="a date, YYYY-MM-DD",
                                                        doc="Date started")),
                                  Field("stopped", Node("text", pattern=r"\d{4}-\d{2}-\d{2}",
                                                        hint="a date, YYYY-MM-DD",
                                                        doc="Date stopped (washout windows apply)")))))),
    Field("allergies", Node("list", max_items=50, doc=(
        "Allergy texts as written (brand names, salts and misspellings are recognised), or "
        "objects with the reaction; [] means none"),
        item=Node("one_of", options=(
            Node("text", doc="e.g. ketamine, Ketalar, penicillin"),
            Node("object", fields=(
                Field("substance", Node("text", doc="What the patient is allergic to, as written"),
                      True),
                Field("reaction", Node("enum", enum=REACTIONS)),
                Field("severity", Node("enum", enum=SEVERITIES)),
                Field("ketamine_family", Node("boolean", doc=(
                    "Your answer to 'is this a ketamine-family allergy?' for a substance "
                    "ketadose does not know (a recognised ketamine name is always true)"))))))))),
    Field("previous_courses", Node("list", doc="Earlier ketamine courses; [] means none",
                                   max_items=100,
                                   item=Node("object", fields=(
                                       Field("ended", Node("text", pattern=r"\d{4}-\d{2}-\d{2}", hint="a date, YYYY-MM-DD"), True),
                                       Field("liver_injury", Node("boolean")),
                                       Field("regimen", TEXT),
                                       Field("hours", _Q(("duration",), "Infusion hours")))))),
    Field("notes", TEXT),
    Field("not_understood", Node("list", max_items=500,
                                 doc="Entries of an imported record (FHIR) that ketadose could not "
                                     "map; each keeps the screen incomplete until answered by hand",
                                 item=Node("object", fields=(Field("text", TEXT, True),
                                                             Field("source", TEXT))))),
))


@dataclass(frozen=True)
class Condition:
    id: str
    grade: str | None = None


@dataclass(frozen=True)
class Medication:
    name: str
    classes: tuple
    dose: Quantity | None = None
    route: str | None = None
    stopped: dt.date | None = None
    started: dt.date | None = None
    study: str | None = None
    mme_per_day: float | None = None
    washouts: tuple = ()  # (class, days, source) where a source gives a window after stopping
    adjunct: bool = False  # given by the regimen, not taken by the patient

    def washout(self, cls: str):
        """(days, source) of the washout window for a class, or None: no source gives one."""
        return next(((d, s) for c, d, s in self.washouts if c == cls), None)


@dataclass(frozen=True)
class Course:
    ended: dt.date
    liver_injury: bool | None = None
    regimen: str | None = None
    hours: Quantity | None = None


@dataclass(frozen=True)
class Patient:
    id: str | None = None
    age: int | None = None
    sex: str | None = None
    weight: Quantity | None = None
    height: Quantity | None = None
    pregnant: bool | None = None
    breastfeeding: bool | None = None
    systolic: int | None = None
    diastolic: int | None = None
    heart_rate: int | None = None
    conditions: tuple | None = None
    liver: dict | None = None  # test name -> Quantity
    medications: tuple | None = None
    allergies: tuple | None = None  # of Allergy
    previous_courses: tuple | None = None
    not_understood: tuple = ()  # (text, source) of imported entries no table maps

    def has(self, condition_id: str) -> Condition | None:
        return next((c for c in self.conditions or () if c.id == condition_id), None)

    def with_class(self, cls: str) -> list:
        return [m for m in self.medications or () if cls in m.classes]

    def with_medications(self, medications: tuple) -> Patient:
        """The same patient taking ``medications`` (a regimen's adjuncts screened as taken)."""
        from dataclasses import replace

        return replace(self, medications=medications)

    def weight_kg(self) -> float | None:
        return None if self.weight is None else self.weight.magnitude("kg")

    def height_cm(self) -> float | None:
        return None if self.height is None else self.height.magnitude("cm")


@dataclass(frozen=True)
class Vocabulary:
    conditions: dict  # id -> {label, grades?, informational?}
    classes: dict
    medicines: dict  # name -> {classes, mme_factor?, mme_unit?, study?}
    aliases: dict  # alias -> name
    version: str = ""
    substances: Matcher | None = None  # allergy matching
    washouts: dict | None = None  # class -> {days, source}

    @classmethod
    def from_data(cls, data: dict) -> Vocabulary:
        aliases = {}
        for name, info in data["medicines"].items():
            for alias in info.get("aliases", ()):
                aliases[_norm(alias)] = name
            for c in info["classes"]:
                if c not in data["classes"]:
                    raise ValueError(f"medicine {name}: unknown class {c}")
        matcher = Matcher(data.get("substances", {}))
        for sub in matcher.substances.values():
            if sub.medicine and sub.medicine not in data["medicines"]:
                raise ValueError(f"substance {sub.id}: unknown medicine {sub.medicine}")
        return cls(data["conditions"], data["classes"], data["medicines"], aliases,
                   str(data.get("version", "")), matcher, dict(data.get("washouts", {})))

    def medicine(self, name: str) -> str | None:
        key = _norm(name)
        return key if key in self.medicines else self.aliases.get(key)


def _norm(name: str) -> str:
    return re.sub(r"[\s_]+", "-", name.strip().lower()).replace("'", "")


def build(data, vocab: Vocabulary, today: dt.date | None = None) -> tuple:
    """Check data against the patient format: (Patient or None, findings).

    Answers that contradict each other are errors, never silently resolved: a male patient
    recorded as pregnant or breastfeeding, a medicine stopped before it was started, a previous
    course that ends after ``today`` (the screening date).
    """
    today = today or dt.date.today()
    refused = _unsafe(data, ())
    if refused:
        path, message, at_key = refused
        return None, [Finding(BAD_VALUE, "error", message, "ketadose patient format", path,
                              at_key=at_key)]
    checker = Checker()
    clean = checker.check(PATIENT, data)
    if clean is None or checker.findings:
        return None, checker.findings
    out: dict = {k: clean[k] for k in ("id", "age", "sex", "weight", "height", "pregnant",
                                        "breastfeeding", "heart_rate") if k in clean}
    fail = checker.findings

    def bad(path, message):
        fail.append(Finding(BAD_VALUE, "error", message, "ketadose patient format", path))

    _measurements(out, clean, bad)
    _answers(out, clean, vocab, bad)
    _contradictions(out, today, bad)
    if fail:
        return None, fail
    return Patient(**out), []


def _unsafe(value, path):
    """(path, message, at_key) of the first key that is not text, or text holding a character
    io.yamlsrc.UNSAFE finds (a control, a bidirectional mark, a lone surrogate), or None. Here,
    where every input path meets (flags, files, batch lines, FHIR imports, ketadose.api), so
    that none takes what another refuses: `--allergy` took U+202E that a batch refused, and
    ``build({1: 40})`` raised TypeError."""
    if value.__class__ is str:
        found = _UNSAFE.search(value)
        return found and (path, f"{_name(path)}: {unsafe_message(found)}", False)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return (path, f"key {key!r} in {_name(path)} is not text; keys are field names "
                        "such as 'weight'", False)
            found = _UNSAFE.search(key)
            if found:
                return (path + (key,), f"a key in {_name(path)}: {unsafe_message(found)}", True)
            refused = _unsafe(item, path + (key,))
            if refused:
                return refused
    elif isinstance(value, list):
        for index, item in enumerate(value):
            refused = _unsafe(item, path + (index,))
            if refused:
                return refused
    elif isinstance(value, str):
        return _unsafe(str(value), path)
    return None


class Entry:
    """The Patient attributes one field's value gives. Compared by identity: a new value, or
    the same value after its cache was emptied, is a new Entry."""

    __slots__ = ("attrs",)

    def __init__(self, attrs: dict):
        self.attrs = attrs


ID = Entry({})  # a record's id, a text that is not blank (Builder.patient sets it from the record)


class _Ids(dict):
    """The id's cache of Builder: an id is a text unique to its record, so texts are not kept;
    any text that is not blank is taken (ID) on a look-up by subscript. Anything else is kept
    as in the other caches (build() refuses it)."""

    def __missing__(self, value):
        if value.__class__ is str and value.strip() and (value.isprintable()
                                                          or not _UNSAFE.search(value)):
            return ID
        raise KeyError(value)


class Builder:
    """``build`` for a batch of records, with the same result for every record.

    A record's top-level fields are checked and converted independently of each other (the
    format has no required key and no rule across fields except the pregnancy contradiction),
    so each field is built once per distinct value, by ``build`` itself on a record holding
    only that field, and the result is reused (a bounded cache: memory stays flat). A record
    with a problem of any kind (an unknown key, a value ``build`` refuses, a contradiction
    between fields) is not handled here: ``read`` returns None and the caller builds the whole
    record with ``build``, which words its errors. tests/test_screen_batch.py compares the two
    over generated records.
    """

    FIELDS = frozenset(f.name for f in PATIENT.fields)
    SIZE = 4096  # distinct values kept per field
    # A value longer than this (its text, or the repr of a list or mapping) is not cached: the
    # record goes to ``build`` like a record with a problem. Without it the caches grew with
    # the size of the values, not their number (4096 values of a 16 MiB line each), and a
    # batch the general path finishes died of MemoryError part-way (review of issue 18).
    # Bound: SIZE x LONG characters of keys per field, and the same for list items.
    LONG = 2048

    def __init__(self, vocab: Vocabulary, today: dt.date):
        self.vocab, self.today = vocab, today
        # per field, three caches, each a dict bounded to SIZE values: text, whole numbers
        # and null by the value itself (no two of these are equal as dict keys), true and
        # false by themselves apart (True == 1 as a dict key), anything else (lists, objects,
        # decimals) by its marshal bytes (see ``read``). The id's texts are not kept (one
        # per record): _Ids takes any text that is not blank.
        self._plain: dict = {name: _Ids() if name == "id" else {} for name in self.FIELDS}
        self._bools: dict = {name: {} for name in self.FIELDS}
        self._packed: dict = {name: {} for name in self.FIELDS}
        self._absent = dict.fromkeys(sorted(self.FIELDS))  # a record's keys start as this
        self._default = Patient()
        self._items: dict = {}

    def caches(self) -> list:
        """Every value cache (each bounded to SIZE values), for the tests of the bounds."""
        return [*self._plain.values(), *self._bools.values(), *self._packed.values()]

    def read(self, data) -> dict | None:
        """The fields of a record that ``build`` accepts, by field name: an Entry for each
        field the record gives (the same object for the same value while it is cached:
        callers may key on it; the id's is ID, which sets no attribute) and None for each
        field it leaves out, or None when ``build`` must decide.

        Every field's value is looked up in its cache by subscripts (no method call); a value
        not in its cache, an unknown key or a value marshal refuses raises, and ``_read``
        reads the record again the long way, keeping what it builds."""
        if type(data) is not dict and not isinstance(data, dict):
            return None
        keys = self._absent.copy()
        plain = self._plain
        try:
            for name, value in data.items():
                cls = type(value)  # cheaper than value.__class__ here (a specialised call)
                if cls is str or cls is int or value is None:
                    got = plain[name][value]
                elif cls is bool:
                    got = self._bools[name][value]
                elif cls is list and not value:
                    got = self._packed[name][_EMPTY_LIST]
                else:
                    got = self._packed[name][_marshal(value, 2)]
                if got is False:  # a value build() refuses
                    return None
                keys[name] = got
        except (KeyError, ValueError):
            return self._read(data)
        return self._across(keys)

    def _read(self, data) -> dict | None:
        """``read`` the long way: a value not in its cache is built (``_new``) and kept."""
        keys = self._absent.copy()
        for name, value in data.items():
            if name not in keys:  # an unknown key: build() says which
                return None
            cls = value.__class__
            if cls is str or cls is int or value is None:  # the value is its key
                cache, key = self._plain[name], value
            elif cls is bool:
                cache, key = self._bools[name], value
            else:
                # A list, object or decimal by its marshal bytes (version 2: no references
                # between objects, floats as their bits): the bytes give back the value, so
                # two values with the same key are the same JSON value (True and 1, 1.0 and
                # 1, -0.0 and 0.0 differ); computed in C, twice as fast as repr.
                cache = self._packed[name]
                if cls is list and not value:
                    key = _EMPTY_LIST  # the same bytes, without the call (most lists are empty)
                else:
                    try:
                        key = _marshal(value, 2)
                    except ValueError:  # not plain data (only a caller of the API can pass it)
                        return None
            got = dict.get(cache, key)
            if got is None:
                if name == "id" and cls is str:
                    # unique per record: not worth a cache; a non-empty text
                    if not value.strip() or (not value.isprintable()
                                             and _UNSAFE.search(value)):
                        return None  # build() refuses it
                    got = ID
                else:
                    got = self._new(name, value, cache, key)
            if got is False:
                return None
            keys[name] = got
        return self._across(keys)

    @staticmethod
    def _across(keys: dict) -> dict | None:
        """The keys, or None for the one rule across fields: a male patient recorded as
        pregnant or breastfeeding."""
        sex = keys["sex"]
        if sex is not None and sex.attrs.get("sex") == "male":
            for name in ("pregnant", "breastfeeding"):
                entry = keys[name]
                if entry is not None and entry.attrs.get(name):
                    return None
        return keys

    def _new(self, name, value, cache, key):
        """The Entry of a field's value not in its cache, kept, or False (kept too) when
        build() refuses it; False and not kept when the value is too long to keep."""
        if len(value if value.__class__ is str else key if key.__class__ is bytes
               else repr(value)) > self.LONG:
            return False
        attrs = self._field(name, value)
        got = False if attrs is False else Entry(dict(attrs))
        if len(cache) >= self.SIZE:
            cache.clear()
        cache[key] = got
        return got

    def patient(self, data, keys: dict) -> Patient:
        """The Patient of a record ``read`` accepted (the same as ``build`` makes)."""
        # Patient(**attrs) without its __init__ (a frozen dataclass's sets each field through
        # object.__setattr__): the defaults, then the fields' attributes; every default is
        # immutable (None or ()), so sharing them is what __init__ does too
        made = object.__new__(Patient)
        attrs = made.__dict__
        attrs.update(_PATIENT_DEFAULTS)
        for entry in keys.values():
            if entry is not None:
                attrs.update(entry.attrs)
        if "id" in data:
            attrs["id"] = data["id"]
        return made

    # Fields whose items (entries, for liver) are also checked and converted one by one: a
    # list's items independently of each other (no check across items but the list's length),
    # the liver panel's entries likewise; a new combination of known items costs no build.
    ITEMS = {f.name: f.node.max_items for f in PATIENT.fields
             if f.name in ("conditions", "medications", "allergies", "previous_courses")}

    def _field(self, name, value):
        """The Patient attributes one field gives, or False when build() refuses it."""
        if name in self.ITEMS and isinstance(value, list) and len(value) <= self.ITEMS[name]:
            items = [self._item(name, [item]) for item in value]
            if any(item is False for item in items):
                return False
            # one object per position, as build() makes them: the rules tell two equal entries
            # apart by identity (interactions.taking), so a repeated entry gets its own copy
            out, seen = [], set()
            for (item,) in items:
                if id(item) in seen:
                    item = copy.copy(item)
                seen.add(id(item))
                out.append(item)
            return ((name, tuple(out)),)
        if name == "liver" and isinstance(value, dict) and value:
            entries = [self._item(name, {k: v}) for k, v in value.items()]
            if any(entry is False for entry in entries):
                return False
            return ((name, {k: v for entry in entries for k, v in entry.items()}),)
        return self._build(name, value)

    def _item(self, name, part):
        """The converted value of one item (as a 1-item list) or liver entry, or False."""
        key = (name, repr(part))
        got = self._items.get(key)
        if got is None:
            built = self._build(name, part)
            got = False if built is False else dict(built).get(name, {} if name == "liver" else ())
            if len(self._items) >= self.SIZE:
                self._items.clear()
            self._items[key] = got
        return got

    def _build(self, name, value):
        patient, _errors = build({name: value}, self.vocab, self.today)
        if patient is None:
            return False
        default = self._default
        return tuple((k, getattr(patient, k)) for k in Patient.__dataclass_fields__
                     if getattr(patient, k) != getattr(default, k))


def plain_defaults(cls) -> dict:
    """{field: default} of a dataclass whose every field has a plain default. Builder.patient
    fills the fields a record leaves out from this table, so a field with a default_factory (or
    none) would put dataclasses' MISSING marker into a patient: refused here, at import."""
    out = {}
    for f in cls.__dataclass_fields__.values():
        if f.default is MISSING:
            raise TypeError(f"{cls.__name__}.{f.name} needs a plain default (the batch builder "
                            "fills left-out fields from them); a default_factory is not one")
        out[f.name] = f.default
    return out


_PATIENT_DEFAULTS = plain_defaults(Patient)


def _measurements(out, clean, bad) -> None:
    """Weight and height within plausibility bounds; blood pressure split and plausible."""
    for key, unit, (low, high) in (("weight", "kg", WEIGHT_KG), ("height", "cm", HEIGHT_CM)):
        if out.get(key) is not None and not low <= out[key].magnitude(unit) <= high:
            bad((key,), f"{key} {out[key]} is outside {low:g}-{high:g} {unit}; is it a typing error?")
    if "blood_pressure" in clean:
        sys_, dia = (int(x) for x in re.split(r"\s*/\s*", clean["blood_pressure"]))
        if not (40 <= sys_ <= 300 and 20 <= dia <= 200 and sys_ > dia):
            bad(("blood_pressure",), f"blood pressure {clean['blood_pressure']} is not plausible "
                "(systolic/diastolic mmHg, systolic first)")
        out["systolic"], out["diastolic"] = sys_, dia


def _answers(out, clean, vocab, bad) -> None:
    """The lists read through the vocabulary: conditions, liver tests, medicines, allergies,
    previous courses and what an import could not understand."""
    if "conditions" in clean:
        out["conditions"] = tuple(_condition(c, i, vocab, bad) for i, c in enumerate(clean["conditions"]))
    if "liver" in clean:
        out["liver"] = {k: v for k, v in clean["liver"].items() if k != "date"}
    if "medications" in clean:
        out["medications"] = tuple(_medication(m, i, vocab, bad)
                                   for i, m in enumerate(clean["medications"]))
    if "allergies" in clean:
        out["allergies"] = tuple(_allergy(a, vocab) for a in clean["allergies"])
    if "previous_courses" in clean:
        out["previous_courses"] = tuple(
            Course(_date(c["ended"], ("previous_courses", i, "ended"), bad), c.get("liver_injury"),
                   c.get("regimen"), c.get("hours"))
            for i, c in enumerate(clean["previous_courses"]))
    if clean.get("not_understood"):
        out["not_understood"] = tuple((n["text"], n.get("source") or "")
                                      for n in clean["not_understood"])


def _allergy(item, vocab):
    if isinstance(item, str):
        return read_allergy(item, vocab.substances)
    return read_allergy(item["substance"], vocab.substances, item.get("reaction"),
                        item.get("severity"), item.get("ketamine_family"))


def _contradictions(out, today, bad):
    """Answers that cannot all be true: refused, so that neither is silently dropped."""
    if out.get("sex") == "male":
        for key in ("pregnant", "breastfeeding"):
            if out.get(key):
                bad((key,), f"{key} is true but sex is male; correct one of them")
    for i, med in enumerate(out.get("medications") or ()):
        if med and med.started and med.stopped and med.stopped < med.started:
            bad(("medications", i, "stopped"), f"{med.name} stopped on {med.stopped}, before it "
                f"was started ({med.started}); check the dates")
    for i, course in enumerate(out.get("previous_courses") or ()):
        if course.ended and course.ended > today:
            bad(("previous_courses", i, "ended"), f"a previous course ends on {course.ended}, "
                f"after the screening date {today}; a course that has not ended is not a previous "
                "course")


_SEE_VOCABULARY = "; see `ketadose vocabulary`"


def _condition(text, i, vocab, bad):
    cid, _, grade = _norm(text).partition(":")
    info = vocab.conditions.get(cid)
    if info is None:
        hint = suggest(cid, vocab.conditions, many=True, otherwise=_SEE_VOCABULARY)
        bad(("conditions", i), f"unknown condition {text!r}{hint}")
        return None
    grades = info.get("grades")
    if grade and (not grades or grade not in grades):
        bad(("conditions", i), f"condition {cid!r} has no grade {grade!r}"
            + (f" (grades: {', '.join(grades)})" if grades else ""))
    return Condition(cid, grade or None)


def _medication(m, i, vocab, bad):
    name = vocab.medicine(m["name"])
    if name is None:
        hint = suggest(_norm(m["name"]), vocab.medicines, many=True, otherwise=_SEE_VOCABULARY)
        bad(("medications", i, "name"), f"unknown medicine {m['name']!r}{hint}; use the generic name")
        return None
    info = vocab.medicines[name]
    dose, route = m.get("dose"), m.get("route")
    mme = None
    if dose is not None and info.get("mme_factor") is not None:
        unit = info.get("mme_unit", "mg/day")
        if dose.kind == "rate":  # CDC factors apply to mg/day (fentanyl: mcg/h)
            mme = dose.magnitude(unit) * info["mme_factor"]
    stopped = _date(m["stopped"], ("medications", i, "stopped"), bad) if m.get("stopped") else None
    started = _date(m["started"], ("medications", i, "started"), bad) if m.get("started") else None
    return Medication(name, tuple(info["classes"]), dose, route, stopped=stopped, started=started,
                      study=info.get("study"), mme_per_day=mme, washouts=_washouts(info, vocab))


def _washouts(info, vocab) -> tuple:
    return tuple((c, vocab.washouts[c]["days"], vocab.washouts[c]["source"])
                 for c in info["classes"] if c in (vocab.washouts or {}))


def adjunct_medicine(name: str, route: str | None, vocab: Vocabulary):
    """A regimen adjunct as a Medication (screened like the patient's own), or None when the
    vocabulary does not know it."""
    generic = vocab.medicine(name)
    if generic is None:
        return None
    info = vocab.medicines[generic]
    return Medication(generic, tuple(info["classes"]), None, route, study=info.get("study"),
                      washouts=_washouts(info, vocab), adjunct=True)


def _date(text, path, bad):
    try:
        return parse_date(text)
    except ValueError:
        bad(path, f"{text!r} is not a date (YYYY-MM-DD)")
        return None
