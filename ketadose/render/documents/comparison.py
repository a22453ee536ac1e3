"""`compare --format json|yaml`: regimens side by side for one patient, or on the same
virtual patients (`--population N`, kind "population-compare")."""

from __future__ import annotations

import dataclasses
from typing import Any

from ketadose import __version__
from ketadose.render.documents.population import FORMAT_VERSION, pct_dict, r4, threshold
from ketadose.simulation import (
    Comparison,
    PopulationCompared,
    PopulationComparison,
    regimen_of,
    template_marks,
)


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
    """The `compare --population` contract (`ketadose schema compare-population`); "explain"
    only when asked for (--explain)."""
    n, seed = comparison.n, comparison.seed
    out = {"ketadose_version": __version__, "format_version": FORMAT_VERSION,
           "kind": "population-compare", "population": {"n": n, "seed": seed,
                                                        "common_random_numbers": True},
           "regimens": [_row(c, n, seed) for c in comparison.regimens]}
    if comparison.explain:
        out["explain"] = population_explanation(comparison)
    return out


PERCENTILE_METHOD = ("numpy.percentile, linear interpolation between the order statistics "
                     "(numpy's default), over the N virtual patients")


def population_explanation(comparison: PopulationComparison) -> dict:
    """How the population summary was derived: what was drawn (N, seed, generator), what each
    model lets vary and by how much as published, what was held, how each measure and its
    percentiles were computed."""
    from ketadose.pk.popmodels import CV_CONVENTION, omega2
    from ketadose.simulation import COMPARE_POPULATION_GRID_MIN

    n, seed = comparison.n, comparison.seed
    models: dict[str, dict] = {}
    for c in comparison.regimens:
        res = c.result
        if res is None:
            continue
        entry = models.setdefault(res.model.id, {
            "model": res.model.id, "status": res.model.status, "citation": res.model.citation,
            "regimens": [], "covariates": res.pop.scaling,
            "held": {"weight_kg": res.weight_kg},
            "typical_units": getattr(res.pop, "units", "clearances L/min, volumes L (for this "
                                                       "weight)"),
            "varying": [{"parameter": k, "typical": r4(res.typical[k], 6) if k in res.typical
                         else None, "cv_percent": r4(v.value * 100, 2),
                         "omega2": r4(omega2(v.value), 5), "status": v.status, "source": v.source}
                        for k, v in res.pop.iiv.items()],
            "correlations": [{"parameters": [a, b], "r": r.value, "status": r.status,
                              "source": r.source} for a, b, r in res.pop.correlations],
            "residual_error": "not applied: percentiles are of predicted concentrations, "
                              "without assay or residual error"})
        entry["regimens"].append(regimen_of(c.plan).id)
    return {
        "virtual_patients": (f"{n:,} virtual patients drawn with seed {seed} by numpy PCG64 "
                             "(numpy.random.default_rng(seed)): one standard-normal row per "
                             "patient, one column per varying parameter in the model's order, "
                             "times the Cholesky factor of Omega; each parameter = its typical "
                             "value for this patient x exp(eta)"),
        "common_random_numbers": ("every regimen that uses the same model gets the same "
                                  "virtual patients (same seed, same draws), so a difference "
                                  "between them comes from the regimen"),
        "variability_convention": CV_CONVENTION,
        "models": list(models.values()),
        "grid_min": COMPARE_POPULATION_GRID_MIN,
        "percentiles": PERCENTILE_METHOD,
        "measures": {
            "peak": "each virtual patient's highest ketamine concentration over the course and "
                    "the day after, every dose at its maximum (output every "
                    f"{COMPARE_POPULATION_GRID_MIN:g} min plus every input change)",
            "course_auc": "each virtual patient's ketamine AUC over the course and the day "
                          "after, exact (closed form, not a trapezoid)",
            "peak_ratio_to_first": "patient by patient, the peak under this regimen divided by "
                                   "the same virtual patient's peak under the first regimen "
                                   "(only where both use the same model)",
            "p_peak_above": "the share of virtual patients whose peak is above the threshold, "
                            "with its Wilson 95% interval (the sampling error of N draws)",
            "p_never_above": "1 - p_peak_above"},
    }


def _row(c: PopulationCompared, n: int, seed: int) -> dict:
    r = regimen_of(c.plan)
    row: dict[str, Any] = {"id": r.id, "drug": r.drug, "route": r.route, "model": None, "model_status": None,
           "n": n, "seed": seed, "peak_ng_per_ml": None, "course_auc_ng_h_per_ml": None,
           "thresholds": [], "peak_ratio_to_first": None, "unverified": [], "note": c.note}
    res = c.result
    if res is not None:
        row.update(model=res.model.id, model_status=res.model.status,
                   peak_ng_per_ml=pct_dict(c.peak), course_auc_ng_h_per_ml=pct_dict(c.course_auc),
                   thresholds=[threshold(t) for t in res.thresholds],
                   unverified=list(dict.fromkeys(tuple(res.marks) + template_marks(c.plan))))
        if c.peak_ratio_to_first is not None:
            row["peak_ratio_to_first"] = pct_dict(c.peak_ratio_to_first)
    return row


