"""Dosing findings (KD-DOSE-...): raised by the calculators in ketadose/dosing.py; documented here."""

from ketadose.dosing import DEVINE, OBESITY
from ketadose.rules import Rule

RULES = (
    Rule("KD-DOSE-001", "obesity-dosing-weight", "warning",
         "BMI 30 or more: the plan shows actual, ideal and adjusted weight.",
         "BMI 30 or more: the plan shows actual, ideal (Devine) and adjusted weight (ideal + 0.4 x "
         "excess) and which one doses are computed on. Sources suggest ideal or adjusted weight "
         "for ketamine in obesity; none is specific to chronic pain.\n\n"
         "FAIL (warning): weight 120 kg, height 170 cm (BMI 41.5)\nPASS: weight 70 kg, height 175 cm",
         OBESITY),
    Rule("KD-DOSE-002", "dosing-weight-note", "info",
         "How the dosing weight was chosen when the formula needed a correction.",
         "Ideal or adjusted weight above the actual weight: the actual weight is used, so the dose "
         "never exceeds the actual-weight dose. (Below 5 ft, where Devine's formula is not "
         "defined, ideal and adjusted weight are refused: exit 2.)\n\n"
         "FAIL (info): --weight-basis ideal for 50 kg, 180 cm\nPASS: --weight-basis actual",
         DEVINE),
    Rule("KD-DOSE-003", "titration-ceiling", "warning",
         "A titration maximum above a hard rate limit stops at the limit.",
         "A titration's maximum, after the regimen's caps, is above a hard rate limit for this "
         "patient (e.g. a per-kg maximum on a heavy patient): the steps stop at the hard limit, "
         "as a smart pump refuses rates above it.\n\n"
         "FAIL (warning): esketamine max 7.2 mcg/kg/min for 90 kg (38.9 mg/h > 30.24 mg/h)\n"
         "PASS: the same for 70 kg", "ketadose limit library (`ketadose limits`)"),
)
