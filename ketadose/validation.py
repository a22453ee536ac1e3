"""The result of `ketadose validate`: each file's located findings (and, with --explain, the
rules it evaluated and the limits it consulted), with the counts and exit code they make."""

from __future__ import annotations

from dataclasses import dataclass, field

from ketadose.findings import Finding


@dataclass(frozen=True)
class FileValidation:
    """What validating one file found."""

    ref: str  # as the user named it: a path, an id, or '-'
    findings: tuple[Finding, ...]
    # --explain: {"rules_evaluated": [(rule, status)], "limits_consulted": [...]}; {} when the
    # file stopped before any rule ran (unreadable YAML)
    explain: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Validation:
    """What validating the files of one command found."""

    files: tuple[FileValidation, ...]
    explain: bool = False

    @property
    def findings(self) -> list[Finding]:
        return [f for v in self.files for f in v.findings]

    def count(self, severity: str) -> int:
        return sum(f.severity == severity for f in self.findings)

    @property
    def invalid(self) -> int:
        """Files with at least one error."""
        return sum(any(f.severity == "error" for f in v.findings) for v in self.files)

    @property
    def exit_code(self) -> int:
        return 1 if self.invalid else 0
