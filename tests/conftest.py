"""Shared helpers: the shipped templates as data, and a runner for the CLI."""

from __future__ import annotations

import copy
import json
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


def assert_approved(name: str, got: dict) -> None:
    """Compare ``got`` with the reviewed copy ``tests/golden/NAME``, key by key.

    ``KETADOSE_UPDATE_GOLDEN=1`` rewrites the copy first (then review its diff).
    """
    path = GOLDEN / name
    if os.environ.get("KETADOSE_UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    approved = json.loads(path.read_text(encoding="utf-8"))
    assert sorted(got) == sorted(approved), f"{name}: the cases differ from the approved copy"
    differ = [key for key in got if got[key] != approved[key]]
    assert not differ, f"{name}: {len(differ)} differ, e.g. {differ[0]}: {got[differ[0]]}"


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
