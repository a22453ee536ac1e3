"""A plan in the machine formats: the contract (render/documents/plan.py) as JSON or YAML, and
flattened to CSV rows. Each writer takes a PlanResult and the output stream."""

from __future__ import annotations

from ketadose.render.data import to_csv, to_json, to_yaml
from ketadose.render.documents.plan import blocking, document

CSV_COLUMNS = ("day", "session", "phase", "kind", "conditional", "rate_mg_per_h",
               "rate_mg_per_h_max", "rate_per_kg_per_h", "rate_ml_per_h", "rounding_error_mg_per_h",
               "duration_h", "dose_mg", "cap_binds", "criteria", "rate_mg_per_h_delivered",
               "rounding_error_pct", "findings", "unverified", "regimen_unverified")


def write_json(result, stream) -> None:
    stream.write(to_json(document(result)))


def write_yaml(result, stream) -> None:
    stream.write(to_yaml(document(result)))


def write_csv(result, stream) -> None:
    rows = blocked_rows(result) if result.blocked else csv_rows(document(result))
    stream.write(to_csv(rows, CSV_COLUMNS))


def blocked_rows(result) -> list:
    """A blocked plan has no phase to put in a row: one row per finding that blocks it, marked
    ``kind`` "blocked" with no dose, the finding's rule, severity and message in ``findings``
    (a script that reads phases sees none; one that reads the file alone still sees why)."""
    return [{"phase": "no plan", "kind": "blocked",
             "findings": f"{f.rule} {f.severity}: {f.message}"} for f in blocking(result)]


def csv_rows(data: dict) -> list:
    """One row per phase of each session of a plan document; every row carries the plan's
    findings (rule and severity), so a script reading the CSV alone still sees them."""
    from ketadose.render.marks import text as marks_text

    rows = []
    findings = "; ".join(f"{w['rule']} {w['severity']}" for w in data["warnings"])
    others = "; ".join(f"{u['where']} {u['field']}: {u['why']}" for u in data.get("unverified", ())
                       if not u["where"].startswith("phase "))
    for s in data["sessions"]:
        for p in s["phases"]:
            rows.append({"day": s["day"], "session": s["index"], "phase": p["name"], "kind": p["kind"],
                         "conditional": p["conditional"], "rate_mg_per_h": p["rate_mg_per_h"],
                         "rate_mg_per_h_max": p["rate_mg_per_h_max"],
                         "rate_per_kg_per_h": p["rate_mg_per_kg_per_h"],
                         "rate_ml_per_h": p["rate_ml_per_h"],
                         "rounding_error_mg_per_h": p["rounding_error_mg_per_h"],
                         "duration_h": p["duration_h"], "dose_mg": p["dose_mg"],
                         "cap_binds": p["cap_binds"], "criteria": p["criteria"],
                         "rate_mg_per_h_delivered": p["rate_mg_per_h_delivered"],
                         "rounding_error_pct": p["rounding_error_pct"], "findings": findings,
                         # the phase's own UNVERIFIED numbers, then the rest of the regimen's
                         "unverified": marks_text(p["unverified"]), "regimen_unverified": others})
    return rows
