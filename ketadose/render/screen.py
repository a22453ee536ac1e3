"""The screen as terminal tables (shown by `check` and at the top of a plan)."""

from __future__ import annotations

STATUS_STYLE = {"contraindicated": "bold white on red", "incomplete": "bold black on yellow",
                "caution": "bold yellow", "clear": "bold green"}


def render_screen(screen, regimen, out=None) -> None:
    """The screen on ``out`` (a console; default: one on the command's output stream)."""
    from ketadose.render.table import SEVERITY_STYLE, console, line, styled, table

    if out is None:
        out = console()
    what = f"for {regimen.id} ({regimen.drug}, {regimen.route})" if regimen else "for ketamine"
    out.print(line(f"Screen {what}: ", (f" {screen.status.upper()} ", STATUS_STYLE[screen.status])))
    if screen.override:
        out.print(line(("Override recorded:", "bold"), f" {screen.override}"))
        if screen.absolute:
            out.print(line(("The override is not applied:", "bold red"), " an absolute "
                           f"contraindication ({', '.join(sorted({f.rule for f in screen.absolute}))})"
                           " cannot be overridden."))
    if screen.findings:
        out.print(table("Findings (most severe first)", [
            ("severity", {"no_wrap": True}), ("rule", {"no_wrap": True}), ("finding", {"ratio": 3}),
            ("source", {"ratio": 2})],
            [(styled(f.severity, SEVERITY_STYLE.get(f.severity, "")), f.rule,
              line((f.title, "bold"), f": {f.message}",
                   *([(" UNVERIFIED: ", "bold"), f.unverified] if f.unverified else [])),
              f.source) for f in screen.findings]))
    if screen.not_assessed:
        out.print(table("Not assessed: answer these before calling the screen clear",
                        [("question", {"ratio": 3}), ("needed by", {"ratio": 1})],
                        [(q, ", ".join(rules)) for q, rules in screen.questions]))
    if not screen.findings and not screen.not_assessed:
        out.print("No rule fired and every rule was assessed.")


def render_explain(explain: dict) -> None:
    """`--explain`: the rules evaluated and the inputs they used."""
    from ketadose.render.table import console, table

    console().print(table("Rules evaluated (--explain)", [
        ("rule", {"no_wrap": True}), "rule name", ("result", {"no_wrap": True}), "source"],
        [(r["rule"], r["name"], r["status"], r["source"]) for r in explain["rules_evaluated"]]))
    console().print(table("Inputs used", ["input", "value", "from"],
                          [(i["input"], str(i["value"]), i["from"]) for i in explain["inputs"]]))
