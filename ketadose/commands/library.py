"""`ketadose list`, `show` and `new`: the regimen library."""

from __future__ import annotations

import re

from ketadose.describe import evidence_summary, phase_dose, phase_duration, schedule_summary
from ketadose.errors import KetadoseError
from ketadose.io.regimens import catalogue, load_regimen, usable_templates
from ketadose.regimen_format import ID_PATTERN
from ketadose.render.data import plain, to_json, to_yaml
from ketadose.render.diag import emit


def _evidence(regimen):
    return [{"citation": e.citation, "pmid": e.pmid, "doi": e.doi, "design": e.design, "n": e.n,
             "result": e.result, "role": e.role} for e in regimen.evidence]


def list_regimens(dirs, condition, route, fmt) -> None:
    rows = []
    usable = usable_templates(dirs)
    if condition:
        _known_condition(condition, {c for _s, r in usable for c in r.conditions})
    for src, regimen in usable:
        if condition and condition not in regimen.conditions:
            continue
        if route and regimen.route != route:
            continue
        rows.append((src, regimen))
    if fmt != "table":
        data = [{"id": r.id, "title": r.title, "conditions": list(r.conditions), "drug": r.drug,
                 "route": r.route, "setting": r.setting, "schedule": schedule_summary(r),
                 "source_file": s.name, "sha256": s.sha256, "evidence": _evidence(r)}
                for s, r in rows]
        emit(to_json(data) if fmt == "json" else to_yaml(data))
        return
    from ketadose.render.table import console, table

    cols = [("id", {"no_wrap": True}), ("title", {"ratio": 2}), ("conditions", {"no_wrap": True}),
            ("drug / route", {"no_wrap": True}), ("setting", {"no_wrap": True}),
            ("schedule", {"ratio": 3}), ("evidence", {"ratio": 1, "min_width": 12})]
    console().print(table(
        f"{len(rows)} regimen template(s)", cols,
        [(r.id, r.title, ", ".join(r.conditions), f"{r.drug}\n{r.route}", r.setting,
          schedule_summary(r), evidence_summary(r)) for _s, r in rows],
        "`ketadose show ID` for the whole regimen with its sources"))


def _known_condition(condition: str, used: set) -> None:
    """An unknown filter value is an error with suggestions, never '0 regimen template(s)'."""
    # the indications the templates name (not the patient vocabulary's contraindications)
    if condition in used:
        return
    import difflib

    close = difflib.get_close_matches(condition.lower(), sorted(used), n=3, cutoff=0.5)
    hint = (f"did you mean {', '.join(close)}?" if close
            else f"known: {', '.join(sorted(used))}")
    raise KetadoseError(f"--condition {condition!r} is not a condition id; {hint}")


