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

    def with_path(self) -> str:
        """The message led by where it is ("conditions.0: unknown condition 'x'"), for outputs
        without a file's place (batch records, cards, import reports), naming the field once:
        most messages already start with it ("weight: '70' has no unit" was "weight: weight:")."""
        if not self.path:
            return self.message
        name = path_name(self.path)
        if self.message.startswith(name) and self.message[len(name):len(name) + 1] in (":", " "):
            return self.message
        return f"{'.'.join(str(p) for p in self.path)}: {self.message}"

    def as_dict(self) -> dict:
        file, line, col = _split_where(self.where)
        return {
            "file": file, "line": line, "column": col, "rule": self.rule,
            "severity": self.severity, "indicator": self.indicator,
            "message": self.message, "source": self.source, "unverified": self.unverified,
        }


def path_name(path) -> str:
    """A path in a document as messages name it: ``medications[0].dose``."""
    if not path:
        return "the document"
    text = ""
    for p in path:
        text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else str(p))
    return text


def _split_where(where):
    if not where:
        return None, None, None
    parts = where.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return parts[0], int(parts[1]), int(parts[2])
    return where, None, None

