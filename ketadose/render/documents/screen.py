"""The screen as the documented JSON contract (the `check` document's body, a plan's `screen`)."""

from __future__ import annotations


def screen_data(screen) -> dict:
    """The screen as the documented JSON contract."""
    return {
        "status": screen.status,
        "blocking": screen.blocking,
        "findings": [finding_data(f) for f in screen.findings],
        "not_assessed": [question_data(rid, q) for rid, q in screen.not_assessed],
        "override": screen.override,
        # false when an absolute contraindication is present: no reason lifts it
        "override_applied": screen.override_applied,
    }


def finding_data(f) -> dict:
    """One finding of a screen."""
    return {"rule": f.rule, "severity": f.severity, "indicator": f.indicator, "title": f.title,
            "message": f.message, "source": f.source, "unverified": f.unverified}


def question_data(rule_id: str, question: str) -> dict:
    """One rule not assessed, with the question that would let it be."""
    return {"rule": rule_id, "question": question}
