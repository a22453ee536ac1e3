"""The printable plan: one self-contained HTML page (inline styles, no network resources) for
A4 (@page size; a Letter printer scales it), with boxes to tick and space for signatures."""

from __future__ import annotations

import html
import re

from ketadose import __version__
from ketadose.render.marks import mark, rest
from ketadose.render.numbers import machine, mg_range, number, signed
from ketadose.render.phase_text import per_intake_text, starts_text


def _n(x, digits=1, unit=""):
    """A number with its unit, printed on one line."""
    return _q(number(x, digits, unit, missing="–"))


def _q(text: str) -> str:
    # nowrap: a printed number must never be split from its unit (issue 16; tests/test_print_pdf)
    return f"<span class='q'>{text}</span>"


CSS = """
@page { size: A4; margin: 11mm; }
* { box-sizing: border-box; }
body { font: 9pt/1.3 "Helvetica Neue", Arial, sans-serif; color: #000; margin: 0 auto;
       max-width: 190mm; }
h1 { font-size: 13pt; margin: 0 0 2pt; }
h2 { font-size: 10pt; margin: 7pt 0 2pt; border-bottom: 1px solid #444; page-break-after: avoid; }
/* a long table may go on over a page break (its head repeated), a row may not */
table { border-collapse: collapse; width: 100%; margin: 2pt 0; }
thead { display: table-header-group; }
tr, li, .sign, svg { break-inside: avoid; page-break-inside: avoid; }
th, td { border: 1px solid #999; padding: 1.5pt 3pt; text-align: left; vertical-align: top; }
th { background: #eee; }
.meta { font-size: 7.5pt; color: #333; }
.status { font-weight: bold; padding: 1pt 4pt; border: 1px solid #000; }
.box { display: inline-block; width: 8pt; height: 8pt; border: 1px solid #000; margin-right: 3pt; }
.q { white-space: nowrap; }
.cal { display: grid; grid-template-columns: repeat(5, 1fr); gap: 1pt 6pt; font-size: 8pt; }
.sign { display: grid; grid-template-columns: 1fr 1fr; gap: 10pt; margin-top: 10pt; }
.sign div { border-top: 1px solid #000; padding-top: 2pt; height: 22pt; }
.small { font-size: 7.5pt; }
svg { width: 100%; height: auto; }
"""


def e(text) -> str:
    from ketadose.render.text import terminal_safe

    # control and bidi characters are shown as escapes: a page is also read with cat and less
    return html.escape(terminal_safe("" if text is None else str(text)))




def txt(text) -> str:
    """Text for the body of the page, escaped, where no number breaks across lines: a number is
    held to its unit ('100 mg/24 h', 'PMID 123') by the same rule as the terminal tables
    (render.fit), and a word with a digit ('1.5-3.0', 'KD-DDI-003', an id) or an option
    ('--concentration') is not broken at its hyphens."""
    from ketadose.render.fit import KEEP, protect

    return re.sub(rf"\S*[\d{KEEP}]\S*|(?<!\S)--\S+",
                  lambda m: _q(m.group(0).replace(KEEP, " ")), protect(e(text)))


def _b(marked: str) -> str:
    """An UNVERIFIED mark in bold (escaped: its text comes from the regimen file)."""
    return f" <b>{txt(marked.strip())}</b>" if marked else ""


def _table(headers, rows) -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_page(result, stream, chart_svg: str | None = None) -> None:
    """The plan of a PlanResult as one printable HTML page on ``stream``; ``chart_svg`` is the
    predicted concentration chart, when the regimen could be simulated."""
    stream.write(page(result, chart_svg))


def page(result, chart_svg: str | None = None) -> str:
    if result.blocked:
        return _blocked_page(result)
    r = result.plan.regimen
    parts = [*_head(result, r), _patient(result), _screen(result.screen), _session(result.plan, result.options.start),
             _calendar(result.plan), *_preparation(result.plan.preparation), *_sections(r),
             *_findings(result.plan.findings), *_chart(chart_svg), _sources(r),
             "<div class='sign'><div>Prescriber (name, signature, date)</div>"
             "<div>Checked by (name, signature, date)</div></div>"]
    return _html(f"{r.id} plan", parts)


def _blocked_page(result) -> str:
    """A blocked plan: a page that says there is no plan and why (the screen, the gate's
    refusals), with no dose, no calendar and no place to sign."""
    from ketadose.render.documents.plan import blocked_reason

    r = result.regimen
    parts = [*_head(result, r),
             f"<h2><span class='status'>NO PLAN: BLOCKED</span></h2><p><b>{txt(blocked_reason(result))}</b></p>",
             "<h2>Patient</h2>" + _table(["patient"], [[txt(result.patient.id or "—")]]),
             _screen(result.screen), *_findings(result.plan.findings if result.plan else ()),
             _sources(r)]
    return _html(f"{r.id}: no plan (blocked)", parts)


