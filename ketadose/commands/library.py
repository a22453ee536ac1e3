"""`ketadose list`, `show` and `new`: the regimen library."""

from __future__ import annotations

import re

from ketadose.errors import KetadoseError
from ketadose.io.regimens import catalogue, load_regimen, usable_templates
from ketadose.regimen_format import ID_PATTERN
from ketadose.render.diag import emit, output
from ketadose.templates import Template, listing


def _template(src, regimen, findings=()) -> Template:
    return Template(src.name, src.sha256, src.text, regimen, tuple(findings))


def list_regimens(dirs, condition, route, fmt) -> None:
    result = listing((_template(s, r) for s, r in usable_templates(dirs)), condition, route)
    if fmt == "table":
        from ketadose.render.library import listing_table

        listing_table(result, output())
        return
    from ketadose.render.data import write_document
    from ketadose.render.documents.library import listing_document

    write_document(listing_document(result), output(), fmt)


def show_regimen(dirs, ref, fmt) -> None:
    template = _template(*load_regimen(ref, dirs))
    if fmt == "yaml":
        output().write(template.text)  # the file as written, comments included
    elif fmt == "json":
        from ketadose.render.data import write_document
        from ketadose.render.documents.library import template_document

        write_document(template_document(template), output(), fmt)
    else:
        from ketadose.render.library import template_tables

        template_tables(template, output())


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
