"""Review 24's input defects as families, over generated inputs: a unit with a space inside,
a message with quoted tokens, a zero quantity, a field named twice, a CSV error record's id,
numpy values through ketadose.api. The single reproducers are in tests/test_review24.py."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_input_strictness import cli, one_line_error, outcomes

from conftest import budget
from ketadose.cli import cli as main
from ketadose.errors import UnitError
from ketadose.io.library import vocabulary
from ketadose.patient import build
from ketadose.render.text import shorten_quoted
from ketadose.units import ALIASES, parse_quantity, parse_unit

REGIMEN = "crps-schwartzman-2009"
SLOW = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                  HealthCheck.too_slow])


# ------------------------------------------------------------ a unit with a space inside

_SPLITTABLE = sorted({a for a in ALIASES if len(a) > 1 and a != "24h"} | {"mL", "U/L"})


@pytest.mark.parametrize("alias", _SPLITTABLE)
def test_no_unit_is_read_with_a_space_inside_a_word(alias):
    """'k g' was kg: every split of every spelling is refused (and names the space)."""
    for i in range(1, len(alias)):
        if "/" in alias[i - 1:i + 1]:
            continue  # a space beside '/' separates the parts, as in 'mg / kg'
        text = alias[:i] + " " + alias[i:]
        with pytest.raises(UnitError, match="has a space inside"):
            parse_unit(text)


@pytest.mark.parametrize("text, symbol", [("mg/24 h", "mg/24 h"), ("mg/24  h", "mg/24 h"),
                                          ("mg/24\th", "mg/24 h"), ("mg / kg / h", "mg/kg/h"),
                                          (" kg ", "kg"), ("mg/24h", "mg/24 h")])
def test_what_is_written_with_spaces_today_still_reads(text, symbol):
    assert parse_unit(text).symbol == symbol


@settings(max_examples=budget(10), **SLOW)
@given(number=st.sampled_from(["70", "72.5", "160"]), unit=st.sampled_from(["kg", "lb"]),
       cut=st.integers(1, 1), spaces=st.sampled_from([" ", "  "]))
def test_a_weight_unit_with_a_space_inside_is_refused_on_every_path(tmp_path, number, unit,
                                                                     cut, spaces):
    weight = f"{number} {unit[:cut]}{spaces}{unit[cut:]}"
    got = outcomes(tmp_path, weight)
    assert {code for code, _, _ in got.values()} == {2}, got
    assert len({m for _, _, m in got.values()}) == 1, got
    assert "has a space inside" in got["flag"][2]


# ------------------------------------------------------------ messages with quoted tokens

_PLAIN = st.text(st.characters(blacklist_characters="'\n", codec="utf-8",
                               blacklist_categories=("Nd",)), max_size=90)
_SHORT = st.text(st.characters(blacklist_characters="'\n", codec="utf-8",
                               blacklist_categories=("Nd",)), max_size=60).map(lambda t: f"'{t}'")


@settings(max_examples=budget(200), deadline=None)
@given(st.lists(st.one_of(_PLAIN, _SHORT), max_size=8))
def test_a_message_with_only_short_quoted_tokens_is_shown_whole(parts):
    """The pattern for long tokens paired a closing quote with the next opening one and cut
    the text between two tokens ("accepted: ma…' (210 characters)N mg over T h')."""
    message = "".join(parts)
    if message.count("'") % 2:
        return
    assert shorten_quoted(message) == message


@settings(max_examples=budget(100), deadline=None)
@given(_PLAIN, st.text(st.characters(blacklist_characters="'\n", codec="utf-8"),
                       min_size=61, max_size=200), _SHORT)
def test_a_long_quoted_token_is_cut_and_only_it(before, long, after):
    got = shorten_quoted(f"{before}{after} '{long}' {after}")
    assert got.startswith(f"{before}{after} '{long[:40]}…' ({len(long)} characters) ")
    assert got.endswith(f" {after}") or re.search(r"\d{41,}", after + before)


# ------------------------------------------------------------ zero is not negative, and not a weight

ZEROS = [0, 0.0, -0.0, "0", "-0", "-0.0", "0e3", "-0.000", "+0"]
QUANTITY_FIELDS = {
    "weight": lambda v: {"weight": v},
    "height": lambda v: {"height": v},
    "liver.alt": lambda v: {"liver": {"alt": v}},
    "liver.bilirubin": lambda v: {"liver": {"bilirubin": v}},
    "medications[0].dose": lambda v: {"medications": [{"name": "morphine", "dose": v}]},
    "previous_courses[0].hours": lambda v: {"previous_courses": [{"ended": "2020-01-01",
                                                                  "hours": v}]},
}


@pytest.mark.parametrize("field", sorted(QUANTITY_FIELDS))
@pytest.mark.parametrize("zero", ZEROS, ids=repr)
def test_a_bare_zero_is_called_zero_not_negative(field, zero):
    patient, errors = build(QUANTITY_FIELDS[field](zero), vocabulary())
    assert patient is None
    message = errors[0].message
    assert "negative" not in message and "is zero" in message, message
    assert message.startswith(f"{field}: "), message


@pytest.mark.parametrize("zero", [-0.0, "-0", 0])
def test_a_zero_weight_has_one_message_on_every_path(tmp_path, zero):
    got = outcomes(tmp_path, zero)
    assert {code for code, _, _ in got.values()} == {2}, got
    assert all("is zero" in m and "negative" not in m for _, _, m in got.values()), got


# ------------------------------------------------------------ the field is named once

BAD_VALUES = {"weight": ["70", "70 kgs", "-3 kg", "0 kg", "700 kg", True],
              "height": ["168", "1 furlong", "10 cm"], "age": ["forty", 400, -1],
              "sex": ["f"], "blood_pressure": ["120-80", "80/120"],
              "heart_rate": [5, "x"], "pregnant": ["yes"], "conditions": [["nope"]],
              "liver": [{"alt": "40"}, {"alt": "4 mg"}],
              "medications": [[{"name": "morphine", "dose": "60"}], [{"name": "xx"}]]}


@pytest.mark.parametrize("field, value", [(f, v) for f, vs in BAD_VALUES.items() for v in vs],
                         ids=repr)
def test_a_batch_error_names_the_field_once(tmp_path, field, value):
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps({"id": "p", field: value}) + "\n")
    r = CliRunner().invoke(main, ["check", "--patients", str(path)], catch_exceptions=False)
    record = json.loads(r.stdout)
    assert record["exit"] == 2 and record["id"] == "p", record
    first = re.match(r"([\w.\[\]]+)[: ]", record["error"])
    assert first, record["error"]
    name = first.group(1)
    assert not re.match(rf"{re.escape(name)}: {re.escape(name.split('.')[0])}\b",
                        record["error"]), record["error"]


