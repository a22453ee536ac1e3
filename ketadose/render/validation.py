"""`validate` as text lines (file:line:col: severity rule message) or GitHub workflow
commands, written to the stream given."""

from __future__ import annotations

from ketadose.render.text import github_data, github_property, terminal_safe
from ketadose.validation import Validation

TYPE_CHECKING = False  # typing itself is not imported at run time (start-up, issue 18)
if TYPE_CHECKING:
    from typing import TextIO


def _line(stream: TextIO, text: str) -> None:
    stream.write(terminal_safe(text) + "\n")


def text(validation: Validation, stream: TextIO, summary: bool = True) -> None:
    """One line per finding, the --explain lines per file, then (unless quiet) a summary."""
    for f in validation.findings:
        tag = f" [UNVERIFIED basis: {f.unverified}]" if f.unverified else ""
        _line(stream, f"{terminal_safe(str(f.where), newlines=False)}: {f.severity} {f.rule} "
                      f"{f.message}{tag}")
    for v in validation.files if validation.explain else ():
        _line(stream, f"{v.ref}: rules evaluated: " + ", ".join(
            f"{r} {s}" for r, s in v.explain.get("rules_evaluated", [])))
        for c in v.explain.get("limits_consulted", []):
            _line(stream, f"{v.ref}: limit {c['rule']} {c['what']}: {c['value']:.4g} {c['unit']} "
                          f"vs soft {c['soft']}, hard {c['hard']} -> {c['outcome']} "
                          f"[{c['source']}]")
    if summary:
        bad = validation.invalid
        _line(stream, f"{len(validation.files)} file(s) checked: {validation.count('error')} "
                      f"error(s), {validation.count('warning')} warning(s); "
                      f"{'all valid' if not bad else f'{bad} invalid'}")


def github(validation: Validation, stream: TextIO) -> None:
    """GitHub Actions workflow commands, escaped as GitHub's toolkit does: a file name with a
    newline or '::' cannot start a second workflow command."""
    for f in validation.findings:
        d = f.as_dict()
        level = {"error": "error", "warning": "warning"}.get(f.severity, "notice")
        _line(stream, f"::{level} file={github_property(d['file'] or '')},line={d['line']},"
                      f"col={d['column']},title={github_property(f.rule)}::"
                      f"{github_data(f.message)}")
