"""JSON Schemas of the machine outputs (the stable contracts scripts rely on).

Fields may be added in later versions (additionalProperties is allowed); a field is never
renamed or removed without raising `format_version`. Tests check real outputs against these.
"""

from __future__ import annotations

_NUM = {"type": ["number", "null"]}
_STR = {"type": ["string", "null"]}
_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _obj(required: dict, optional: dict | None = None) -> dict:
    return {"type": "object", "required": list(required),
            "properties": {**required, **(optional or {})}}


FINDING = _obj({"file": _STR, "line": {"type": ["integer", "null"]},
                "column": {"type": ["integer", "null"]}, "rule": {"type": "string"},
                "severity": {"enum": ["error", "warning", "info"]},
                "indicator": {"enum": ["critical", "warning", "info"]},
                "message": {"type": "string"}, "source": {"type": "string"}},
               {"unverified": _STR, "title": {"type": "string"}})

SCREEN_FINDING = _obj({"rule": {"type": "string"},
                       "severity": {"enum": ["absolute", "relative", "caution", "info"]},
                       "indicator": {"enum": ["critical", "warning", "info"]},
                       "title": {"type": "string"}, "message": {"type": "string"},
                       "source": {"type": "string"}},
                      {"unverified": _STR})

SCREEN = _obj({"status": {"enum": ["contraindicated", "incomplete", "caution", "clear"]},
               "blocking": {"type": "boolean"}, "findings": {"type": "array", "items": SCREEN_FINDING},
               "not_assessed": {"type": "array", "items": _obj({"rule": {"type": "string"},
                                                                "question": {"type": "string"}})},
               "override": _STR},
              {"override_applied": {"type": "boolean", "description": (
                  "false when an absolute contraindication is present: no reason lifts it")}})

VALIDATE = {"$schema": _DRAFT, "title": "ketadose validate --format json",
            "type": "array", "items": FINDING}

CHECK = {"$schema": _DRAFT, "title": "ketadose check --format json",
         **_obj({"ketadose_version": {"type": "string"},
                 "regimen": {"anyOf": [{"type": "null"},
                                       _obj({"id": {"type": "string"}, "sha256": {"type": "string"}})]},
                 "patient": _obj({"id": _STR}), "date": {"type": "string"},
                 **SCREEN["properties"]})}

PHASE = _obj({"name": {"type": "string"}, "kind": {"type": "string"},
              "conditional": {"type": "boolean"}, "rate_mg_per_h": _NUM, "rate_ml_per_h": _NUM,
              "duration_h": _NUM, "dose_mg": _NUM},
             {"rate_mg_per_h_max": _NUM, "rate_mg_per_kg_per_h": _NUM, "cap_binds": {"type": "boolean"},
              "rounding_error_mg_per_h": _NUM, "steps": {"type": "array"}})

PLAN = {"$schema": _DRAFT, "title": "ketadose plan --format json",
        **_obj({"ketadose_version": {"type": "string"},
                "regimen": _obj({"id": {"type": "string"}, "sha256": {"type": "string"}},
                                {"title": {"type": "string"}}),
                "screen": SCREEN,
                "sessions": {"anyOf": [{"type": "null"}, {"type": "array", "items": _obj({
                    "day": {"type": "integer"}, "index": {"type": "integer"},
                    "conditional": {"type": "boolean"},
                    "phases": {"type": "array", "items": PHASE}, "dose_mg": _NUM})}]},
                "blocked": {"type": "boolean"}},
               {"format_version": {"const": 1}, "limits_version": {"type": "string"},
                "patient": _obj({"dosing_weight_kg": _NUM, "weight_basis": {"type": "string"}}),
                "totals": _obj({"max_session_mg": _NUM, "max_daily_mg": _NUM, "course_mg_min": _NUM,
                                "course_mg_max": _NUM}),
                "calendar": {"type": "array"}, "preparation": {"type": "object"},
                "adjuncts": {"type": "array"}, "monitoring": {"type": "array"},
                "stop_rules": {"type": "array"},
                "warnings": {"type": "array", "items": FINDING}, "override": _STR,
                "unverified": {"type": "array", "items": _obj({
                    "where": {"type": "string"}, "field": {"type": "string"},
                    "why": {"type": "string"}})}})}

BATCH_RECORD = {"$schema": _DRAFT, "title": "ketadose check|plan --patients FILE --format jsonl (one line)",
                **_obj({"line": {"type": "integer"}, "exit": {"enum": [0, 1, 2]}},
                       {"id": _STR, "error": {"type": "string"}, "plan": {"type": ["object", "null"]},
                        "blocked": {"type": "boolean"}, "status": {"type": "string"}})}

_PCT = _obj({f"p{p}": {"type": "number"} for p in (5, 25, 50, 75, 95)})
_PCT_OR_NULL = {"anyOf": [{"type": "null"}, _PCT]}
_SOURCED = _obj({"value": {"type": "number"}, "source": {"type": "string"},
                 "status": {"type": "string"}})
_CROSSING = _obj({"name": {"type": "string"}, "ng_per_ml": {"type": "number"},
                  "source": {"type": "string"},
                  "p_peak_above": {"type": "number", "minimum": 0, "maximum": 1},
                  "p_never_above": {"type": "number", "minimum": 0, "maximum": 1},
                  "p_peak_above_ci95": {"type": "array", "items": {"type": "number"},
                                        "minItems": 2, "maxItems": 2}},
                 {"hours_above": _PCT})

