"""`ketadose validate`: findings per file, one line each, then a summary."""

from __future__ import annotations

from ketadose.errors import KetadoseError
from ketadose.findings import Finding
from ketadose.io.library import limit_library
from ketadose.io.regimens import resolve
from ketadose.render.data import to_json
from ketadose.render.diag import emit, emit_line, quiet
from ketadose.render.text import github_data, github_property, terminal_safe
from ketadose.validate import validate


def findings_for(ref: str, dirs, explain: dict | None = None) -> list:
    """Located findings for one file; unreadable files raise KetadoseError (exit 2)."""
    from ketadose.io.files import read_bytes
    from ketadose.io.regimens import looks_like_path
    from ketadose.io.yamlsrc import decode, load_text

    if looks_like_path(ref):
        raw = read_bytes(ref)  # not found / too big: exit 2, the file could not be read
        name = "<stdin>" if ref == "-" else ref
        try:
            doc = load_text(decode(raw, name), name)
        except KetadoseError as exc:  # the content is the finding: exit 1
            return [Finding("KD-V001", "error", exc.message, "YAML 1.2 / ketadose format v1",
                            where=exc.where or f"{name}:1:1")]
    else:
        doc = resolve(ref, dirs).doc
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else "a single value"
        return [Finding("KD-V001", "error", f"the document is {kind}; a regimen is a mapping of keys",
                        "ketadose regimen format v1", where=doc.where(()))]
    _regimen, findings = validate(doc.data, limit_library(), explain)
    located = [f.located(doc.where(f.path, f.at_key)) for f in findings]
    return sorted(located, key=_order)


def _order(f):
    _file, line, col = (f.as_dict()[k] for k in ("file", "line", "column"))
    return (line or 0, col or 0, f.rule)


def run(refs, fmt, dirs, explain=False) -> int:
    from ketadose.io.regimens import expand_folders

    refs = expand_folders(refs)
    explained = {ref: {} for ref in refs} if explain else {}
    results = [(ref, findings_for(ref, dirs, explained.get(ref))) for ref in refs]
    everything = [f for _ref, fs in results for f in fs]
    if fmt == "json" and explain:
        emit(to_json({"findings": [f.as_dict() for f in everything], "explain": [
            {"file": ref, "rules_evaluated": [{"rule": r, "status": s} for r, s in
                                              e.get("rules_evaluated", [])],
             "limits_consulted": e.get("limits_consulted", [])} for ref, e in explained.items()]}))
    elif fmt == "json":
        emit(to_json([f.as_dict() for f in everything]))
    elif fmt == "github":
        for f in everything:
            d = f.as_dict()
            level = {"error": "error", "warning": "warning"}.get(f.severity, "notice")
            # escaped as GitHub's toolkit does: a file name with a newline or '::' cannot
            # start a second workflow command
            emit_line(f"::{level} file={github_property(d['file'] or '')},line={d['line']},"
                      f"col={d['column']},title={github_property(f.rule)}::"
                      f"{github_data(f.message)}")
    else:
        for f in everything:
            tag = f" [UNVERIFIED basis: {f.unverified}]" if f.unverified else ""
            emit_line(f"{terminal_safe(f.where, newlines=False)}: {f.severity} {f.rule} "
                      f"{f.message}{tag}")
        errors = sum(f.severity == "error" for f in everything)
        warnings = sum(f.severity == "warning" for f in everything)
        bad = sum(any(f.severity == "error" for f in fs) for _r, fs in results)
        for ref, e in explained.items():
            emit_line(f"{ref}: rules evaluated: " + ", ".join(
                f"{r} {s}" for r, s in e.get("rules_evaluated", [])))
            for c in e.get("limits_consulted", []):
                emit_line(f"{ref}: limit {c['rule']} {c['what']}: {c['value']:.4g} {c['unit']} vs "
                           f"soft {c['soft']}, hard {c['hard']} -> {c['outcome']} [{c['source']}]")
        if not quiet():
            emit_line(f"{len(results)} file(s) checked: {errors} error(s), {warnings} warning(s); "
                       f"{'all valid' if not bad else f'{bad} invalid'}")
    return 1 if any(f.severity == "error" for f in everything) else 0

