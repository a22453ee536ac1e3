"""`simulate --format json|csv` for one patient: the model, its parameters, per-day summaries,
time above thresholds and the concentration series."""

from __future__ import annotations

from ketadose import __version__
from ketadose.render.data import Rounded, Rows
from ketadose.simulation import Simulation

# model and status (with every UNVERIFIED/assumed entry) on every row, as the population CSV
CSV_COLUMNS = ("t_h", "ketamine_ng_per_ml", "norketamine_ng_per_ml", "model", "status")


def document(run: Simulation, series: bool = True) -> dict:
    res, plan = run.result, run.plan
    params = res.params.as_dict()
    if res.ka is not None:
        params.update({"ka_per_min": res.ka, "f": res.f})
    data = {
        "ketadose_version": __version__,
        "regimen": {"id": run.regimen.id, "sha256": run.sha256, "drug": run.regimen.drug},
        "model": {"id": res.model.id, "name": res.model.name, "citation": res.model.citation,
                  "drug": res.model.drug, "status": res.model.status,
                  "population": res.model.population, "covariates": res.model.covariates,
                  "weight_kg": plan.weight.actual_kg, "parameters": params,
                  "absorption_source": res.absorption_source},
        "route": res.route,
        "days": [{k: (round(v, 4) + 0.0 if isinstance(v, float) else v) for k, v in d.items()}
                 for d in res.days],
        "thresholds": [{**t, "hours_above": round(t["hours_above"], 4) + 0.0}
                       for t in res.thresholds],
        "bands_note": "display bands are a synthesis, not a source (docs/evidence.md PK2)",
        "notes": list(res.notes), "warnings": list(res.warnings),
        "unverified": list(_marks(run)),
    }
    if series:
        nk = res.norketamine
        data["series"] = Rows({  # series_columns(res, None), rounded as it is written
            "t_h": Rounded(res.t_h, 6), "ketamine_ng_per_ml": Rounded(res.ketamine, 4),
            "norketamine_ng_per_ml": [None] * len(res.t_h) if nk is None else Rounded(nk, 4)})
    if run.explain:
        data["explain"] = list(run.explain)
    return data


def series_columns(res, missing) -> dict:
    """t_h, ketamine and norketamine as Python floats, each rounded by round() (correctly
    rounded decimals, unlike numpy's round; + 0.0 turns a negative zero, a value that rounds
    to 0 from below, into 0.0); `missing` where the model has no norketamine.
    Written column-wise (render.data.Rows): the same text as a list of dicts, without encoding
    each point in Python (issue 18)."""
    t_h = [round(t, 6) + 0.0 for t in res.t_h.tolist()]
    nk = res.norketamine
    return {"t_h": t_h,
            "ketamine_ng_per_ml": [round(c, 4) + 0.0 for c in res.ketamine.tolist()],
            "norketamine_ng_per_ml": [missing] * len(t_h) if nk is None else
            [round(c, 4) + 0.0 for c in nk.tolist()]}


def _marks(run: Simulation) -> tuple:
    """The model's status unless verified, an assumed absorption, the template's UNVERIFIED
    dose and schedule fields."""
    from ketadose.simulation import result_marks

    return result_marks(run.plan, run.result)


def csv_rows(run: Simulation) -> list:
    columns = series_columns(run.result, "")
    n = len(columns["t_h"])
    marks = _marks(run)
    status = run.result.model.status + ("; " + " | ".join(marks) if marks else "")
    return Rows({**columns, "model": [run.result.model.id] * n, "status": [status] * n}).as_list()
