"""Imported records (KD-IN-...): what a FHIR import could not map keeps the screen incomplete.

A condition, medicine or allergy the mapping tables do not know may be a contraindication or an
interaction: it is never dropped. Each becomes a question a clinician answers by editing the
record (adding the vocabulary id, or removing the entry once judged irrelevant).
"""

from __future__ import annotations

from ketadose.rules import rule
from ketadose.screen import Missing

SOURCE = "ketadose FHIR import (docs/fhir-and-cds-hooks.md): unmapped entries are never dropped"


def not_understood(patient, ctx):
    """Entries of an imported record that no mapping table understands.

    FAIL: not_understood: [{text: "condition Fibromyalgia (SNOMED CT 203082005)", source: Condition/c1}]
    PASS: not_understood: []
    """
    return [Missing(f"The imported record has {text!r}" + (f" ({source})" if source else "")
                    + ", which ketadose does not understand: is it a condition, medicine or "
                    "allergy from `ketadose vocabulary`? Answer it in the record.")
            for text, source in patient.not_understood] or None


RULES = (
    rule("KD-IN-001", "imported-entries-understood", "info", SOURCE,
                          check=not_understood),
)


# The patient fields each rule reads (see contraindications.READS).
READS = {"KD-IN-001": ("not_understood",)}
