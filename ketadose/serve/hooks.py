"""CDS Hooks 2.0 services: discovery, and a hook request answered with cards.

No web framework here: ``answer(service, body, settings)`` takes the parsed JSON body and returns
the response object, so the logic is the same under any server (and testable without one). The
screen, plan and safety gate are the CLI's own (commands.check / commands.plan).

Spec: CDS Hooks (HL7), github.com/cds-hooks/docs, docs/specification/current.md; hooks
docs/hooks/order-select.md and order-sign.md. See docs/fhir-and-cds-hooks.md.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field

from ketadose.errors import KetadoseError

REGIMEN_EXTENSION = "https://ketadose.invalid/fhir/StructureDefinition/regimen"
OVERRIDE_SYSTEM = "https://ketadose.invalid/fhir/CodeSystem/override-reasons"
# Reasons offered only on cards that may be overridden (never an absolute contraindication or a
# hard limit). ketadose's own codes: the specification prescribes no standard set.
OVERRIDE_REASONS = (
    {"system": OVERRIDE_SYSTEM, "code": "benefit-outweighs-risk",
     "display": "Benefit outweighs the risk for this patient (reviewed by the prescriber)"},
    {"system": OVERRIDE_SYSTEM, "code": "record-outdated",
     "display": "The record is out of date; the finding no longer applies"},
    {"system": OVERRIDE_SYSTEM, "code": "specialist-supervision",
     "display": "Given under specialist supervision with the monitoring the card asks for"},
)
CODES = "29463-7,8302-2,85354-9,8480-6,8462-4,8867-4,1742-6,1920-8,6768-6,2324-2,1975-2,82810-3"
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "observations": "Observation?patient={{context.patientId}}&code=http://loinc.org|" + CODES,
    "conditions": "Condition?patient={{context.patientId}}",
    "medicationRequests": "MedicationRequest?patient={{context.patientId}}&status=active",
    "medicationStatements": "MedicationStatement?patient={{context.patientId}}",
    "allergies": "AllergyIntolerance?patient={{context.patientId}}",
}
# prefetch key -> the record sections it answers (both medication keys are needed for a complete
# medication list)
SECTIONS = {"conditions": ("conditions",), "allergies": ("allergies",)}
MEDICATION_KEYS = ("medicationRequests", "medicationStatements")
SERVICES = {
    "ketadose-order-select": "order-select",
    "ketadose-order-sign": "order-sign",
}


_REGIMEN_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,80}$")
# Markdown shown literally: control and invisible format characters dropped, Markdown's special
# characters escaped; one str.translate pass (a regex substitution cost a tenth of an answer)
_LITERAL: dict[int, str | None] = {
    c: None for r in ((0x00, 0x1f), (0x7f, 0x9f), (0x200b, 0x200f), (0x2028, 0x202e),
                      (0x2060, 0x2064), (0xfeff, 0xfeff)) for c in range(r[0], r[1] + 1)}
_LITERAL.update({ord(c): "\\" + c for c in "\\`*_{}[]()#+!<>|~"})


@dataclass
class Settings:
    dirs: tuple = ()
    default_regimen: str | None = None
    today: object = None  # a fixed screening date (tests); None means the current date
    issued: dict = field(default_factory=dict)  # card uuid -> (service, rule): feedback audit
    regimens: dict = field(default_factory=dict)  # ref -> (source, regimen, findings)

    def regimen(self, ref):
        """A validated regimen, read once per server run (restart to pick up edited files)."""
        from ketadose.io.regimens import load_regimen

        if ref not in self.regimens:
            if len(self.regimens) > 200:  # refs come from orders: bound the cache
                self.regimens.clear()
            self.regimens[ref] = load_regimen(ref, self.dirs)
        return self.regimens[ref]


def discovery() -> dict:
    return {"services": [
        {"hook": hook, "id": sid, "title": f"ketadose: ketamine {hook.split('-')[1]} check",
         "description": "Screens a ketamine or esketamine order (MedicationRequest) for "
                        "contraindications and interactions, plans the dose for the patient and "
                        "checks it against the limit library; cards cite their sources.",
         "prefetch": dict(PREFETCH),
         "usageRequirements": "Ketamine-family MedicationRequests: RxNorm/ATC/SNOMED CT codes "
                              "listed in ketadose's mapping table, or text naming a "
                              "ketamine-family substance as the allergy vocabulary knows it "
                              "(names, brands, salts, enantiomers). A regimen is chosen by "
                              f"the extension {REGIMEN_EXTENSION} (valueString: a ketadose "
                              "regimen id) or the clinic default."}
        for sid, hook in SERVICES.items()]}


class BadRequest(Exception):
    """A request the service cannot read: 400 with this message."""


def answer(service: str, body, settings: Settings) -> dict:
    """The CDS Hooks response (``{"cards": [...]}``) for a parsed request body; the cards it
    issued are remembered in ``settings.issued`` for the feedback audit."""
    response, issued = cards_for(service, body, settings)
    remember(settings, service, issued)
    return response


def remember(settings: Settings, service: str, issued) -> None:
    """Card uuid -> (service, rule) for the feedback audit; bounded: the oldest are forgotten."""
    for uid, rule in issued:
        settings.issued[uid] = (service, rule)
        if len(settings.issued) > 50_000:
            settings.issued.pop(next(iter(settings.issued)))


def cards_for(service: str, body, settings: Settings) -> tuple:
    """(the response, [(card uuid, rule id)]): the answer itself, with no state kept, so that
    it can be made in a worker process (serve/workers.py)."""
    hook = SERVICES[service]
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    for key, kind in (("hook", str), ("hookInstance", str), ("context", dict)):
        if not isinstance(body.get(key), kind):
            raise BadRequest(f"{key} is required ({kind.__name__})")
    if body["hook"] != hook:
        raise BadRequest(f"this service answers {hook}, not {body['hook']!r}")
    context = body["context"]
    draft = context.get("draftOrders")
    if not isinstance(draft, dict) or draft.get("resourceType") != "Bundle":
        raise BadRequest("context.draftOrders must be a FHIR Bundle")
    if not isinstance(context.get("patientId"), str):
        raise BadRequest("context.patientId is required")
    orders = _orders(draft, context.get("selections") if hook == "order-select" else None)
    if not orders:
        return {"cards": []}, []  # not a ketamine order: nothing to say
    prefetch = body.get("prefetch")
    if prefetch is not None and not isinstance(prefetch, dict):
        raise BadRequest("prefetch must be an object")
    cards = []
    for order in orders:
        cards += _order_cards(service, order, context, prefetch or {}, settings)
    return {"cards": cards}, [(card["uuid"], card.pop("_rule")) for card in cards]


def warm(settings: Settings) -> None:
    """Load what every answer needs (modules, vocabulary, limit library, mapping tables, the
    clinic's default regimen) before the first request, not during it."""
    import importlib

    from ketadose.io.fhir_in import tables
    from ketadose.io.library import limit_library, vocabulary

    for module in ("ketadose.commands.check", "ketadose.commands.plan", "ketadose.render.explain"):
        importlib.import_module(module)
    vocabulary()
    limit_library()
    tables()
    if settings.default_regimen:
        settings.regimen(settings.default_regimen)


def _orders(draft, selections):
    from ketadose.io.fhir_in import _codings, tables

    family = tables()["ketamine_family"]
    wanted = ({x for x in selections if isinstance(x, str)} if isinstance(selections, list)
              else None)
    entries = draft.get("entry") or []
    if not isinstance(entries, list):
        raise BadRequest("context.draftOrders.entry must be a list")
    out = []
    for e in entries:
        res = e.get("resource") if isinstance(e, dict) else None
        if not isinstance(res, dict) or res.get("resourceType") != "MedicationRequest":
            continue
        if wanted is not None and f"MedicationRequest/{res.get('id')}" not in wanted:
            continue
        concept = res.get("medicationCodeableConcept")
        codings = _codings(concept)
        codes = [c for c in codings if c.get("code") in (family.get(c.get("system")) or {})]
        texts = [concept.get("text") if isinstance(concept, dict) else None] + \
            [c.get("display") for c in codings]
        if codes or any(isinstance(t, str) and _ketamine_text(t) for t in texts):
            out.append(res)
    return out


def _ketamine_text(text: str) -> bool:
    """Free text naming a ketamine-family substance, as the allergy vocabulary recognises it
    (names, brands, salts, enantiomers, misspellings)."""
    from ketadose.io.library import vocabulary

    matcher = vocabulary().substances
    return any(matcher.is_ketamine(s) for s in matcher.match(text))


def _card(summary, indicator, source, detail, rule, override=False, suggestions=None,
          unverified=None) -> dict:
    """A card; one that rests on an UNVERIFIED basis says so first in its summary and names the
    basis in its detail, as every other output of ketadose marks it."""
    from ketadose.render.explain import card_source
    from ketadose.render.explain import summary as short

    if unverified:
        summary = f"[UNVERIFIED] {summary}"
        detail = f"{detail}\n\n**UNVERIFIED**: {_md(unverified)}"
    card = {"uuid": str(uuid.uuid4()), "summary": short(summary), "indicator": indicator,
            "source": {k: v for k, v in card_source(source).items() if k in ("label", "url")},
            "detail": detail, "_rule": rule}
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "at-most-one"
    if override:
        card["overrideReasons"] = [dict(r) for r in OVERRIDE_REASONS]
    return card


def _md(text: str) -> str:
    """Text from records and templates shown literally in Markdown (no markup, no controls)."""
    return str(text).translate(_LITERAL)


def _order_cards(service, order, context, prefetch, settings) -> list:
    """The cards for one ketamine order: what could not be read, the screen, the plan and the
    gate on the ordered rate; never an empty list (a clear screen says so)."""
    from ketadose.commands.check import screen_for
    from ketadose.io.library import vocabulary
    from ketadose.patient import build

    today = settings.today or dt.date.today()
    _same_patient(order, context, prefetch)
    imported, missing = _import_prefetch(prefetch, today)
    cards = [_missing_card(missing)] if missing else []
    patient, problems = build(imported.record, vocabulary())
    if patient is None:
        first = problems[0]
        cards.append(_card(f"ketadose could not read the patient record: {first.with_path()}",
                           "warning", "ketadose patient format", _md(first.message),
                           "KD-CDS-RECORD"))
        return cards
    (src, regimen, findings), regimen_cards = _order_regimen(order, settings)
    cards += regimen_cards
    screen = screen_for(patient, regimen, today, None)
    cards += _screen_cards(screen, imported)
    if regimen is not None and not screen.blocking:
        from ketadose.commands.plan import plan_for

        order_id = f"MedicationRequest/{order.get('id')}"
        cards += _plan_cards(order_id, order, regimen, patient, findings, plan_for)
    if not any(c["indicator"] != "info" for c in cards):
        cards.append(_card(f"ketadose: screen {screen.status} for "
                           f"{regimen.id if regimen else 'ketamine'}", "info",
                           "ketadose screening rules (`ketadose rules`)",
                           f"Screen status: {screen.status}. Every rule was assessed.",
                           "KD-CDS-SCREEN"))
    return cards


def _same_patient(order, context, prefetch) -> None:
    """One patient only: the prefetched Patient and the order must be the context's patient."""
    pid = context["patientId"]
    patient_res = prefetch.get("patient")
    if isinstance(patient_res, dict) and patient_res.get("resourceType") == "Patient" \
            and patient_res.get("id") != pid:
        raise BadRequest("prefetch.patient is not the patient in context.patientId")
    subject = order["subject"].get("reference") if isinstance(order.get("subject"), dict) \
        else None
    if subject is not None and subject != f"Patient/{pid}" and \
            not str(subject).endswith(f"/Patient/{pid}"):
        raise BadRequest(f"MedicationRequest/{order.get('id')} is for {subject}, "
                         f"not Patient/{pid}")


def _import_prefetch(prefetch, today):
    """(the prefetch read as ``ketadose import`` reads a bundle, the prefetch keys missing).
    A key that is present counts as asked (an empty search result means none); the order being
    checked is not one of the patient's current medicines."""
    from ketadose.io.fhir_in import from_fhir

    missing, resources = [], []
    for key in PREFETCH:
        value = prefetch.get(key)
        if not isinstance(value, dict) or value.get("resourceType") == "OperationOutcome":
            missing.append(key)
        else:
            resources.append({"resource": value})
    answered = {s for key, secs in SECTIONS.items() if key not in missing for s in secs}
    if not any(k in missing for k in MEDICATION_KEYS):
        answered.add("medications")
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": resources}
    try:
        return from_fhir(bundle, today, "prefetch", answered=answered), missing
    except KetadoseError as exc:
        raise BadRequest(f"prefetch: {exc}") from None


def _missing_card(missing) -> dict:
    return _card(
        f"ketadose could not check this order fully: prefetch missing ({', '.join(missing)})",
        "warning", "ketadose CDS service (discovery lists the prefetch it needs)",
        "The EHR did not send: " + ", ".join(f"`{m}` ({_md(PREFETCH[m])})" for m in missing)
        + ". Rules that need these answers are reported as not assessed.", "KD-CDS-PREFETCH")


def _order_regimen(order, settings):
    """((source, regimen, findings) or Nones, cards saying why there is no regimen)."""
    named = _regimen_ref(order)
    regimen_id = named or settings.default_regimen
    none = (None, None, None)
    if named is not None and not _REGIMEN_ID.match(named):
        # an id from the request, never a path: the EHR must not make the service read files
        return none, [_card("ketadose: the order's regimen is not a regimen id", "warning",
                            "ketadose CDS service", f"`{_md(named[:80])}` is not a ketadose "
                            "regimen id (lower-case letters, digits and hyphens).",
                            "KD-CDS-REGIMEN")]
    if not regimen_id:
        return none, [_card(
            "ketadose: no regimen named for this order: the dose was not checked", "warning",
            "ketadose CDS service", f"Name a ketadose regimen with the extension "
            f"`{REGIMEN_EXTENSION}` or configure a clinic default (`ketadose serve --regimen "
            "ID`). The patient was screened for ketamine in general.", "KD-CDS-REGIMEN")]
    try:
        return settings.regimen(regimen_id), []
    except KetadoseError as exc:
        return none, [_card(f"ketadose: unknown regimen {regimen_id!r}", "warning",
                            "ketadose regimen library", _md(exc.message), "KD-CDS-REGIMEN")]


def _screen_cards(screen, imported) -> list:
    """One card per finding (override reasons for relative contraindications and cautions,
    never for absolute ones), and one for the questions left unanswered."""
    cards = []
    for f in screen.findings:
        blocking = f.severity in ("absolute", "relative")
        cards.append(_card(f"{f.title + ': ' if f.title else ''}{f.message}", f.indicator,
                           f.source, _md(f.message) + (f"\n\nRule {f.rule} ({f.severity}); source: "
                                                       f"{_md(f.source)}"),
                           f.rule, override=f.severity != "absolute" and (blocking or
                                                                        f.severity == "caution"),
                           unverified=f.unverified))
    if screen.not_assessed:
        cards.append(_card(f"ketadose screen incomplete: {len(screen.questions)} question(s) "
                           "unanswered; not an all-clear", "warning",
                           "ketadose screening rules (`ketadose rules`)",
                           "\n".join(f"- {_md(q)} (needed by {', '.join(rules)})"
                                     for q, rules in screen.questions)
                           + _stale_text(imported), "KD-CDS-INCOMPLETE"))
    return cards


def _stale_text(imported) -> str:
    if not imported.stale:
        return ""
    return "\n\nNot counted (too old or undated): " + "; ".join(
        f"{s['field']} from {s['resource']} ({s.get('date') or 'no date'})" for s in imported.stale)


def _dicts(value) -> list:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _regimen_ref(order):
    for ext in _dicts(order.get("extension")):
        if ext.get("url") == REGIMEN_EXTENSION and isinstance(ext.get("valueString"), str):
            return ext["valueString"]
    return None


def _rate_quantities(order):
    """The rateQuantity objects (UCUM mg/h) of an order's dosage instructions."""
    for d in _dicts(order.get("dosageInstruction")):
        for dr in _dicts(d.get("doseAndRate")):
            q = dr.get("rateQuantity")
            if isinstance(q, dict) and q.get("code") == "mg/h":
                yield q


def _ordered_rate(order):
    """The ordered rate in mg/h if the order states one (rateQuantity), else None."""
    for q in _rate_quantities(order):
        value = q.get("value")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def _plan_cards(order_id, order, regimen, patient, findings, plan_for) -> list:
    cards = []
    try:
        plan = plan_for(regimen, patient, {}, findings)
    except KetadoseError as exc:
        return [_card(f"ketadose could not plan {regimen.id}: {exc.message}", "warning",
                      "ketadose dose calculator", _md(exc.message), "KD-CDS-PLAN")]
    hard_keys = _hard_errors(plan, regimen, patient, findings, plan_for)
    phase_marks = {p.name: _marks([p]) for p in plan.phases if p.unverified}
    for f in plan.findings:
        refused = f.severity == "error"
        hard = refused and _key(f) in hard_keys
        note = (": a hard limit, no override." if hard else
                ": a soft limit; the plan needs a clinician's recorded reason." if refused else ".")
        cards.append(_card(f.message, "critical" if refused else f.indicator, f.source,
                           _md(f.message) + f"\n\nRule {f.rule}{note}", f.rule,
                           override=(refused and not hard) or f.severity == "warning",
                           unverified=_joined(f.unverified, *(
                               m for name, m in phase_marks.items()
                               if f.message.startswith(f"{name}:")))))
    if plan.blocked:
        return cards
    return cards + _rate_cards(order_id, order, regimen, plan)


def _rate_cards(order_id, order, regimen, plan) -> list:
    """The ordered rate (rateQuantity, mg/h) against the limit library and against the rate
    the regimen plans for this patient, with that planned rate as the suggested change."""
    cards: list = []
    rated = [p for p in plan.phases if getattr(p, "mg_h_max", None)]
    ordered = _ordered_rate(order)
    if ordered is None or not rated:
        return cards
    capped = round(max(p.mg_h_max for p in rated), 4)
    # the planned rate is a number from the regimen: its UNVERIFIED marks go wherever it is shown
    marks = _marks(rated)
    suggestion = [{"label": f"Change the rate to {capped:g} mg/h"
                   + (" (UNVERIFIED)" if marks else ""), "uuid": str(uuid.uuid4()),
                   "isRecommended": True,
                   "actions": [{"type": "update", "description":
                                f"Set the infusion rate of {order_id} to {capped:g} mg/h",
                                "resource": _with_rate(order, capped)}]}]
    # The safety gate on what would be delivered: the ordered rate against the limit library,
    # exactly as the CLI checks a planned rate (hard: refused, no override; soft: a reason).
    gate = _gate(regimen, plan, ordered)
    for f in gate:
        hard = f.severity == "error"
        cards.append(_card(f"Ordered rate: {f.message}", "critical" if hard else "warning",
                           f.source, _md(f.message) + (f"\n\nRule {f.rule}: "
                                                       + ("a hard limit: no override."
                                                          if hard else "a soft limit.")),
                           f.rule, override=not hard, suggestions=suggestion,
                           unverified=_joined(f.unverified, marks)))
    if not gate and ordered > capped + 1e-9:
        cards.append(_card(
            f"Ordered {ordered:g} mg/h is above the {capped:g} mg/h that {regimen.id} plans "
            "for this patient", "warning", rated[0].source or regimen.id,
            f"The regimen's highest planned rate for this patient is {capped:g} mg/h "
            f"(dosing weight {plan.weight.kg or plan.weight.actual_kg} kg, caps applied).",
            "KD-CDS-RATE", override=True, suggestions=suggestion, unverified=marks))
    return cards


def _marks(phases) -> str | None:
    """The UNVERIFIED marks of plan phases, for a card that shows their numbers."""
    return _joined(*(f"phase '{p.name}' {what}: {why}" for p in phases
                     for what, why in (p.unverified or {}).items()))


def _joined(*marks) -> str | None:
    return "; ".join(m for m in marks if m) or None


def _key(f) -> str:
    return f"{f.rule}|{f.message.split('; confirm it')[0]}"


def _hard_errors(plan, regimen, patient, findings, plan_for) -> set:
    """The refusals that stay refusals when a clinician gives a reason (hard limits, invariants):
    the safety gate turns an unconfirmed soft limit into a refusal that a reason lifts, so the
    plan is made once more with a reason to tell the two apart (only when it was refused)."""
    if not plan.blocked:
        return set()
    confirmed = plan_for(regimen, patient, {"override": "reason given in the EHR (CDS Hooks)"},
                         findings)
    return {_key(f) for f in confirmed.findings if f.severity == "error"}


def _gate(regimen, plan, ordered) -> list:
    from ketadose import limits as lim
    from ketadose.io.library import limit_library
    from ketadose.units import Quantity, parse_unit

    ctx = lim.LimitContext(regimen.drug, regimen.route, regimen.setting, {})  # no confirmations:
    # a template's confirmed soft limits cover its own planned numbers, not an order's
    out = lim.check(limit_library(), ctx, "rate", Quantity(ordered, parse_unit("mg/h")),
                    "ordered rate")
    if plan.weight.kg:
        out += lim.check(limit_library(), ctx, "rate_per_kg",
                         Quantity(ordered / plan.weight.kg, parse_unit("mg/kg/h")),
                         "ordered rate per kg")
    return [f for f in out if f.severity in ("error", "warning")]


def _with_rate(order, rate):
    import copy

    fixed = copy.deepcopy(order)
    for q in _rate_quantities(fixed):
        q["value"] = rate
    return fixed
