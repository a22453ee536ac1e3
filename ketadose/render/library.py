"""The library as terminal tables: `list` (one row per template) and `show` (one regimen in
sections). Each renderer takes its result and the stream to write to."""

from __future__ import annotations

from typing import TextIO

from ketadose.describe import evidence_summary, phase_dose, phase_duration, schedule_summary
from ketadose.templates import Listing, Template


def listing_table(listing: Listing, stream: TextIO) -> None:
    from ketadose.render.table import console, table

    cols = [("id", {"no_wrap": True}), ("title", {"ratio": 2}), ("conditions", {"no_wrap": True}),
            ("drug / route", {"no_wrap": True}), ("setting", {"no_wrap": True}),
            ("schedule", {"ratio": 3}), ("evidence", {"ratio": 1, "min_width": 12})]
    rows = [(r.id, r.title, ", ".join(r.conditions), f"{r.drug}\n{r.route}", r.setting,
             schedule_summary(r), evidence_summary(r))
            for r in (t.regimen for t in listing.templates)]
    console(file=stream).print(table(
        f"{len(rows)} regimen template(s)", cols, rows,
        "`ketadose show ID` for the whole regimen with its sources"))


def template_tables(template: Template, stream: TextIO) -> None:
    """The whole regimen: header, schedule, preparation, adjuncts, monitoring, stop rules,
    retreatment, evidence, UNVERIFIED numbers, confirmed soft limits, findings, notes."""
    from ketadose.render.table import console

    out = console(file=stream)
    for section in _SECTIONS:
        section(out, template)


def _header(out, t: Template) -> None:
    from ketadose.render.table import styled

    r = t.regimen
    out.print(styled(r.title, "bold"))
    out.print(f"id {r.id} | {r.drug} | {r.route} | {r.setting} | weight basis: "
              f"{r.weight_basis or 'not needed'} | conditions: {', '.join(r.conditions)}")
    out.print(f"file {t.source_file}\nsha256 {t.sha256}\n")


def _schedule(out, t: Template) -> None:
    from ketadose.render.table import table

    r = t.regimen
    unverified = {w for w, _f, _y in r.unverified()}

    def dose(p) -> str:
        return phase_dose(p) + (" [UNVERIFIED]" if f"phase {p.name!r}" in unverified else "")

    out.print(table(
        f"Schedule: {schedule_summary(r)}",
        [("phase", {"no_wrap": True}), ("kind", {"no_wrap": True}), "dose",
         ("duration", {"no_wrap": True}), ("criteria / notes", {"ratio": 2}), "source"],
        [(p.name, p.kind, dose(p), phase_duration(p),
          " ".join(x for x in (p.titrate_to, p.escalate_if, p.conditional, p.titrate, p.notes) if x),
          p.source) for p in r.phases],
        f"Schedule source: {r.schedule_source}"))


def _preparation(out, t: Template) -> None:
    from ketadose.render.table import table

    prep = t.regimen.preparation
    if prep:
        out.print(table("Preparation", ["concentration", "volume", "diluent", "source"], [(
            prep.concentration and str(prep.concentration), prep.volume and str(prep.volume),
            prep.diluent, prep.source)]))


def _adjuncts(out, t: Template) -> None:
    from ketadose.render.table import table

    if t.regimen.adjuncts:
        out.print(table("Adjuncts", [("drug", {"no_wrap": True}), ("dose", {"no_wrap": True}),
                                     ("route", {"no_wrap": True}), "timing", "source"],
                        [(a.name, str(a.dose), a.route, a.timing, a.source)
                         for a in t.regimen.adjuncts]))


def _monitoring(out, t: Template) -> None:
    from ketadose.render.table import table

    r = t.regimen
    out.print(table("Monitoring", [("what", {"ratio": 2}), ("when", {"ratio": 1}),
                                   ("source", {"ratio": 1})],
                    [(m.what, m.when, m.source) for m in r.monitoring]))
    out.print(table("Stop rules", [("when", {"ratio": 1}), ("action", {"ratio": 1}),
                                   ("source", {"ratio": 1})],
                    [(s.when, s.action, s.source) for s in r.stop_rules]))


def _retreatment(out, t: Template) -> None:
    from ketadose.render.table import line, styled

    rt = t.regimen.retreatment
    out.print(styled("Retreatment", "bold"))
    out.print(f"minimum interval: {rt.minimum_interval or 'none set by any guideline (a clinician decides)'}")
    out.print(f"relief lasted: {rt.relief_lasted}")
    if rt.liver_warning:
        out.print(line(("liver:", "yellow"), f" {rt.liver_warning}"))
    out.print(f"source: {rt.source}\n")


def _evidence(out, t: Template) -> None:
    from ketadose.render.table import table

    out.print(table("Evidence", [("citation", {"ratio": 4}), ("PMID", {"no_wrap": True}), "design",
                                 ("n", {"no_wrap": True}), "result", "role"],
                    [(e.citation, e.pmid or (f"doi:{e.doi}" if e.doi else "-"), e.design,
                      e.n or "-", e.result, e.role) for e in t.regimen.evidence]))


def _unverified_and_confirmed(out, t: Template) -> None:
    from ketadose.render.table import table

    r = t.regimen
    if r.unverified():
        out.print(table("UNVERIFIED numbers (not confirmed in a primary source; check before use)",
                        ["where", ("field", {"no_wrap": True}), ("why", {"ratio": 3})],
                        r.unverified()))
    if r.confirm:
        out.print(table("Soft limits confirmed by this regimen",
                        [("limit", {"no_wrap": True}), "reason"], list(r.confirm.items())))


def _findings_and_notes(out, t: Template) -> None:
    from ketadose.render.table import SEVERITY_STYLE, styled, table

    if t.findings:
        out.print(table("Validation findings",
                        [("rule", {"no_wrap": True}), ("severity", {"no_wrap": True}), "message"],
                        [(f.rule, styled(f.severity, SEVERITY_STYLE.get(f.severity, "")),
                          f.message) for f in t.findings]))
    if t.regimen.notes:
        out.print(styled("Notes", "bold"))
        out.print(t.regimen.notes)


_SECTIONS = (_header, _schedule, _preparation, _adjuncts, _monitoring, _retreatment, _evidence,
             _unverified_and_confirmed, _findings_and_notes)
