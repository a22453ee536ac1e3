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


def test_a_rule_id_registered_twice_is_refused_even_under_python_O():
    import subprocess
    import sys

    code = ("from ketadose.rules import _by_id, registry\n"
            "r = list(registry().values())\n"
            "try:\n  _by_id(r + [r[0]])\nexcept RuntimeError as e:\n  print('REFUSED', e)\n")
    out = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.stdout.startswith("REFUSED rule id ") and "registered twice" in out.stdout


def test_rule_functions_stay_undecorated_functions():
    """The registration table keeps each check a plain module function under its own name, so
    mutation testing (which skips decorated functions) reaches it."""
    import inspect

    from ketadose.rules import contraindications, imported, interactions, monitoring, regimen

    for module in (contraindications, imported, interactions, monitoring, regimen):
        for r in module.RULES:
            fn = inspect.unwrap(r.check)
            assert inspect.isfunction(fn) and getattr(module, fn.__name__) is fn, r.id
