"""Unanswered questions (issue 16 item 5): worded for the interface that ran (flags on the
command line, keys in a patient file), each asked once with the rules that need it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from ketadose.questions import ANSWERS, FILE, FLAGS, grouped, interface

EXAMPLE = str(Path(__file__).parent.parent / "examples" / "patient.yaml")
REGIMEN = "crps-schwartzman-2009"


def questions(run, *args):
    r = run("check", REGIMEN, *args, "--format", "json")
    assert r.exit_code in (0, 1), r.output
    return json.loads(r.stdout)["not_assessed"]


def test_a_flags_only_run_is_answered_with_flags(run):
    asked = questions(run, "--age", "40")
    assert asked
    for item in asked:
        text = item["question"]
        assert "[] for none" not in text and "true/false" not in text, text
    text = " ".join(i["question"] for i in asked)
    for flag in ("--no-allergies", "--no-conditions", "--no-medications", "--bp", "--heart-rate",
                 "--pregnant", "--alt", "--no-previous-courses"):
        assert flag in text, flag


def test_a_file_run_is_answered_with_keys(run, write):
    path = write({"age": 40, "weight": "70 kg"}, "p.yaml")
    asked = questions(run, "--patient", path)
    text = " ".join(i["question"] for i in asked)
    assert "[] for none" in text and "previous_courses" in text
    assert "--no-medications" not in text and "--bp" not in text


def test_the_table_asks_each_question_once_naming_every_rule(run):
    r = run("check", REGIMEN, "--age", "40", env={"COLUMNS": "300"})
    asked = questions(run, "--age", "40")
    per_question = Counter(i["question"] for i in asked)
    assert max(per_question.values()) >= 7  # the conditions question: many rules need it
    lines = r.stdout.splitlines()
    for question in per_question:
        rows = [line for line in lines if question in line]
        assert len(rows) == 1, question
        for item in asked:
            if item["question"] == question:
                assert item["rule"] in rows[0], (question, item["rule"])


def test_html_asks_each_question_once(run):
    r = run("plan", REGIMEN, "--weight", "70kg", "--age", "40", "--format", "html")
    medicines = [x for x in r.stdout.split("<li>") if "Which medicines" in x]
    assert len(medicines) == 1 and "KD-DDI-001" in medicines[0] and "KD-DDI-008" in medicines[0]


def test_verify_recomputes_the_same_words(run, tmp_path):
    out = tmp_path / "check.json"
    r = run("check", REGIMEN, "--age", "40", "--format", "json", "-o", str(out))
    assert r.exit_code in (0, 1)
    assert "--no-medications" in out.read_text()
    v = run("verify", str(out))
    assert v.exit_code == 0, v.output


def test_interface_and_grouping():
    assert interface({"age": 40}, {"age"}) == FLAGS
    assert interface({"age": 40, "sex": "male"}, {"age"}) == FILE
    assert interface({}, set()) == FILE
    assert grouped([("A", "q1"), ("B", "q2"), ("C", "q1"), ("A", "q1")]) == \
        [("q1", ("A", "C")), ("q2", ("B",))]


@pytest.mark.parametrize("field", sorted(ANSWERS))
def test_every_flag_answer_names_a_real_option(field):
    from ketadose.cli import cli

    options = {o for p in cli.commands["check"].params for o in (*p.opts, *p.secondary_opts)}
    flags = [w.strip(",;()") for w in ANSWERS[field][1].split() if w.startswith("--")]
    assert flags, field
    for flag in flags:
        flag = flag.replace("{test}", "alt")
        assert flag in options, (field, flag)
