"""The screen as the documented JSON contract (the `check` document's body, a plan's `screen`)."""

from __future__ import annotations


def screen_data(screen) -> dict:
    """The screen as the documented JSON contract."""
    return {
        "status": screen.status,
        "blocking": screen.blocking,
        "findings": [{"rule": f.rule, "severity": f.severity, "indicator": f.indicator,
                      "title": f.title, "message": f.message, "source": f.source,
                      "unverified": f.unverified}
                     for f in screen.findings],
        "not_assessed": [{"rule": rid, "question": q} for rid, q in screen.not_assessed],
        "override": screen.override,
        # false when an absolute contraindication is present: no reason lifts it
        "override_applied": screen.override_applied,
    }