SIMULATE_POPULATION = {
    "$schema": _DRAFT, "title": "ketadose simulate --population N --format json",
    **_obj({"ketadose_version": {"type": "string"}, "format_version": {"const": 1},
            "kind": {"const": "population"},
            "regimen": _obj({"id": {"type": "string"}, "sha256": {"type": "string"},
                             "drug": {"type": "string"}}),
            "model": _obj({"id": {"type": "string"}, "name": {"type": "string"},
                           "citation": {"type": "string"}, "drug": {"type": "string"},
                           "status": {"type": "string"}, "weight_kg": {"type": "number"},
                           "typical_parameters": {"type": "object"},
                           "variability": {"type": "array", "items": _obj({
                               "parameter": {"type": "string"}, "cv_percent": {"type": "number"},
                               "omega2": {"type": "number"}, "source": {"type": "string"},
                               "status": {"type": "string"}})},
                           "variability_convention": {"type": "string"},
                           "correlations": {"type": "array", "items": _obj({
                               "parameters": {"type": "array", "items": {"type": "string"}},
                               "r": {"type": "number"}, "source": {"type": "string"},
                               "status": {"type": "string"}})},
                           "residual_error": {"type": "array", "items": _obj({
                               "analyte": {"type": "string"}, "proportional_sd": {"type": "number"},
                               "source": {"type": "string"}, "status": {"type": "string"},
                               "applied": {"type": "boolean"}})},
                           "metabolite": {"anyOf": [{"type": "null"}, _obj({
                               "name": {"type": "string"}, "clearance_l_per_h_70kg": _SOURCED,
                               "volume_l_70kg": _SOURCED, "clearance_rise_per_h": _SOURCED})]},
                           "absorption_source": _STR},
                          {"population": {"type": "string"}, "covariates": {"type": "string"},
                           "units": {"type": "string"}}),
            "population": _obj({"n": {"type": "integer", "minimum": 1},
                                "seed": {"type": "integer"},
                                "covariates_held": _obj({"weight_kg": {"type": "number"}})},
                               {"generator": {"type": "string"}}),
            "route": {"type": "string"},
            "unverified": {"type": "array", "items": {"type": "string"}},
            "percentiles": {"const": [5, 25, 50, 75, 95]},
            "days": {"type": "array", "items": _obj(
                {"day": {"type": "integer"}, "after_course": {"type": "boolean"},
                 "cmax_ng_per_ml": _PCT, "auc_ng_h_per_ml": _PCT},
                {"norketamine_cmax_ng_per_ml": _PCT, "norketamine_auc_ng_h_per_ml": _PCT})},
            "thresholds": {"type": "array", "items": _CROSSING},
            "bands": {"type": "array", "items": _CROSSING},
            "notes": {"type": "array", "items": {"type": "string"}},
            "warnings": {"type": "array", "items": {"type": "string"}}},
           {"series": {"type": "array", "items": _obj(
               {"t_h": {"type": "number"}, "ketamine_ng_per_ml": _PCT,
                "norketamine_ng_per_ml": _PCT_OR_NULL})}})}

_TEXTS = {"type": "array", "items": {"type": "string"}}
_VARYING = _obj({"parameter": {"type": "string"}, "typical": {"type": ["number", "null"]},
                 "cv_percent": {"type": "number"}, "omega2": {"type": "number"},
                 "status": {"type": "string"}, "source": {"type": "string"}})

COMPARE_POPULATION = {
    "$schema": _DRAFT, "title": "ketadose compare --population N --format json",
    **_obj({"ketadose_version": {"type": "string"}, "format_version": {"const": 1},
            "kind": {"const": "population-compare"},
            "population": _obj({"n": {"type": "integer", "minimum": 1}, "seed": {"type": "integer"},
                                "common_random_numbers": {"const": True}}),
            "regimens": {"type": "array", "minItems": 1, "items": _obj({
                "id": {"type": "string"}, "drug": {"type": "string"}, "route": {"type": "string"},
                "model": _STR, "model_status": _STR, "n": {"type": "integer"},
                "seed": {"type": "integer"}, "peak_ng_per_ml": _PCT_OR_NULL,
                "course_auc_ng_h_per_ml": _PCT_OR_NULL, "peak_ratio_to_first": _PCT_OR_NULL,
                "thresholds": {"type": "array", "items": _CROSSING},
                "unverified": _TEXTS, "note": _STR})}},
           {"explain": _obj({
               "virtual_patients": {"type": "string"}, "common_random_numbers": {"type": "string"},
               "variability_convention": {"type": "string"},
               "models": {"type": "array", "items": _obj({
                   "model": {"type": "string"}, "status": {"type": "string"},
                   "citation": {"type": "string"}, "regimens": _TEXTS,
                   "covariates": {"type": "string"},
                   "held": _obj({"weight_kg": {"type": "number"}}),
                   "typical_units": {"type": "string"},
                   "varying": {"type": "array", "items": _VARYING},
                   "correlations": {"type": "array", "items": _obj({
                       "parameters": _TEXTS, "r": {"type": "number"},
                       "status": {"type": "string"}, "source": {"type": "string"}})},
                   "residual_error": {"type": "string"}})},
               "grid_min": {"type": "number"}, "percentiles": {"type": "string"},
               "measures": {"type": "object", "additionalProperties": {"type": "string"}}})})}

SCHEMAS = {"validate": VALIDATE, "check": CHECK, "plan": PLAN, "batch": BATCH_RECORD,
           "simulate-population": SIMULATE_POPULATION, "compare-population": COMPARE_POPULATION}
