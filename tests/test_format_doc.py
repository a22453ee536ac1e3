"""docs/regimen-format.md is generated from the format's one description (issue 17 item 4):
the committed file must be what the generator writes today, and the generator must cover the
whole format (every key of every node), so the reference cannot drift from the checker."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import yaml

from ketadose import regimen_format as fmt
from ketadose.io.library import limit_library, vocabulary
from ketadose.render.format_doc import REGENERATE, write_format_reference
from ketadose.validate import validate

DOC = Path(__file__).resolve().parent.parent / "docs" / "regimen-format.md"


def generated() -> str:
    buf = io.StringIO()
    write_format_reference(buf)
    return buf.getvalue()


def test_the_committed_reference_is_up_to_date():
    committed = DOC.read_text(encoding="utf-8")
    if committed != generated():
        import difflib

        diff = "".join(difflib.unified_diff(committed.splitlines(True), generated().splitlines(True),
                                            "docs/regimen-format.md (committed)",
                                            "docs/regimen-format.md (generated)", n=1))
        raise AssertionError(f"docs/regimen-format.md is stale; regenerate it with:\n  {REGENERATE}"
                             f"\n{diff[:4000]}")


def test_the_command_writes_the_same_reference():
    r = subprocess.run([sys.executable, "-m", "ketadose", "schema", "regimen", "--format",
                        "markdown"], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout == generated()


def test_markdown_is_only_for_the_regimen_format():
    r = subprocess.run([sys.executable, "-m", "ketadose", "schema", "patient", "--format",
                        "markdown"], capture_output=True, text=True, check=False)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "schema regimen" in r.stderr


def _keys(node, seen=None) -> set:
    """Every key name of the format, at any depth (common and per-kind phase keys)."""
    seen = set() if seen is None else seen
    fields = list(node.fields) + [f for fs in node.variants.values() for f in fs]
    for f in fields:
        seen.add(f.name)
        _keys(f.node, seen)
    if node.item is not None:
        _keys(node.item, seen)
    return seen


def test_every_key_and_option_of_the_format_is_documented():
    doc = generated()
    missing = sorted(k for k in _keys(fmt.REGIMEN) if f"| `{k}` |" not in doc)
    assert not missing, f"keys without a row in the reference: {missing}"
    for options in (fmt.DRUGS, fmt.ROUTES, fmt.SETTINGS, fmt.DESIGNS, fmt.ROLES, fmt.RESULTS):
        assert all(f"`{o}`" in doc for o in options)
    assert all(f"### `{kind}`" in doc for kind in fmt.PHASE.variants)


def test_the_documented_example_is_a_valid_regimen():
    regimen, findings = validate(yaml.safe_load(fmt.EXAMPLE), limit_library(),
                                 substances=vocabulary().substances)
    assert regimen is not None
    assert [f for f in findings if f.severity == "error"] == []
    assert f"```yaml\n{fmt.EXAMPLE}```" in generated()


def test_every_rule_the_validator_emits_is_listed():
    from ketadose.rules import format as format_rules
    from ketadose.rules import regimen as regimen_rules

    doc = generated()
    for r in format_rules.RULES + regimen_rules.RULES:
        assert f"| {r.id} | {r.severity} |" in doc