def show_regimen(dirs, ref, fmt) -> None:
    src, regimen, findings = load_regimen(ref, dirs)
    if fmt == "yaml":
        emit(src.text)
        return
    if fmt == "json":
        data = {"source_file": src.name, "sha256": src.sha256, "regimen": plain(regimen),
                "unverified": [{"where": w, "field": f, "why": y} for w, f, y in regimen.unverified()],
                "findings": [f.as_dict() for f in findings]}
        emit(to_json(data))
        return
    from ketadose.render.table import SEVERITY_STYLE, console, line, styled, table

    out = console()
    r = regimen
    out.print(styled(r.title, "bold"))
    out.print(f"id {r.id} | {r.drug} | {r.route} | {r.setting} | weight basis: "
              f"{r.weight_basis or 'not needed'} | conditions: {', '.join(r.conditions)}")
    out.print(f"file {src.name}\nsha256 {src.sha256}\n")
    unverified = {(w, f) for w, f, _y in r.unverified()}
    out.print(table(
        f"Schedule: {schedule_summary(r)}",
        [("phase", {"no_wrap": True}), ("kind", {"no_wrap": True}), "dose",
         ("duration", {"no_wrap": True}), ("criteria / notes", {"ratio": 2}), "source"],
        [(p.name, p.kind, phase_dose(p) + (" [UNVERIFIED]" if any(
            w == f"phase {p.name!r}" for w, _f in unverified) else ""), phase_duration(p),
          " ".join(x for x in (p.titrate_to, p.escalate_if, p.conditional, p.titrate, p.notes) if x),
          p.source) for p in r.phases],
        f"Schedule source: {r.schedule_source}"))
    if r.preparation:
        prep = r.preparation
        out.print(table("Preparation", ["concentration", "volume", "diluent", "source"], [(
            prep.concentration and str(prep.concentration), prep.volume and str(prep.volume),
            prep.diluent, prep.source)]))
    if r.adjuncts:
        out.print(table("Adjuncts", [("drug", {"no_wrap": True}), ("dose", {"no_wrap": True}),
                                          ("route", {"no_wrap": True}), "timing", "source"],
                        [(a.name, str(a.dose), a.route, a.timing, a.source) for a in r.adjuncts]))
    out.print(table("Monitoring", [("what", {"ratio": 2}), ("when", {"ratio": 1}),
                                   ("source", {"ratio": 1})],
                    [(m.what, m.when, m.source) for m in r.monitoring]))
    out.print(table("Stop rules", [("when", {"ratio": 1}), ("action", {"ratio": 1}),
                                   ("source", {"ratio": 1})],
                    [(s.when, s.action, s.source) for s in r.stop_rules]))
    rt = r.retreatment
    out.print(styled("Retreatment", "bold"))
    out.print(f"minimum interval: {rt.minimum_interval or 'none set by any guideline (a clinician decides)'}")
    out.print(f"relief lasted: {rt.relief_lasted}")
    if rt.liver_warning:
        out.print(line(("liver:", "yellow"), f" {rt.liver_warning}"))
    out.print(f"source: {rt.source}\n")
    out.print(table("Evidence", [("citation", {"ratio": 4}), ("PMID", {"no_wrap": True}), "design",
                                     ("n", {"no_wrap": True}), "result", "role"],
                    [(e.citation, e.pmid or (f"doi:{e.doi}" if e.doi else "-"), e.design,
                      e.n or "-", e.result, e.role) for e in r.evidence]))
    if r.unverified():
        out.print(table("UNVERIFIED numbers (not confirmed in a primary source; check before use)",
                        ["where", ("field", {"no_wrap": True}), ("why", {"ratio": 3})], r.unverified()))
    if r.confirm:
        out.print(table("Soft limits confirmed by this regimen", [("limit", {"no_wrap": True}), "reason"],
                        list(r.confirm.items())))
    if findings:
        out.print(table("Validation findings", [("rule", {"no_wrap": True}), ("severity", {"no_wrap": True}), "message"],
                        [(f.rule, styled(f.severity, SEVERITY_STYLE.get(f.severity, "")),
                          f.message) for f in findings]))
    if r.notes:
        out.print(styled("Notes", "bold"))
        out.print(r.notes)


_HEADER = """\
# A custom ketadose regimen, started from the template {origin!r} (ketadose {version}).
# Edit it, then check it with:  ketadose validate {target}
#
# Field guide (format v1; `ketadose schema regimen` prints the full JSON Schema):
#   format        format version of this file (1)
#   id            your own kebab-case id; it must not repeat an id in any template folder
#   drug          racemic-ketamine | esketamine -- never mix them up: esketamine is about
#                 twice as potent as the racemate
#   route         iv | sc | oral | topical;   setting: inpatient | monitored-outpatient | home | icu
#   weight_basis  actual | ideal | adjusted -- required when any dose is per kg
#   schedule      pattern (daily | continuous), days, and phases; each phase has a kind:
#                   infusion   rate + duration, or dose 'N mg over T h'; optional max_rate cap
#                   bolus      dose (mg or mg/kg) over a time (boluses are short infusions)
#                   titration  start, step, max, duration, titrate_to (criteria)
#                   escalation steps, step_duration, escalate_if, hold
#                   oral       dose + times_per_day;   topical: strength + applications_per_day
#                 every phase names its source; `unverified: {{field: why}}` marks a number that
#                 the sources read could not confirm (shown as UNVERIFIED to clinicians)
#   units         mg, mcg, g; kg; min, h, day; mL, L; mg/kg/h, mcg/kg/min, mg/h, mg/day, mg/mL, %
#   adjuncts, monitoring, stop_rules, retreatment, evidence -- each entry names its source
#   confirm       {{KD-LIM-xxx: "reason"}} accepts a soft limit; hard limits cannot be confirmed
#
"""


def new_regimen(dirs, from_id, new_id) -> None:
    from ketadose import __version__

    src, regimen, _findings = load_regimen(from_id, dirs)
    new_id = new_id or f"{regimen.id}-local"
    if not re.fullmatch(ID_PATTERN, new_id):
        raise KetadoseError(f"--id {new_id!r} must be kebab-case (a-z, 0-9 and -)")
    if catalogue(dirs).taken(new_id):
        raise KetadoseError(f"--id {new_id!r} is already a template id; choose another")
    body, count = re.subn(r"(?m)^id:[ \t]*\S+[ \t]*$", f"id: {new_id}", src.text, count=1)
    if count != 1:
        raise KetadoseError("template has no top-level 'id:' line to replace", src.name)
    text = _HEADER.format(origin=regimen.id, version=__version__, target=f"{new_id}.yaml") + body
    emit(text)
