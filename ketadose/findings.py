"""Finding: what a rule says about a regimen, a plan or a patient."""

from __future__ import annotations

from dataclasses import dataclass, replace

# Validation findings are error (blocks, exit 1), warning or info.
# Screening severities, most severe first: absolute and relative contraindications block.
SCREEN_SEVERITIES = ("absolute", "relative", "caution", "info")
# CDS Hooks card indicators for each severity.
INDICATOR = {"error": "critical", "warning": "warning", "info": "info",
             "absolute": "critical", "relative": "critical", "caution": "warning"}


@dataclass(frozen=True)
class Finding:
    """One finding: a stable rule id, a severity, a clinician's message, its source."""

    rule: str
    severity: str
    message: str
    source: str = ""
    path: tuple = ()  # where in the document; the shell turns it into file:line:col
    at_key: bool = False  # point at the key (unknown key) rather than at its value
    where: str | None = None  # "file:line:col" once located
    unverified: str | None = None  # the docs/evidence.md section when the rule rests on an UNVERIFIED number
    title: str = ""  # short rule title (CDS Hooks card summary context)

    @property
    def indicator(self) -> str:
        return INDICATOR.get(self.severity, "info")

    def located(self, where: str) -> Finding:
        return replace(self, where=where)

    def as_dict(self) -> dict:
        file, line, col = _split_where(self.where)
        return {
            "file": file, "line": line, "column": col, "rule": self.rule,
            "severity": self.severity, "indicator": self.indicator,
            "message": self.message, "source": self.source, "unverified": self.unverified,
        }


def _split_where(where):
    if not where:
        return None, None, None
    parts = where.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return parts[0], int(parts[1]), int(parts[2])
    return where, None, None

