"""`ketadose models` as a terminal table: (ModelCatalogue, stream)."""

from __future__ import annotations

from typing import TextIO

from ketadose.pk.catalogue import ModelCatalogue, ModelEntry


def models_table(result: ModelCatalogue, stream: TextIO) -> None:
    from ketadose.render.table import console, table

    console(file=stream).print(table("Pharmacokinetic models", [
        ("id", {"no_wrap": True}), ("drug", {"no_wrap": True}), ("status", {"no_wrap": True}),
        ("population", {"ratio": 1}), ("CL L/min", {"no_wrap": True}),
        ("Css/(mg/h)", {"no_wrap": True}), ("citation and notes", {"ratio": 3})],
        [(m.id + (" (default)" if m.default_for else ""), m.drug, m.status, m.population,
          f"{m.clearance_l_per_min_70kg:.2f}", f"{m.css_ng_per_ml_per_mg_per_h:.2f} ng/mL",
          f"{m.citation}. {m.notes}" + _variability_text(m))
         for m in result.models]))


def _variability_text(m: ModelEntry) -> str:
    if not m.variability:
        return " No published between-patient variability: not usable with --population."
    text = " Between-patient variability (--population): " + ", ".join(
        f"{v.parameter} {v.cv_percent:g}% ({v.status})" for v in m.variability) + "."
    if m.population_default_for:
        text += " Default for --population (" + ", ".join(m.population_default_for) + ")."
    return text
