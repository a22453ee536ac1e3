"""`validate --format json`: the findings of every file in order (a list), or with --explain
a mapping of the findings and, per file, the rules evaluated and the limits consulted."""

from __future__ import annotations

from ketadose.validation import Validation


def document(validation: Validation) -> list | dict:
    findings = [f.as_dict() for f in validation.findings]
    if not validation.explain:
        return findings
    return {"findings": findings, "explain": [
        {"file": v.ref,
         "rules_evaluated": [{"rule": r, "status": s}
                             for r, s in v.explain.get("rules_evaluated", [])],
         "limits_consulted": v.explain.get("limits_consulted", [])}
        for v in validation.files]}
