"""Rule registry: every rule id ketadose can emit, with its documentation.

Each rule lives in a family module beside its check and is registered here
explicitly, so "is every rule documented?" is a one-line test. Limit rules
(KD-LIM-...) are data: they come from the limit library.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """A rule with its metadata: id, severity, documentation, source."""

    id: str
    name: str
    severity: str
    summary: str
    doc: str  # what it does, why, example (FAIL/PASS)
    source: str
    check: object = None  # callable(regimen) -> findings, for semantic rules


def rule(id, name, severity, source, check=None):
    """Register a check function; its docstring is the rule's documentation.

    ``rule(...)(fn)`` is a decorator. The safety core's rules (screening, regimen consistency)
    are registered with ``check=`` in their module's ``RULES`` table instead, the function left
    undecorated under its own name: mutation testing (mutmut) cannot mutate a decorated
    function.
    """
    def wrap(fn):
        doc = inspect.cleandoc(fn.__doc__ or "")
        return Rule(id, name, severity, doc.splitlines()[0], doc, source, fn)
    return wrap(check) if check is not None else wrap


def screening_rules() -> tuple:
    """Patient rules, in the order they are reported."""
    from ketadose.rules import contraindications, imported, interactions, monitoring

    return contraindications.RULES + interactions.RULES + monitoring.RULES + imported.RULES


def screening_reads() -> dict:
    """The patient fields each screening rule reads, by rule id (screen.Memo)."""
    from ketadose.rules import contraindications, imported, interactions, monitoring

    return {**contraindications.READS, **interactions.READS, **monitoring.READS,
            **imported.READS}


def screening_parts() -> dict:
    """The screening rules made of parts that read fewer fields, by rule id: ((part, the
    fields it reads), ...), whose outcomes one after the other are the rule's (screen.Memo)."""
    from ketadose.rules import interactions

    return dict(interactions.PARTS)


def registry() -> dict:
    from ketadose import gate
    from ketadose.rules import dosing
    from ketadose.rules import format as fmt
    from ketadose.rules import regimen as reg

    rules = (list(fmt.RULES) + list(reg.RULES) + list(screening_rules()) + list(dosing.RULES)
             + list(gate.RULES))
    return _by_id(rules)


def _by_id(rules) -> dict:
    """Rules by id; two rules with one id is our bug, caught even under `python -O` (which
    strips asserts)."""
    out: dict = {}
    for r in rules:
        if r.id in out:
            raise RuntimeError(f"rule id {r.id} is registered twice")
        out[r.id] = r
    return out
