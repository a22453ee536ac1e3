"""Approved plans: every shipped template, for four patients, compared whole with a reviewed copy.

The other tests check the numbers a clinician would check by hand; these pin down everything
else a plan says (every derivation step, unit, message, limit consulted and calendar day), so
that no change to the dose calculators goes unnoticed. When a change is intended, regenerate
with ``KETADOSE_UPDATE_GOLDEN=1 pytest tests/test_golden.py`` and review the diff of
``tests/golden/`` like a change to a drug library: every changed number needs a reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from conftest import TEMPLATE_NAMES

GOLDEN = Path(__file__).parent / "golden"
EXAMPLE = str(Path(__file__).parent.parent / "examples" / "patient.yaml")
UPDATE = os.environ.get("KETADOSE_UPDATE_GOLDEN") == "1"

# Four patients chosen to reach every branch of the calculators: the README's example patient;
# a heavy man (rate caps bind, obesity findings); a small woman dosed on ideal weight with a
# concentrated solution; an obese woman on adjusted weight with a priming volume and a start time.
SCENARIOS = {
    "example": ({}, []),
    "heavy-man": ({"weight": "125 kg", "height": "185 cm", "sex": "male"}, []),
    "ideal-small": ({"weight": "48 kg", "height": "152 cm"},
                    ["--weight-basis", "ideal", "--concentration", "10mg/mL"]),
    "adjusted-obese": ({"weight": "110 kg", "height": "160 cm"},
                       ["--weight-basis", "adjusted", "--concentration", "2mg/mL",
                        "--priming", "20", "--start", "2026-12-01T09:00"]),
}


def _normalise(data: dict) -> dict:
    # The path of the installed file and the package version are not part of the plan.
    for block in (data.get("regimen", {}), data.get("audit", {})):
        for key in ("file", "regimen_file"):
            if key in block:
                block[key] = Path(block[key]).name
    data.pop("ketadose_version", None)
    # Sessions of a long course repeat one another; the first two and the last are kept.
    sessions = data.get("sessions") or []
    if len(sessions) > 3:
        data["sessions"] = sessions[:2] + sessions[-1:]
        data["session_count"] = len(sessions)
    data.get("audit", {}).pop("ketadose_version", None)
    return data


def _plans(run, write, template: str) -> dict:
    example = yaml.safe_load(Path(EXAMPLE).read_text(encoding="utf-8"))
    out = {}
    for name, (changes, args) in SCENARIOS.items():
        patient = write({**example, **changes}, f"{name}.yaml")
        result = run("plan", template.removesuffix(".yaml"), "--patient", patient, *args,
                     "--format", "json",
                     "--explain", "--reproducible")
        out[name] = {"exit_code": result.exit_code, "stderr": result.stderr.splitlines(),
                     "plan": _normalise(json.loads(result.stdout)) if result.stdout else None}
    return out


@pytest.mark.parametrize("template", TEMPLATE_NAMES)
def test_plan_matches_the_approved_copy(run, write, template):
    got = _plans(run, write, template)
    path = GOLDEN / f"plan-{template.removesuffix('.yaml')}.json"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    approved = json.loads(path.read_text(encoding="utf-8"))
    for scenario in SCENARIOS:
        assert got[scenario] == approved[scenario], f"{template} / {scenario} differs"
