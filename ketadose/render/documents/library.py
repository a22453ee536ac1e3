"""The library's machine documents: `list --format json|yaml` (one entry per template) and
`show --format json` (one whole regimen)."""

from __future__ import annotations

from ketadose.describe import schedule_summary
from ketadose.render.data import plain
from ketadose.templates import Listing, Template


def listing_document(listing: Listing) -> list:
    out = []
    for t in listing.templates:
        r = t.regimen
        out.append({"id": r.id, "title": r.title, "conditions": list(r.conditions),
                    "drug": r.drug, "route": r.route, "setting": r.setting,
                    "schedule": schedule_summary(r), "source_file": t.source_file,
                    "sha256": t.sha256, "evidence": _evidence(r)})
    return out


def template_document(template: Template) -> dict:
    r = template.regimen
    return {"source_file": template.source_file, "sha256": template.sha256,
            "regimen": plain(r),
            "unverified": [{"where": w, "field": f, "why": y} for w, f, y in r.unverified()],
            "findings": [f.as_dict() for f in template.findings]}


def _evidence(regimen) -> list:
    return [{"citation": e.citation, "pmid": e.pmid, "doi": e.doi, "design": e.design, "n": e.n,
             "result": e.result, "role": e.role} for e in regimen.evidence]
