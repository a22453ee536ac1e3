import re
from pathlib import Path

from ketadose.rules import registry

PACKAGE = Path(__file__).resolve().parent.parent / "ketadose"


def test_every_rule_is_documented_with_examples_and_source():
    for rule in registry().values():
        assert rule.severity in ("error", "warning", "info", "absolute", "relative", "caution")
        assert rule.source
        assert "FAIL" in rule.doc and "PASS" in rule.doc, rule.id


def test_every_rule_id_in_the_code_is_registered():
    known = set(registry())
    used = set()
    for path in PACKAGE.rglob("*.py"):
        used |= set(re.findall(r'"(KD-(?:V|CI|DDI|MON|DOSE)-?\d{3})"', path.read_text()))
    assert used <= known, used - known