def _html(title: str, parts: list) -> str:
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")


def _head(result, r) -> list:
    audit = result.audit or {}
    return [f"<h1>{e(r.title)}</h1>",
            f"<div class='meta'>Regimen {e(r.id)} · {e(r.drug)} · {e(r.route)} · {e(r.setting)} · "
            f"file sha256 {e(result.src.sha256)} · ketadose {e(__version__)}, "
            f"limits {e(result.versions.limits)}"
            + (f" · computed {e(audit['computed_at'])}" if audit.get("computed_at") else "")
            + "</div>"]


def _weight(w) -> str:
    if w.kg is None:
        return "not needed (fixed doses)"
    return (f"{_n(w.kg, 1, 'kg')} ({txt(w.basis)} weight; actual {_n(w.actual_kg, 1, 'kg')}"
            + (f", ideal {_n(w.ideal_kg, 1, 'kg')}, adjusted {_n(w.adjusted_kg, 1, 'kg')}"
               if w.ideal_kg else "")
            + (f", BMI {_n(w.bmi)}" if w.bmi else "") + ")")


def _patient(result) -> str:
    plan, start = result.plan, result.options.start
    conc = (f"{_n(plan.concentration_mg_ml, 3, 'mg/mL')} ({txt(plan.concentration_origin)})"
            if plan.concentration_mg_ml else "not given")
    return "<h2>Patient</h2>" + _table(["patient", "dosing weight", "concentration", "start"], [[
        txt(result.patient.id or "—"), _weight(plan.weight), conc,
        txt(start.isoformat(" ", "minutes") if start else "—")]])


def _screen(screen) -> str:
    findings = "".join(f"<li><b>{txt(f.severity)}</b> {txt(f.rule)} {txt(f.title)}: {txt(f.message)} "
                       + (f"<b>[UNVERIFIED: {txt(f.unverified)}]</b> " if f.unverified else "")
                       + f"<span class='small'>[{txt(f.source)}]</span></li>" for f in screen.findings)
    questions = "".join(f"<li>{txt(q)} <span class='small'>(needed by {txt(', '.join(rules))})</span>"
                        "</li>" for q, rules in screen.questions)
    return (f"<h2>Screen: <span class='status'>{txt(screen.status.upper())}</span></h2>"
            + (f"<p><b>Override recorded:</b> {txt(screen.override)}</p>" if screen.override else "")
            + (f"<ul class='small'>{findings}</ul>" if findings else "<p>No finding.</p>")
            + (f"<p><b>Not assessed:</b></p><ul class='small'>{questions}</ul>" if questions else ""))


def _phase_row(p, start) -> list:
    rate = "–" if p.mg_h is None or p.bolus is not None else _n(p.mg_h, 2, "mg/h") + (
        f" → {_n(p.mg_h_max, 2, 'mg/h')}" if p.mg_h_max and abs(p.mg_h_max - p.mg_h) > 1e-9 else "")
    if p.cap_binds:
        rate += " (capped)"
    pump = (f"{_q(f'{p.pump.ml_h:.1f} mL/h')} = {_n(p.pump.mg_h_delivered, 3, 'mg/h')} delivered "
            f"({signed(p.pump.error_pct)}%)" if p.pump and p.bolus is None else "–")
    return [txt(p.name) + (" <i>(conditional)</i>" if p.conditional else ""),
            txt(p.written) + _b(mark(p.unverified)), rate,
            pump, _n(p.duration_h, 2, "h") if p.duration_h else "per day", _dose(p),
            # as the terminal table: the clock time with --start, else hours from the start
            f"<span class='small'>{txt(starts_text(p, start))}</span>",
            f"<span class='small'>{txt(p.criteria or '')}</span>"]


def _dose(p) -> str:
    """The dose cell, from the phase's own part: a bolus and its volume, intakes a day; else
    the phase's dose."""
    if p.bolus is not None:
        return _n(p.bolus.mg, 1, "mg") + (f" ({_n(p.bolus.ml, 2, 'mL')})" if p.bolus.ml else "")
    if p.intakes is not None:
        i = p.intakes
        return _q((per_intake_text(i) or txt(i.amount or "amount to prescribe"))
                  + f" × {i.times_per_day}/day")
    return _n(p.dose_mg_max, 1, "mg")


def _session(plan, start) -> str:
    return "<h2>Session</h2>" + _table(
        ["phase", "as written", "rate", "pump", "duration", "dose", "starts", "criteria"],
        [_phase_row(p, start) for p in plan.phases])


