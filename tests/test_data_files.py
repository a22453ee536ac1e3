"""The shipped data files say what their authors wrote.

In a YAML flow mapping an unquoted comma ends the value: `{label: ketamine misuse, current or
past}` loads as the label "ketamine misuse" plus a key "current or past" with no value, and the
loaders (which read only the keys they know) dropped the rest without a word. Two condition
labels and one UNVERIFIED reason were cut that way. The check is on the YAML nodes, so any
future cut in any shipped data file fails here, whatever the loader does with it.
"""

from __future__ import annotations

import glob
import os

import pytest
import yaml

import ketadose
from ketadose.io.library import limit_library, vocabulary

DATA = os.path.join(os.path.dirname(ketadose.__file__), "data")
FILES = sorted(glob.glob(os.path.join(DATA, "*.yaml")))


def _cut_entries(node, found):
    # An entry written without ':' inside {...} is composed as a key whose value is an empty
    # plain null scalar; an explicit `key: null` keeps the text "null" and is not a cut.
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if (node.flow_style and isinstance(value, yaml.ScalarNode)
                    and value.tag == "tag:yaml.org,2002:null" and value.value == ""):
                found.append(f"line {key.start_mark.line + 1}: {key.value!r}")
            _cut_entries(key, found)
            _cut_entries(value, found)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _cut_entries(item, found)


@pytest.mark.parametrize("path", FILES, ids=os.path.basename)
def test_no_flow_entry_is_cut_at_a_comma(path):
    with open(path, encoding="utf-8") as fh:
        root = yaml.compose(fh)
    found: list[str] = []
    _cut_entries(root, found)
    assert not found, f"{os.path.basename(path)}: text cut at a comma (quote it): {found}"


def test_the_checker_finds_a_cut():
    found: list[str] = []
    _cut_entries(yaml.compose("a: {label: misuse, current or past, soft: null}\n"), found)
    assert found == ["line 1: 'current or past'"]


def test_labels_and_reasons_are_whole():
    conditions = vocabulary().conditions
    assert conditions["ketamine-misuse"]["label"] == "ketamine misuse, current or past"
    assert conditions["porphyria"]["label"] == (
        "acute porphyria (AIP, variegate, hereditary coproporphyria)")
    assert "(docs/evidence.md E, G8)" in repr(limit_library())
