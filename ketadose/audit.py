"""The audit trail carried by every plan and check output, so that any result can be traced
back to exactly what produced it (and recomputed by `ketadose verify`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from ketadose import __version__


def canonical_hash(data) -> str:
    """sha256 of the canonical JSON of an input (sorted keys, no spaces)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def audit_block(src, patient_data, options: dict, limits_version: str, vocabulary_version: str,
                reproducible: bool, now: dt.datetime | None = None, *,
                thresholds_version: str) -> dict:
    block = {
        "ketadose_version": __version__,
        "regimen_sha256": src.sha256 if src else None,
        "regimen_file": src.name if src else None,
        "regimen_id": src.doc.data.get("id") if src else None,
        "limits_version": limits_version,
        "thresholds_version": thresholds_version,  # the screening rules' clinical thresholds
        "vocabulary_version": vocabulary_version,
        "patient_sha256": canonical_hash(patient_data),
        "inputs": {"patient": patient_data, "options": options},
    }
    if not reproducible:
        moment = now or dt.datetime.now(dt.timezone.utc)
        block["computed_at"] = moment.replace(microsecond=0).isoformat()
    return block
