"""`compare --format json|yaml`: regimens side by side for one patient, or on the same
virtual patients (`--population N`, kind "population-compare")."""

from __future__ import annotations

import dataclasses
from typing import Any

from ketadose import __version__
from ketadose.render.documents.population import FORMAT_VERSION, pct_dict, threshold
from ketadose.simulation import Comparison, PopulationCompared, PopulationComparison, regimen_of


def document(comparison: Comparison) -> dict:
    return {"ketadose_version": __version__, "regimens": [_one(r) for r in comparison.regimens]}


def _one(row) -> dict:
    """A regimen's fields; "explain" only when asked for (--explain)."""
    out = dataclasses.asdict(row)
    if out["explain"] is None:
        del out["explain"]
    return out


def csv_rows(comparison: Comparison) -> tuple[list[dict], list[str]]:
    """`compare --format csv`: one row per regimen, the document's fields (explain_* columns
    with --explain)."""
    rows = []
    for r in document(comparison)["regimens"]:
        explain = r.pop("explain", None) or {}
        rows.append({**r, **{f"explain_{k}": v for k, v in explain.items()}})
    columns = list(dict.fromkeys(k for row in rows for k in row))
    return rows, columns


def population_document(comparison: PopulationComparison) -> dict:
    n, seed = comparison.n, comparison.seed
    return {"ketadose_version": __version__, "format_version": FORMAT_VERSION,
            "kind": "population-compare", "population": {"n": n, "seed": seed,
                                                         "common_random_numbers": True},
            "regimens": [_row(c, n, seed) for c in comparison.regimens]}


def _row(c: PopulationCompared, n: int, seed: int) -> dict:
    r = regimen_of(c.plan)
    row: dict[str, Any] = {"id": r.id, "drug": r.drug, "route": r.route, "model": None, "model_status": None,
           "n": n, "seed": seed, "peak_ng_per_ml": None, "course_auc_ng_h_per_ml": None,
           "thresholds": [], "peak_ratio_to_first": None, "unverified": [], "note": c.note}
    res = c.result
    if res is not None:
        row.update(model=res.model.id, model_status=res.model.status,
                   peak_ng_per_ml=pct_dict(c.peak), course_auc_ng_h_per_ml=pct_dict(c.course_auc),
                   thresholds=[threshold(t) for t in res.thresholds], unverified=list(res.marks))
        if c.peak_ratio_to_first is not None:
            row["peak_ratio_to_first"] = pct_dict(c.peak_ratio_to_first)
    return row
