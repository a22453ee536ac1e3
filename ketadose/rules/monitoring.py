"""Monitoring duties (KD-MON-...): what a course obliges the team to check."""

from __future__ import annotations

from ketadose.findings import Finding
from ketadose.questions import ask
from ketadose.rules import rule
from ketadose.rules.sources import COHEN_SHORT, NOPPERS
from ketadose.screen import Missing

AAPRACT = "A A Pract 2020;14(8):e01239, PMID 32643900"
COHEN_TESTS = f"{COHEN_SHORT} (pre-infusion testing)"


def _span(days: float) -> str:
    """28 -> '4 weeks'; days otherwise."""
    return f"{days / 7:g} weeks" if days % 7 == 0 else f"{days:g} days"


def previous_question(ctx) -> str:
    return f"Has the patient had ketamine courses before ({ask('previous_courses', ctx)})?"


def liver_monitoring(patient, ctx):
    """Prolonged (> 3 days) or repeated courses need liver tests before, during and after.

    A single short infusion needs none unless the patient has liver risk (consensus). Noppers
    2011: 3 of 6 patients developed liver injury on a second 100-h course; a case report saw
    major rises within 2 days of a repeat infusion and advises tests every 1-2 days.

    FAIL (caution): a 10-day course, or any course after a previous one
    PASS: one 4-h session, no previous course
    """
    prolonged = ctx.prolonged()
    if not prolonged and patient.previous_courses is None:
        # a known prolonged course needs monitoring whatever came before
        return Missing(previous_question(ctx)) if prolonged is None else None
    repeated = bool(patient.previous_courses)
    if not (prolonged or repeated):
        return None
    route = ctx.route
    infusion = route in ("iv", "sc", "im") or route is None
    if prolonged:
        days = f"{ctx.th.value('prolonged-course-days'):g} days"
        why = (f"a continuous infusion of more than {days}" if ctx.regimen.pattern == "continuous"
               else f"infusions on more than {days} (frequent dosing)" if infusion
               else f"a daily {route} course of more than {days}")
    else:
        why = "a repeated course"
    why = why[0].upper() + why[1:]
    stop = f"stop at {ctx.th.value('liver-enzyme-uln-multiple'):g} x the upper limit."
    if infusion:
        return [Finding("KD-MON-001", "caution",
                        f"{why}: check ALT, AST, ALP and GGT before starting, every 1-2 days "
                        f"during infusions and after the course; {stop}",
                        f"{NOPPERS}; {AAPRACT}", title="Liver monitoring")]
    # The every-1-2-days advice comes from repeat infusions (A A Pract 2020); for other routes
    # the sources give only "baseline and after" (Cohen B4), and say so.
    extra = ("; systemic absorption of topical ketamine is minimal (Sawynok 2016, PMID 26809783)"
             if route == "topical" else "")
    return [Finding("KD-MON-001", "caution",
                    f"{why}: check ALT, AST, ALP and GGT before starting and after the course; no "
                    f"testing interval during a {route} course is published{extra}; {stop}",
                    f"{COHEN_TESTS}; {NOPPERS}" + ("; Sawynok J, Zinger C. Expert Opin Pharmacother "
                                             "2016;17(4):601-9, PMID 26809783"
                                             if route == "topical" else ""),
                    title="Liver monitoring")]


def repeat_interval(patient, ctx):
    """A new course within 16 days of a prolonged one (relative without liver clearance), or
    within 4 weeks (caution).

    Noppers 2011 gave the second 100-h course 16 days after the first. No guideline sets a
    minimum interval; these thresholds come from the proposal in docs/evidence.md F2.

    FAIL: previous_courses: [{ended: <10 days ago>, hours: 100 h}]
    PASS: previous_courses: [{ended: <6 months ago>}]
    """
    if patient.previous_courses is None:
        return Missing(previous_question(ctx))
    out = []
    th = ctx.th
    long_h = th.value("long-previous-course-hours")
    for course in patient.previous_courses:
        days = (ctx.today - course.ended).days  # >= 0: a future end is an input error
        long_course = course.hours is None or th.fires("long-previous-course-hours",
                                                       course.hours.magnitude("h"))
        if not long_course or not th.fires("repeat-interval-caution-days", days):
            continue
        hours = f"of unknown length (treated as >= {long_h:g} h)" if course.hours is None else \
            f"of {course.hours}"
        if th.fires("repeat-interval-relative-days", days) and patient.liver is None:
            out.append(Finding("KD-MON-002", "relative", f"A course {hours} ended {days} days ago: "
                               "a repeat 100-h course 16 days later injured the liver in 3 of 6 "
                               "patients; do not start without liver tests and a recorded reason.",
                               NOPPERS, title="Repeat course too soon"))
        else:
            out.append(Finding("KD-MON-002", "caution", f"A course {hours} ended {days} days ago "
                               f"(under {_span(th.value('repeat-interval-caution-days'))}): check "
                               "liver tests before and during this course.",
                               f"{NOPPERS}; docs/evidence.md F2 (proposal)", title="Repeat course soon"))
    return out


RULES = (
    rule(
        "KD-MON-001", "liver-monitoring", "caution", f"{NOPPERS}; {AAPRACT}; {COHEN_TESTS}",
        check=liver_monitoring),
    rule(
        "KD-MON-002", "repeat-course-interval", "relative", NOPPERS,
        check=repeat_interval),
)


# The patient fields each rule reads (see contraindications.READS).
READS = {
    "KD-MON-001": ("previous_courses",),
    "KD-MON-002": ("previous_courses", "liver"),
}