def _calendar(plan) -> str:
    t = plan.totals
    cal = "".join(f"<div><span class='box'></span>Day {d.day}{' (cond.)' if d.conditional else ''}: "
                  f"{_q(mg_range(d.dose_mg_min, d.dose_mg_max, '–'))}</div>" for d in plan.days)
    return (f"<h2>Course calendar ({len(plan.days)} days)</h2><div class='cal'>{cal}</div>"
            f"<p class='small'>Course total {_q(mg_range(t['course_mg_min'], t['course_mg_max'], '–'))}; "
            f"highest session {_n(t['max_session_mg'], 1, 'mg')}; highest day "
            f"{_n(t['max_daily_mg'], 1, 'mg')}.</p>")


def _preparation(prep) -> list:
    """Vials, syringes and notes (the numbers as the JSON gives them)."""
    parts = []
    if prep.vials:
        discard = (f"; discard {_n(machine(prep.discard_ml), 1, 'mL')} = "
                   f"{_n(machine(prep.discard_mg), 1, 'mg')} "
                   "before hanging" if machine(prep.discard_ml) else "")
        parts.append(f"<h2>Preparation</h2><p>{_n(machine(prep.drug_mg), 1, 'mg')} in "
                     f"{_n(machine(prep.final_volume_ml), 1, 'mL')} {txt(prep.diluent)} at "
                     f"{_n(prep.concentration_mg_ml, 3, 'mg/mL')}, a bag for {txt(prep.per)} "
                     f"(dose {_n(machine(prep.need_mg), 1, 'mg')}{discard}).</p>" + _table(
                         ["vial", "draw", "diluent", "note"],
                         [[_q(f"{strength:g} mg/mL"), _n(machine(draw), 2, "mL"),
                           _n(machine(diluent), 1, "mL"), txt(note)]
                          for strength, draw, diluent, note in prep.vials]))
    if prep.syringes:
        parts.append("<h2>Syringe driver (per 24 h)</h2>" + _table(
            ["step", "mg", "mL"], [[txt(step), _n(machine(mg), 1), _n(machine(ml), 2)]
                                   for step, mg, ml in prep.syringes]))
    if prep.notes:
        parts.append("<ul class='small'>" + "".join(f"<li>{txt(n)}</li>" for n in prep.notes) + "</ul>")
    return parts


def _sections(r) -> list:
    """Adjuncts, the monitoring checklist, stop rules and retreatment."""
    parts = []
    if r.adjuncts:
        parts.append("<h2>Adjuncts</h2>" + _table(["drug", "dose", "route", "timing"], [
            [txt(a.name) + _b(rest(a.unverified, ("dose", "route", "timing"))),
             txt(a.dose) + _b(mark(a.unverified, "dose")), txt(a.route) + _b(mark(a.unverified, "route")),
             txt(a.timing) + _b(mark(a.unverified, "timing"))] for a in r.adjuncts]))
    parts.append("<h2>Monitoring checklist</h2>" + _table(["", "what", "when"], [
        ["<span class='box'></span>", txt(m.what) + _b(rest(m.unverified, ("when",))),
         txt(m.when) + _b(mark(m.unverified, "when"))] for m in r.monitoring]))
    parts.append("<h2>Stop rules</h2>" + _table(["when", "action"], [
        [txt(s.when) + _b(rest(s.unverified, ("action",))),
         txt(s.action) + _b(mark(s.unverified, "action"))] for s in r.stop_rules]))
    rt = r.retreatment
    parts.append(f"<p class='small'><b>Retreatment:</b> minimum interval "
                 f"{txt(rt.minimum_interval) if rt.minimum_interval else 'not set by any guideline'}; "
                 f"{txt(rt.relief_lasted)} {txt(rt.liver_warning or '')}</p>")
    return parts


def _findings(findings) -> list:
    if not findings:
        return []
    return ["<h2>Limits and dosing notes</h2><ul class='small'>" + "".join(
        f"<li>{txt(f.rule)} ({txt(f.severity)}): {txt(f.message)}"
        + (f" <b>[UNVERIFIED: {txt(f.unverified)}]</b>" if f.unverified else "")
        + f" <span class='small'>[{txt(f.source)}]</span></li>" for f in findings) + "</ul>"]


def _chart(chart_svg) -> list:
    if not chart_svg:
        return []
    # inline SVG needs no namespace URL: the page holds no external reference at all
    inline = chart_svg.replace(' xmlns="http://www.w3.org/2000/svg"', "")
    return [f"<h2>Predicted plasma ketamine</h2>{inline}"]


def _sources(r) -> str:
    sources = "".join(f"<li>{txt(ev.citation)}{' ' + _q(f'PMID {ev.pmid}') if ev.pmid else ''}"
                      f"{' doi:' + txt(ev.doi) if ev.doi else ''} ({txt(ev.design)}, {txt(ev.result)})</li>"
                      for ev in r.evidence)
    return f"<h2>Sources</h2><ul class='small'>{sources}</ul>"