POPULATION_CSV_COLUMNS = ["regimen", "drug", "route", "model", "model_status", "n", "seed",
                          "measure", "day", "unit", "p5", "p25", "p50", "p75", "p95",
                          "threshold", "threshold_ng_per_ml", "value", "ci95_low", "ci95_high",
                          "source", "unverified", "note"]


def population_csv_rows(comparison: PopulationComparison) -> tuple[list[dict], list[str]]:
    """`compare --population --format csv`: one row per regimen and measure (peak, course AUC,
    ratio to the first regimen, each day's Cmax and AUC, each threshold's chances), the
    percentiles in columns p5-p95; every row carries the model's status and every UNVERIFIED or
    assumed entry behind it. docs/pk-population.md lists the columns."""
    doc = population_document(comparison)
    rows = []
    for c, r in zip(comparison.regimens, doc["regimens"]):
        base = {"regimen": r["id"], "drug": r["drug"], "route": r["route"], "model": r["model"],
                "model_status": r["model_status"], "n": r["n"], "seed": r["seed"],
                "unverified": " | ".join(r["unverified"])}
        if r["model"] is None:
            rows.append({**base, "measure": "not simulated", "note": r["note"]})
            continue
        for measure, unit in (("peak", "ng/mL"), ("course_auc", "ng.h/mL"),
                              ("peak_ratio_to_first", "ratio")):
            pct = r[{"peak": "peak_ng_per_ml", "course_auc": "course_auc_ng_h_per_ml"}
                    .get(measure, measure)]
            if pct is not None:
                rows.append({**base, "measure": measure, "unit": unit, **pct})
        for d in c.result.days:
            for measure, key, unit in (("cmax", "cmax_ng_per_ml", "ng/mL"),
                                       ("auc", "auc_ng_h_per_ml", "ng.h/mL"),
                                       ("norketamine_cmax", "norketamine_cmax_ng_per_ml", "ng/mL"),
                                       ("norketamine_auc", "norketamine_auc_ng_h_per_ml",
                                        "ng.h/mL")):
                if key in d:
                    rows.append({**base, "measure": measure, "day": d["day"], "unit": unit,
                                 **pct_dict(d[key])})
        for t in r["thresholds"]:
            th = {"threshold": t["name"], "threshold_ng_per_ml": t["ng_per_ml"],
                  "source": t["source"]}
            rows.append({**base, "measure": "p_peak_above", "unit": "fraction", **th,
                         "value": t["p_peak_above"], "ci95_low": t["p_peak_above_ci95"][0],
                         "ci95_high": t["p_peak_above_ci95"][1]})
            rows.append({**base, "measure": "p_never_above", "unit": "fraction", **th,
                         "value": t["p_never_above"]})
            if "hours_above" in t:
                rows.append({**base, "measure": "hours_above", "unit": "h", **th,
                             **t["hours_above"]})
    columns = list(POPULATION_CSV_COLUMNS)
    if comparison.explain:
        columns.append("explain")
        for row in rows:
            row["explain"] = _explain_cell(row, doc["explain"])
    return rows, columns


def _explain_cell(row: dict, explain: dict) -> str:
    """The derivation of one CSV row in words: the draw, the model's varying parameters as
    published, the measure and the percentile method."""
    if row.get("model") is None:
        return ""
    model = next(m for m in explain["models"] if m["model"] == row["model"])
    varying = ", ".join(f"{v['parameter']} CV {v['cv_percent']:g}% ({v['status']})"
                        for v in model["varying"])
    measure = row["measure"]
    how = explain["measures"].get(measure) or {
        "cmax": "each virtual patient's highest ketamine concentration that day",
        "auc": "each virtual patient's ketamine AUC that day, exact",
        "norketamine_cmax": "each virtual patient's highest norketamine concentration that day",
        "norketamine_auc": "each virtual patient's norketamine AUC that day, exact",
        "hours_above": "each virtual patient's hours above the threshold, linear between "
                       "output points"}[measure]
    pct = "" if measure.startswith("p_") else f"; percentiles: {explain['percentiles']}"
    return (f"{explain['virtual_patients']}; varying ({model['model']}): {varying or 'none'}; "
            f"held: weight {model['held']['weight_kg']:g} kg; {measure}: {how}{pct}")
