import time

import pytest

from ketadose.errors import KetadoseError
from ketadose.io.yamlsrc import MAX_BYTES, decode, load_text


def load(text):
    return load_text(text, "f.yaml")


def test_positions_of_values_and_keys():
    doc = load("a: 1\nb:\n  c: 2 mg\n  d: [x, y]\n")
    assert doc.where(("b", "c")) == "f.yaml:3:6"
    assert doc.where(("b", "c"), key=True) == "f.yaml:3:3"
    assert doc.where(("b", "d", 1)) == "f.yaml:4:10"
    # a missing path points at its nearest parent
    assert doc.where(("b", "zzz")) == "f.yaml:3:3"


@pytest.mark.parametrize("text, expected", [
    ("a: no", "no"),          # YAML 1.1 would give False
    ("a: 010", 10),           # YAML 1.1 would give 8
    ("a: 12:30", "12:30"),    # YAML 1.1 would give 750
    ("a: 1e-3", 0.001),       # YAML 1.1 would give the text '1e-3'
    ("a: 0,2", "0,2"),
    ("a: true", True),
    ("a: ~", None),
])
def test_yaml_12_core_scalars(text, expected):
    assert load(text).data["a"] == expected


@pytest.mark.parametrize("text, needle, line", [
    ("rate: 1 mg/h\nrate: 2 mg/h\n", "duplicate key 'rate'", 2),
    ("a: !!python/object:os.system {}\n", "not allowed", 1),
    ("a: !!python/name:os.system ''\n", "not allowed", 1),
    ("a: !custom x\n", "not allowed", 1),
    ("a:\n\tb: 1\n", "tabs", 2),
    ("a: [1, 2\n", "invalid YAML", None),
    ("a: .nan\n", "finite", 1),
    ("a: .inf\n", "finite", 1),
    ("---\na: 1\n---\nb: 2\n", "invalid YAML", None),
    ("", "empty", 1),
    ("# only a comment\n", "empty", 1),
])
def test_refused_with_position(text, needle, line):
    with pytest.raises(KetadoseError) as err:
        load(text)
    assert needle in err.value.message
    if line is not None:
        assert err.value.where.startswith(f"f.yaml:{line}:")


def test_billion_laughs_is_refused_quickly():
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join([f"*a{i-1}"] * 9)
        lines.append(f"a{i}: &a{i} [{refs}]")
    start = time.perf_counter()
    with pytest.raises(KetadoseError, match="alias bomb"):
        load("\n".join(lines))
    assert time.perf_counter() - start < 2.0


def test_deep_nesting_is_refused():
    with pytest.raises(KetadoseError, match="nesting"):
        load("a: " + "[" * 5000 + "]" * 5000)


def test_invalid_utf8_points_at_the_byte():
    with pytest.raises(KetadoseError) as err:
        decode(b"a: 1\nb: \xff\n", "f.yaml")
    assert err.value.where == "f.yaml:2:4"


def test_oversize_is_refused():
    with pytest.raises(KetadoseError, match="larger than"):
        decode(b"#" * (MAX_BYTES + 1), "f.yaml")


def test_json_is_accepted():
    assert load('{"a": 1, "b": [1, 2.5, "x"]}').data == {"a": 1, "b": [1, 2.5, "x"]}
