"""Shared helpers: the shipped templates as data, and a runner for the CLI."""

from __future__ import annotations

import copy
import json
import math
import os
from importlib import resources
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ketadose.cli import cli

REGIMENS = resources.files("ketadose.regimens")
TEMPLATE_NAMES = sorted(f.name for f in REGIMENS.iterdir() if f.name.endswith(".yaml"))


def budget(examples: int) -> int:
    """Hypothesis examples per property; mutation testing (MUTANT_UNDER_TEST) runs fewer."""
    return min(examples, 10) if os.environ.get("MUTANT_UNDER_TEST") else examples


def template_text(name="crps-schwartzman-2009.yaml") -> str:
    return REGIMENS.joinpath(name).read_text(encoding="utf-8")


def template_data(name="crps-schwartzman-2009.yaml") -> dict:
    return copy.deepcopy(yaml.safe_load(template_text(name)))


GOLDEN = Path(__file__).parent / "golden"


def _differences(approved, got, path="") -> list:
    """Every place where two JSON values differ, as (path, approved, got), depth first.

    Booleans are not numbers here (JSON's ``true`` is not ``1``), so types are compared too,
    and so are the signs of zeros."""
    if isinstance(approved, dict) and isinstance(got, dict):
        out = []
        for key in list(approved) + [k for k in got if k not in approved]:
            where = f"{path}.{key}" if path else str(key)
            if key not in got:
                out.append((where, approved[key], "<missing>"))
            elif key not in approved:
                out.append((where, "<missing>", got[key]))
            else:
                out.extend(_differences(approved[key], got[key], where))
        return out
    if isinstance(approved, list) and isinstance(got, list):
        out = []
        for i in range(max(len(approved), len(got))):
            where = f"{path}[{i}]"
            if i >= len(got):
                out.append((where, approved[i], "<missing>"))
            elif i >= len(approved):
                out.append((where, "<missing>", got[i]))
            else:
                out.extend(_differences(approved[i], got[i], where))
        return out
    if type(approved) is not type(got) or approved != got:
        return [(path, approved, got)]
    if isinstance(got, float) and math.copysign(1.0, approved) != math.copysign(1.0, got):
        return [(path, approved, got)]  # -0.0 == 0.0, but a plan prints them differently
    return []


def _show(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 160 else text[:157] + "..."


def assert_approved(name: str, got, key: str | None = None) -> None:
    """Compare ``got`` with the reviewed copy ``tests/golden/NAME`` (or its entry ``key``) and
    name every differing path with both values.

    ``KETADOSE_UPDATE_GOLDEN=1`` rewrites the copy, and the test still fails while anything
    changed, printing the same list: a rewrite is reviewed, never silent. Run again without the
    variable to see it pass.
    """
    path = GOLDEN / name
    whole = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    approved = whole.get(key) if key is not None else whole
    diffs = _differences(approved, got)
    if diffs and os.environ.get("KETADOSE_UPDATE_GOLDEN") == "1":
        if key is not None:
            whole[key] = got
        else:
            whole = got
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps(whole, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if diffs:
        where = f"{name}" + (f" [{key}]" if key is not None else "")
        lines = [f"  {p or '(whole)'}: approved {_show(a)} -> got {_show(g)}" for p, a, g in diffs[:25]]
        more = f"\n  ... and {len(diffs) - 25} more" if len(diffs) > 25 else ""
        state = ("UPDATED the approved copy; review this diff, then run again without "
                 "KETADOSE_UPDATE_GOLDEN" if os.environ.get("KETADOSE_UPDATE_GOLDEN") == "1"
                 else "differs from the approved copy")
        pytest.fail(f"{where}: {len(diffs)} difference(s); {state}:\n" + "\n".join(lines) + more,
                    pytrace=False)


@pytest.fixture
def run():
    """Invoke the CLI in-process; returns click's Result (stdout and stderr kept apart)."""
    def invoke(*args, input=None, env=None):
        return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)
    return invoke


@pytest.fixture
def write(tmp_path):
    """Write text (or a dict as YAML) to a file in tmp_path; returns its path as str."""
    def _write(content, name="regimen.yaml"):
        path = tmp_path / name
        if isinstance(content, (dict, list)):
            content = yaml.safe_dump(content, sort_keys=False)
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return str(path)
    return _write


@pytest.fixture(autouse=True, scope="session")
def _cold_caches():
    """Start every test session with empty caches: mutation testing forks test runs from a warm
    process, and a warm cache would hide a mutant in the code that fills it."""
    from ketadose import units
    from ketadose.io import library

    units._unit_cache.clear()
    units._ratio_cache.clear()
    library.limit_library.cache_clear()
    library.vocabulary.cache_clear()
    yield