# ------------------------------------------------------------ a CSV error record keeps its id

_IDS = st.text(st.characters(whitelist_categories=("L", "N", "P"), codec="utf-8",
                             blacklist_characters='",;|\x85'), min_size=1, max_size=20) \
    .filter(lambda t: t.strip() == t)
_BAD_CELLS = [("age", "abc"), ("age", "\u09ea5"), ("heart_rate", "7x"),
              ("pregnant", "maybe"), ("previous_courses", "2020-01-01|3 h|perhaps")]


@settings(max_examples=budget(40), **SLOW)
@given(ident=_IDS, bad=st.sampled_from(_BAD_CELLS))
def test_a_csv_error_record_keeps_the_id_it_could_read(tmp_path, ident, bad):
    column, cell = bad
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([["id", "weight", column],
                                                     [ident, "70 kg", cell]])
    path = tmp_path / "b.csv"
    path.write_text(text.getvalue(), encoding="utf-8")
    for jobs in ("1", "2"):
        r = CliRunner().invoke(main, ["check", "--patients", str(path), "--jobs", jobs],
                               catch_exceptions=False)
        record = json.loads(r.stdout)
        assert record["exit"] == 2 and record.get("id") == ident, record


def test_an_id_that_could_not_be_read_is_left_out(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text('{"id": "a\\u202eb", "age": 40}\n{"id": 7, "notes": "\\u202e"}\n')
    r = CliRunner().invoke(main, ["check", "--patients", str(path)], catch_exceptions=False)
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [rec.get("id") for rec in records] == [None, None], records


# ------------------------------------------------------------ numpy values through the API

np = pytest.importorskip("numpy")

_INTS = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
_FLOATS = [np.float16, np.float32, np.float64]


@pytest.fixture(scope="module")
def batch():
    from ketadose import api

    return api.Batch("check", api.load_regimen(REGIMEN), date="2026-11-21")


@pytest.mark.parametrize("cls", _INTS + _FLOATS, ids=lambda c: c.__name__)
def test_a_numpy_number_is_the_number_it_is(batch, cls):
    plain = {"id": "p", "age": 40, "heart_rate": 70, "weight": "70 kg"}
    given_ = {**plain, "age": cls(40), "heart_rate": cls(70)}
    if cls in _FLOATS:  # a float is not an age, from numpy or from a JSON line
        plain = {**plain, "age": 40.0, "heart_rate": 70.0}
    assert batch.document(given_) == batch.document(plain)


def test_numpy_bool_is_true_or_false_never_a_number(batch):
    base = {"id": "p", "weight": "70 kg", "sex": "female"}
    assert batch.document({**base, "pregnant": np.bool_(False)}) == \
        batch.document({**base, "pregnant": False})
    assert batch.document({**base, "age": np.bool_(True)}) == \
        batch.document({**base, "age": True})  # refused: true/false is not an age
    assert batch.document({**base, "age": True})["exit"] == 2


@pytest.mark.parametrize("value", [__import__("decimal").Decimal("40"),
                                   __import__("datetime").date(2020, 1, 1),
                                   np.array([40]), object()], ids=lambda v: type(v).__name__)
def test_other_types_are_an_error_record_with_the_id(batch, value):
    doc = batch.document({"id": "p", "age": value})
    assert doc["exit"] == 2 and doc["id"] == "p" and "is not JSON data" in doc["error"], doc


def test_not_finite_numpy_values_are_refused_as_in_a_json_line(batch):
    for value in (np.float64("nan"), np.float32("inf")):
        doc = batch.document({"id": "p", "weight": "70 kg", "age": value})
        assert doc["exit"] == 2 and doc["id"] == "p", doc


def test_parse_quantity_still_refuses_a_numpy_number_without_unit():
    with pytest.raises(UnitError, match="has no unit"):
        parse_quantity(np.float64(70.0), ("body_weight",))


# ------------------------------------------------------------ float options: the number as written

def _float_options():
    """(command, option) of every click option read as a float, found in the command tree, so
    that an option added later is checked too."""
    import click

    found = []
    for name, command in main.commands.items():
        for param in command.params:
            base = getattr(param.type, "base", param.type)
            if isinstance(param, click.Option) and isinstance(base, click.types.FloatParamType):
                found.append((name, param.opts[-1]))
    return found


def test_the_float_options_are_found():
    assert {("plan", "--priming"), ("simulate", "--f"), ("simulate", "--ka")} <= \
        set(_float_options())


@pytest.mark.parametrize("command, option", _float_options())
@pytest.mark.parametrize("written", ["1e400", "-1e999", "inf", "NaN", " 2e308"])
def test_a_float_option_names_a_number_that_is_not_finite_as_written(command, option, written):
    """click's float() read 1e400 as inf: "inf is not in the range 0<=x<=500"."""
    line = one_line_error(cli(command, REGIMEN, "--weight", "70 kg", option, written))
    assert f"{written.strip()!r} is not a finite number" in line, line


# ------------------------------------------------------------ --override: refused, not cleaned

_CONTROLS = st.one_of(st.characters(min_codepoint=0, max_codepoint=0x1f)
                      .filter(lambda c: c not in "\t\n\r"),
                      st.characters(min_codepoint=0x7f, max_codepoint=0x9f),
                      st.sampled_from(["\u202a", "\u202e", "\u2066", "\u2069"]))


@settings(max_examples=budget(15), **SLOW)
@given(char=_CONTROLS, at=st.integers(0, 25))
def test_an_override_with_a_control_character_is_refused_on_every_path(tmp_path, char, at):
    from ketadose import api
    from ketadose.errors import KetadoseError

    text = "neurology agreed, see notes"
    reason = text[:at] + char + text[at:]
    flags = ["--weight", "70 kg", "--medication", "memantine", "--override", reason]
    batch = tmp_path / "b.jsonl"
    batch.write_text('{"id": "p", "weight": "70 kg"}\n')
    for args in (["check", REGIMEN, *flags], ["plan", REGIMEN, *flags, "--format", "json"],
                 ["check", REGIMEN, "--patients", str(batch), "--override", reason]):
        r = CliRunner().invoke(main, args, catch_exceptions=False)
        assert r.exit_code == 2 and r.stdout == "", (args[0], r.stdout[:200])
        assert "--override: " in r.stderr and f"U+{ord(char):04X}" in r.stderr, r.stderr
    for mode in ("check", "plan"):
        with pytest.raises(KetadoseError, match=f"U\\+{ord(char):04X}"):
            api.Batch(mode, api.load_regimen(REGIMEN), override=reason)


# ------------------------------------------------------------ no field takes a bare number

@pytest.mark.parametrize("test", ["alt", "ast", "alp", "ggt"])
def test_a_bare_liver_value_is_refused_on_every_path(tmp_path, test):
    """The flags read '--alt 40/45' as U/L where a file, a JSON line and a CSV cell refused
    'alt: 40': now each path refuses it (3ede947 did the same for a bare weight)."""
    liver = {test: "40", f"{test}_uln": "45"}
    runs = {"flag": ["check", "--weight", "70 kg", f"--{test}", "40/45"]}
    path = tmp_path / "p.yaml"
    path.write_text(json.dumps({"weight": "70 kg", "liver": {test: 40, f"{test}_uln": 45}}))
    runs["file"] = ["check", "--patient", str(path)]
    for name, args in runs.items():
        r = CliRunner().invoke(main, args, catch_exceptions=False)
        assert r.exit_code == 2 and "has no unit" in r.stderr, (name, r.stderr)
    jsonl = tmp_path / "b.jsonl"
    jsonl.write_text(json.dumps({"id": "p", "weight": "70 kg", "liver": liver}) + "\n")
    table = tmp_path / "b.csv"
    table.write_text(f"id,weight,{test},{test}_uln\np,70 kg,40,45\n")
    for batch in (jsonl, table):
        r = CliRunner().invoke(main, ["check", "--patients", str(batch)], catch_exceptions=False)
        record = json.loads(r.stdout)
        assert record["exit"] == 2 and "has no unit" in record["error"], record


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_error_record_keeps_an_id_read_past_the_error(tmp_path, jobs):
    """A JSON line refused for 1e400 or a key given twice, and a CSV record refused for a
    bidirectional mark in another cell, still name their patient; an id given twice, or
    holding the mark itself, or in a record whose cells do not fit the header, is left out."""
    jsonl = tmp_path / "b.jsonl"
    jsonl.write_text('{"id": "a", "weight": 1e400}\n{"id": "b", "id": "c"}\n'
                     '{"id": "d", "age": 1, "age": 2}\n{"id": "e\\u202e", "weight": 1e400}\n')
    table = tmp_path / "b.csv"
    table.write_text('id,allergies,weight\ng,"a\u202eb",70 kg\n"h\u202e",x,70 kg\ni,x\n',
                     encoding="utf-8")
    got = []
    for path in (jsonl, table):
        r = CliRunner().invoke(main, ["check", "--patients", str(path), "--jobs", jobs],
                               catch_exceptions=False)
        records = [json.loads(line) for line in r.stdout.splitlines()]
        assert {rec["exit"] for rec in records} == {2}, records
        got += [rec.get("id") for rec in records]
    assert got == ["a", None, "d", None, "g", None, None]


@pytest.mark.parametrize("value", [5, 5.5, np.int64(5), np.float32(5.5), np.float64(5.5),
                                   np.uint16(5)], ids=repr)
def test_api_priming_reads_any_number_as_the_command_line_does(value):
    from ketadose import api

    record = {"id": "p", "weight": "70 kg", "age": 40, "sex": "female"}
    given_ = api.Batch("plan", api.load_regimen(REGIMEN), priming=value, reproducible=True)
    plain = api.Batch("plan", api.load_regimen(REGIMEN), priming=float(value), reproducible=True)
    assert given_.document(record) == plain.document(record)
    assert given_.document(record)["exit"] == 0  # a numpy float32 failed the gate: exit 3


@pytest.mark.parametrize("value", [True, np.bool_(True), "5", 600, -1, float("nan"),
                                   np.float64("inf"), [5]], ids=repr)
def test_api_priming_that_is_not_a_volume_raises_ketadose_error(value):
    from ketadose import api
    from ketadose.errors import KetadoseError

    with pytest.raises(KetadoseError, match="priming must be a volume in mL"):
        api.Batch("plan", api.load_regimen(REGIMEN), priming=value)


def test_a_priming_of_minus_zero_is_zero(run):
    r = run("plan", REGIMEN, "--weight", "70 kg", "--priming", "-0.0", "--format", "json")
    assert '"priming_ml": 0.0' in r.stdout and "-0.0" not in r.stdout


@pytest.mark.parametrize("command, option", _float_options())
def test_a_float_option_that_is_not_a_number_says_so(command, option):
    """click said "'abc' is not a valid float range." for --priming."""
    line = one_line_error(cli(command, REGIMEN, "--weight", "70 kg", option, "abc"))
    assert "'abc' is not a number" in line and "range" not in line, line
