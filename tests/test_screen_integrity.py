"""Screening that cannot be fooled (issue 14): allergy names in every form, absolute findings
that no override lifts, contradictory answers, explicit YAML tags, duplicate batch keys and
RFC 4180 CSV. Each reproducer of the issue runs through the real command line."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from test_screen import BASE, TODAY, patient, screen

from conftest import budget
from ketadose.io.library import thresholds, vocabulary
from ketadose.rules import screening_rules
from ketadose.screen import STATUSES, Context
from ketadose.screen import run as run_screen

FLAGS = ["--weight", "70kg", "--sex", "male", "--age", "45", "--bp", "120/80", "--heart-rate", "70",
         "--no-conditions", "--no-medications", "--no-previous-courses"]

KETAMINE_NAMES = ["Ketalar", "Ketanest", "Ketanest S", "Spravato", "esketamine", "arketamine",
                  "R-ketamine", "S-ketamine", "(S)-ketamine", "racemic ketamine", "ketamine HCl",
                  "ketamine hydrochloride", "ketamin", "ketamine (anaphylaxis)", "KETAMINE",
                  "s(+)-Ketamine", "Ketamine-HCl 50mg/mL vial"]


def _check(run, *args):
    r = run("check", "consensus-cohen-2018", *args, "--format", "json", "--date", "2026-11-25")
    return r, (json.loads(r.stdout) if r.stdout.strip() else None)


@pytest.mark.parametrize("name", KETAMINE_NAMES)
def test_every_ketamine_name_blocks_through_the_cli(run, name):
    r, data = _check(run, *FLAGS, "--allergy", name)
    assert r.exit_code == 1 and data["status"] == "contraindicated"
    [f] = [f for f in data["findings"] if f["rule"] == "KD-CI-001"]
    assert f["severity"] == "absolute" and name in f["message"]


def test_an_unknown_allergy_is_kept_shown_and_asked_about(run):
    r, data = _check(run, *FLAGS, "--allergy", "penicilin")
    assert r.exit_code == 0 and data["status"] == "incomplete"
    [q] = [q["question"] for q in data["not_assessed"] if q["rule"] == "KD-CI-001"]
    assert "'penicilin'" in q and "is this a ketamine-family allergy?" in q.lower()


def test_a_known_other_allergy_is_no_question(run):
    r, data = _check(run, *FLAGS, "--allergy", "penicillin")
    assert r.exit_code == 0 and data["status"] == "clear"


def test_a_misspelt_ketamine_next_to_a_known_allergy_is_still_asked():
    s = screen(patient(allergies=["penicillin, ketmaine"]))
    assert s.status == "incomplete" and "misspelling" in s.not_assessed[0][1]


def test_reaction_and_severity_are_recorded_and_answers_are_kept():
    s = screen(patient(allergies=[{"substance": "Ketalar", "reaction": "anaphylaxis",
                                   "severity": "life-threatening"}]))
    [f] = s.findings
    assert f.severity == "absolute" and "anaphylaxis, life-threatening" in f.message
    # an intolerance (not hypersensitivity) is relative, with its UNVERIFIED grade shown
    s = screen(patient(allergies=[{"substance": "ketamine", "reaction": "intolerance"}]))
    [f] = s.findings
    assert f.severity == "relative" and f.unverified
    # the record's own answer settles an unknown substance; a ketamine name overrides "false"
    assert screen(patient(allergies=[{"substance": "zyxomycin", "ketamine_family": False}])).status \
        == "clear"
    assert screen(patient(allergies=[{"substance": "zyxomycin", "ketamine_family": True}])).status \
        == "contraindicated"
    assert screen(patient(allergies=[{"substance": "Ketalar", "ketamine_family": False}])).status \
        == "contraindicated"


PUNCT = st.text(alphabet=" \t()[]{}.,;:!?-_/\\'\"*+#@&%~|<>=", max_size=4)


@settings(max_examples=budget(200), deadline=None)
@given(st.sampled_from(sorted({n for s in vocabulary().substances.substances.values()
                               if s.family == "ketamine" for n in s.names})),
       PUNCT, PUNCT, st.sampled_from([str.lower, str.upper, str.title, str.swapcase, str]),
       st.lists(st.sampled_from(["penicillin", "latex", "zyxomycin"]), max_size=2))
def test_any_text_containing_a_ketamine_name_blocks(name, before, after, case, others):
    text = f"{before}{case(name)}{after}"
    s = screen(patient(allergies=others + [text]))
    assert s.status == "contraindicated" and s.blocking, text


# ---------------------------------------------------------------- absolute means no override
@pytest.mark.parametrize("changes", [
    ["--allergy", "ketamine"], ["--allergy", "Ketalar"]])
def test_an_absolute_contraindication_cannot_be_overridden(run, changes):
    r, data = _check(run, *FLAGS, *changes, "--override", "the patient insists, reviewed")
    assert r.exit_code == 1 and data["blocking"] and not data["override_applied"]
    r = run("plan", "crps-schwartzman-2009", *FLAGS, *changes, "--override",
            "the patient insists, reviewed", "--format", "json")
    assert r.exit_code == 1 and json.loads(r.stdout)["sessions"] is None


def test_theophylline_cannot_be_overridden_but_a_relative_finding_can(run):
    flags = [f for f in FLAGS if f != "--no-medications"]
    r, data = _check(run, *flags, "--no-allergies", "--medication", "theophylline",
                     "--override", "reason long enough")
    assert r.exit_code == 1 and data["blocking"]
    r, data = _check(run, *flags, "--no-allergies", "--medication", "memantine",
                     "--override", "reason long enough")
    assert r.exit_code == 0 and data["override_applied"] and not data["blocking"]


@pytest.mark.parametrize("reason", ["\u200b" * 10, " " * 12, "ok ok ok", "ok\u200b" * 4])
def test_an_override_needs_ten_visible_characters(run, reason):
    r, _ = _check(run, *FLAGS, "--no-allergies", "--override", reason)
    assert r.exit_code == 2 and "printable" in r.stderr and len(r.stderr.splitlines()) == 1


@pytest.mark.parametrize("reason, words", [
    ("\x1b[31m" * 10, "control character U+001B"), ("\x00\x07" * 8, "control character U+0000"),
    ("\u202e\u2066" * 6, "bidirectional control character U+202E"),
    ("\x1b[2Jneurology agreed today", "control character U+001B"),
    ("neurology agreed\x07 today", "control character U+0007"),
    ("neurology agreed today\x9b", "control character U+009B")])
def test_an_override_with_a_control_character_is_refused_not_cleaned(run, reason, words):
    """printable() dropped them and the audit recorded a reason that was not what was typed."""
    r, _ = _check(run, *FLAGS, "--no-allergies", "--override", reason)
    assert r.exit_code == 2 and len(r.stderr.splitlines()) == 1, r.stderr
    assert f"--override: {words}" in r.stderr, r.stderr


def test_the_recorded_reason_has_no_invisible_characters(run):
    flags = [f for f in FLAGS if f != "--no-medications"]
    r, data = _check(run, *flags, "--no-allergies", "--medication", "memantine",
                     "--override", "neurology\u200b agreed \t today")
    assert data["override"] == "neurology agreed today"
    r = run("check", *flags, "--no-allergies", "--medication", "memantine",
            "--override", "neurology [red]agreed[/red] today")
    assert "\x1b" not in r.stdout and "[red]agreed[/red]" in r.stdout


ABSOLUTE = {"allergies": ["Ketalar"]}, {"medications": [{"name": "theophylline"}]}, \
    {"conditions": ["head-injury"]}, {"conditions": ["cerebrovascular-accident"]}, \
    {"blood_pressure": "190/110"}, {"conditions": ["ischaemic-heart-disease:severe"]}


@settings(max_examples=budget(100), deadline=None)
@given(st.sampled_from(ABSOLUTE), st.text(min_size=10, max_size=40),
       st.lists(st.sampled_from(sorted(vocabulary().medicines)), max_size=2, unique=True))
def test_no_override_makes_an_absolute_finding_non_blocking(absolute, reason, meds):
    data = {**absolute}
    if "medications" not in data:
        data["medications"] = [{"name": m} for m in meds]
    s = run_screen(patient(**data), Context(None, TODAY, thresholds=thresholds()), screening_rules(), override=reason)
    assert s.absolute and s.blocking and not s.override_applied


# ---------------------------------------------------------------- contradictions: exit 2
@pytest.mark.parametrize("args, needle", [
    (["--sex", "male", "--pregnant"], "pregnant is true but sex is male"),
    (["--sex", "male", "--breastfeeding"], "breastfeeding is true but sex is male"),
])
def test_contradictory_flags_are_input_errors(run, args, needle):
    r = run("check", "--weight", "70kg", *args)
    assert r.exit_code == 2 and needle in r.stderr and len(r.stderr.splitlines()) == 1


@pytest.mark.parametrize("changes, needle, where", [
    ({"sex": "male", "pregnant": True}, "sex is male", "patient.yaml:"),
    ({"medications": [{"name": "morphine", "started": "2026-05-01", "stopped": "2026-01-01"}]},
     "before it was started", "patient.yaml:"),
    ({"previous_courses": [{"ended": "2026-12-24"}]}, "after the screening date", "patient.yaml:"),
])
def test_contradictory_records_are_input_errors(run, write, changes, needle, where):
    path = write(yaml.safe_dump({**BASE, **changes}), "patient.yaml")
    for cmd in (["check"], ["plan", "crps-schwartzman-2009", "--start", "2026-11-25T09:00"]):
        args = cmd + ["--patient", path] + (["--date", "2026-11-25"] if cmd == ["check"] else [])
        r = run(*args)
        assert r.exit_code == 2 and needle in r.stderr, r.stderr
        assert len(r.stderr.splitlines()) == 1 and where in r.stderr


# ---------------------------------------------------------------- explicit YAML tags
@pytest.mark.parametrize("tagged", ["!!bool yes", "!!bool on", "!!bool 1", "!!bool true",
                                    "!!str false", "! false", "!!python/bool yes"])
def test_explicit_tags_in_a_patient_file_are_refused(run, write, tagged):
    text = yaml.safe_dump({k: v for k, v in BASE.items() if k != "pregnant"}) + f"pregnant: {tagged}\n"
    path = write(text, "patient.yaml")
    line = text.splitlines().index(f"pregnant: {tagged}") + 1
    r = run("plan", "crps-schwartzman-2009", "--patient", path)
    assert r.exit_code == 2 and f"patient.yaml:{line}:11: explicit tag" in r.stderr
    assert len(r.stderr.splitlines()) == 1


def test_explicit_tags_in_a_regimen_file_are_refused(run, write):
    from conftest import template_text

    text = template_text().replace("days: 10 ", "days: !!int 10 ")
    path = write(text)
    r = run("plan", path, "--weight", "70kg")
    assert r.exit_code == 2 and "regimen.yaml:20:9: explicit tag '!!int'" in r.stderr
    r = run("validate", path)  # validate reports it like any syntax error: a finding, exit 1
    assert r.exit_code == 1 and "regimen.yaml:20:9: error KD-V001 explicit tag" in r.stdout


@settings(max_examples=budget(60), deadline=None)
@given(st.data())
def test_a_record_never_screens_less_severe_after_a_tag_is_added(data):
    from ketadose.errors import KetadoseError
    from ketadose.io.yamlsrc import load_text

    lines = yaml.safe_dump(BASE).splitlines()
    scalars = [i for i, line in enumerate(lines) if ": " in line and not line.endswith(":")]
    i = data.draw(st.sampled_from(scalars))
    tag = data.draw(st.sampled_from(["!!str", "!!bool", "!!int", "!", "!local", "!!float"]))
    key, _, value = lines[i].partition(": ")
    lines[i] = f"{key}: {tag} {value}"
    with pytest.raises(KetadoseError, match="explicit tag"):
        load_text("\n".join(lines) + "\n", "p.yaml")


@settings(max_examples=budget(80), deadline=None)
@given(st.lists(st.sampled_from(sorted(vocabulary().conditions)), max_size=3, unique=True),
       st.lists(st.sampled_from(sorted(vocabulary().medicines)), max_size=3, unique=True),
       st.lists(st.sampled_from(["Ketalar", "penicillin", "zyxomycin"]), max_size=2, unique=True),
       st.sampled_from(sorted(k for k in BASE if k not in ("weight",))),
       st.sampled_from([None, "crps-schwartzman-2009", "oral-marchetti-2015"]))
def test_a_record_never_screens_less_severe_after_a_field_is_removed(conds, meds, allergies,
                                                                     removed, regimen):
    """Removing an answer either keeps the screen as severe or turns that answer into a
    question (incomplete); it never moves the screen towards clear."""
    from test_screen import _conds

    given_ = {"conditions": _conds(conds), "medications": [{"name": m} for m in meds],
              "allergies": allergies}
    before = screen(patient(**given_), regimen).status
    after = screen(patient(**{**given_, removed: None}), regimen).status
    assert STATUSES.index(after) <= STATUSES.index(before) or after == "incomplete"


# ---------------------------------------------------------------- batch records
def test_jsonl_duplicate_keys_are_refused(run, write):
    path = write('{"age":45,"pregnant":true,"pregnant":false,"sex":"female","weight":"70 kg"}\n',
                 "p.jsonl")
    r = run("check", "--patients", path, "--format", "jsonl")
    rec = json.loads(r.stdout)
    assert r.exit_code == 2 and rec["exit"] == 2 and "duplicate key 'pregnant'" in rec["error"]


def test_csv_duplicate_columns_are_refused(run, write):
    path = write("id,sex,pregnant,pregnant,weight\na,female,true,false,70 kg\n", "p.csv")
    r = run("check", "--patients", path, "--format", "jsonl")
    assert r.exit_code == 2 and "pregnant given twice" in r.stderr


def test_csv_quoted_newline_stays_in_its_field(run, write):
    path = write('id,sex,weight,allergies\na,female,70 kg,"penicillin\nKetalar"\nb,male,70 kg,none\n',
                 "p.csv")
    r = run("check", "--patients", path, "--format", "jsonl")
    recs = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x.get("id") for x in recs] == ["a", "b"] and [x["line"] for x in recs] == [2, 4]
    assert recs[0]["status"] == "contraindicated" and "exit" in recs[1] and recs[1]["exit"] == 0


def test_csv_unclosed_quote_is_a_bad_record(run, write):
    path = write('id,sex,weight,allergies\na,female,70 kg,"penicillin\n', "p.csv")
    r = run("check", "--patients", path, "--format", "jsonl")
    rec = json.loads(r.stdout)
    assert rec["exit"] == 2 and "not closed" in rec["error"]


# ---------------------------------------------------------------- severities (basis F3)
@pytest.mark.parametrize("condition, severity", [
    ("glaucoma", "relative"), ("cerebrovascular-accident", "absolute"),
    ("ischaemic-heart-disease:severe", "absolute"), ("myocardial-disease:severe", "absolute"),
    ("ischaemic-heart-disease:poorly-controlled", "relative"),
    ("ischaemic-heart-disease:stable", "caution"), ("porphyria", "caution"),
    ("seizure-disorder", "caution")])
def test_condition_severities_follow_the_basis(run, condition, severity):
    r, data = _check(run, *[f for f in FLAGS if f != "--no-conditions"], "--no-allergies",
                      "--condition", condition)
    assert severity in {f["severity"] for f in data["findings"]}
    assert data["status"] == ("contraindicated" if severity in ("absolute", "relative") else "caution")


def test_children_under_18_need_a_reason_and_under_3_get_the_label_warning():
    two, seventeen = screen(patient(age=2)), screen(patient(age=17))
    assert {f.severity for f in seventeen.findings} == {"relative"}
    assert {f.severity for f in two.findings} == {"relative", "caution"}
    assert any("5.5" in f.source for f in two.findings)


def test_a_clinicians_judgement_never_leaves_the_screen_clear():
    for cid in ("porphyria", "seizure-disorder", "hepatic-impairment:mild"):
        assert screen(patient(conditions=[cid])).status != "clear", cid


@pytest.mark.parametrize("cid", ["cancer-pain", "crps", "neuropathic-pain", "sci-pain"])
def test_the_indications_templates_treat_are_condition_ids(run, cid):
    r, data = _check(run, *[f for f in FLAGS if f != "--no-conditions"], "--no-allergies",
                      "--condition", cid)
    assert r.exit_code == 0 and data["status"] == "clear"


def test_the_installed_entry_point_refuses_a_tagged_pregnancy(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("age: 45\nsex: female\nweight: 70 kg\npregnant: !!bool yes\n")
    r = subprocess.run([sys.executable, "-m", "ketadose", "plan", "crps-schwartzman-2009",
                        "--patient", str(path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == "" and "p.yaml:4:11" in r.stderr
    assert "Traceback" not in r.stderr


# ---------------------------------------------------------------- liver tests
PANEL = ["--alt", "40/45 U/L", "--ast", "35 U/L/40 U/L", "--alp", "90/130 IU/L", "--ggt", "30/40U/L"]
NO_LIVER = [f for f in FLAGS] + ["--no-allergies"]


@pytest.mark.parametrize("liver", [{}, {"bilirubin": "12 umol/L"}, {"alt": "40 U/L", "alt_uln": "45 U/L"},
                                   {"alt": "300 U/L"}])
def test_a_partial_liver_panel_is_not_the_panel_a_100_hour_course_needs(run, write, liver):
    path = write(yaml.safe_dump({**BASE, "liver": liver}), "patient.yaml")
    r = run("check", "crps-sigtermans-2009", "--patient", path, "--format", "json",
            "--date", "2026-11-25")
    data = json.loads(r.stdout)
    assert data["status"] == "incomplete"
    assert any(q["rule"] == "KD-CI-010" for q in data["not_assessed"])


def test_a_value_without_its_upper_limit_is_never_compared_with_a_guess():
    s = screen(patient(liver={"alt": "300 U/L"}), "consensus-cohen-2018")  # a short course
    assert s.status == "incomplete" and "alt_uln" in s.not_assessed[0][1]
    assert not any(f.rule == "KD-CI-010" for f in s.findings)


def test_liver_flags_make_a_flags_only_screen_complete(run):
    r = run("check", "crps-sigtermans-2009", *NO_LIVER, *PANEL, "--bilirubin", "12umol/L",
            "--format", "json", "--date", "2026-11-25")
    data = json.loads(r.stdout)
    assert data["status"] == "caution" and data["not_assessed"] == []
    r = run("check", "crps-sigtermans-2009", *NO_LIVER, *PANEL[:-2], "--ggt", "150 U/L/40 U/L",
            "--format", "json")
    assert json.loads(r.stdout)["status"] == "contraindicated"
    r = run("check", *NO_LIVER, "--alt", "40")
    assert r.exit_code == 2 and "VALUE/ULN" in r.stderr


@pytest.mark.parametrize("flag", ["--alt", "--ast", "--alp", "--ggt"])
@pytest.mark.parametrize("given", ["40/45", "40 U/L/45", "40/45 ", " 4e1/45"])
def test_a_liver_flag_with_a_bare_number_is_refused_not_taken_as_u_l(run, flag, given):
    """--alt 40/45 was read as 40 U/L / 45 U/L: a default unit no file or batch line gives
    (their 'alt: 40' is refused), and laboratories also report µkat/L."""
    r = run("check", *NO_LIVER, flag, given, "--format", "json")
    assert r.exit_code == 2 and r.stdout == "" and len(r.stderr.splitlines()) == 1, r.stderr
    assert "has no unit" in r.stderr and r.stderr.startswith(f"ketadose: error: {flag}"), r.stderr


# ---------------------------------------------------------------- stopped medicines
def test_a_maoi_counts_inside_its_14_day_washout_and_not_after():
    inside = screen(patient(medications=[{"name": "phenelzine", "stopped": "2026-11-20"}]))
    [f] = [f for f in inside.findings if f.rule == "KD-DDI-004"]
    assert "9 of 14 washout days left" in f.message and f.unverified is None
    after = screen(patient(medications=[{"name": "phenelzine", "stopped": "2026-11-11"}]))
    assert after.status == "clear"
    ongoing = screen(patient(medications=[{"name": "phenelzine", "stopped": "2026-12-20"}]))
    assert "washout" not in ongoing.findings[0].message  # a planned stop: still taken


def test_a_stopped_medicine_without_a_published_washout_is_counted_and_marked(run, write):
    path = write(yaml.safe_dump({**BASE, "medications": [
        {"name": "theophylline", "started": "2019-01-01", "stopped": "2020-01-01"}]}), "p.yaml")
    r = run("check", "--patient", path, "--format", "json", "--date", "2026-11-25")
    [f] = json.loads(r.stdout)["findings"]
    # no longer the absolute "do not co-administer": a clinician judges, with a reason
    assert f["severity"] == "relative" and "UNVERIFIED" not in f["message"] and f["unverified"]
    assert "stopped 2020-01-01" in f["message"]
    r = run("check", "--patient", path, "--override", "stopped 6 years ago, confirmed",
            "--date", "2026-11-25")
    assert r.exit_code == 0 and "UNVERIFIED" in r.stdout


# ---------------------------------------------------------------- new rules
@pytest.mark.parametrize("regimen, wording", [
    ("crps-schwartzman-2009", "after it ends"), ("oral-marchetti-2015", "at every review")])
def test_antihypertensives_warn_of_hypotension(regimen, wording):
    s = screen(patient(medications=[{"name": "amlodipine"}]), regimen)
    [f] = [f for f in s.findings if f.rule == "KD-DDI-007"]
    assert f.severity == "caution" and "hypotension" in f.message and wording in f.message


def test_the_regimens_adjuncts_are_screened_against_medicines_and_allergies(run):
    flags = [f for f in FLAGS if f != "--no-medications"]
    r = run("check", "crps-schwartzman-2009", *flags, "--no-allergies", *PANEL, "--medication",
            "morphine:60mg/day", "--format", "json", "--date", "2026-11-25")
    found = {f["title"]: f for f in json.loads(r.stdout)["findings"] if f["rule"] == "KD-DDI-008"}
    assert "Opioid with a sedative adjunct" in found
    assert "midazolam" in found["Opioid with a sedative adjunct"]["message"]
    assert any("hypotension" in f["message"] and "clonidine" in f["message"] for f in found.values())
    s = screen(patient(allergies=["Catapres (rash)"]), "crps-schwartzman-2009")
    assert ("KD-DDI-008", "relative") in {(f.rule, f.severity) for f in s.findings}
    s = screen(patient(medications=[{"name": "gabapentin"}]), "sci-amr-2010")
    assert any(f.title == "Regimen adjunct already taken" for f in s.findings)
    assert not any(f.rule == "KD-DDI-008" for f in screen(patient(), "consensus-cohen-2018").findings)


@pytest.mark.parametrize("regimen", ["oral-marchetti-2015", "topical-rabi-2016"])
def test_monitoring_wording_fits_the_route(regimen):
    [f] = [f for f in screen(patient(), regimen).findings if f.rule == "KD-MON-001"]
    assert "infusion" not in f.message and "no testing interval" in f.message


# ---------------------------------------------------------------- UNVERIFIED marks, products
COMPLETE = FLAGS + ["--no-allergies"] + PANEL


@pytest.mark.parametrize("template", ["crps-sigtermans-2009", "crps-schwartzman-2009",
                                      "consensus-cohen-2018", "crps-ketcrps2-esketamine"])
def test_every_unverified_mark_reaches_the_table_the_html_and_the_csv(run, template):
    from ketadose.io.regimens import load_regimen

    regimen = load_regimen(template)[1]
    marks = regimen.unverified()
    args = ["plan", template, *COMPLETE, "--concentration", "1mg/mL"]
    table = run(*args, env={"COLUMNS": "200"}).stdout
    # the page holds each number to its unit with <span class='q'>: compare its text
    html = re.sub(r"</?span[^>]*>", "", run(*args, "--format", "html").stdout)
    csv_text = run(*args, "--format", "csv").stdout
    data = json.loads(run(*args, "--format", "json").stdout)
    assert len(data["unverified"]) == len(marks)
    flat = " ".join(table.split())
    for where, field, why in marks:
        short_why = " ".join(why.split())[:40]
        assert f"UNVERIFIED: {field}" in flat and short_why in flat, (where, field)
        assert short_why in " ".join(html.split()).replace("&#x27;", "'"), (where, field)
        assert short_why in csv_text, (where, field)


def test_the_sigtermans_maximum_is_marked_beside_the_number(run):
    args = ["plan", "crps-sigtermans-2009", *COMPLETE, "--concentration", "1mg/mL"]
    lines = run(*args).stdout.splitlines()
    head = next(i for i, x in enumerate(lines) if "as written" in x and "criteria" in x)
    a, b = lines[head].index("as written"), lines[head].index("mg/h")
    column = " ".join(" ".join(x[a:b] for x in lines[head + 2:head + 12]).split())
    assert "up to 7.2 mcg/kg/min [UNVERIFIED: max]" in column
    html = re.sub(r"</?span[^>]*>", "", run(*args, "--format", "html").stdout)
    assert "up to 7.2 mcg/kg/min <b>[UNVERIFIED max:" in html
    rows = run(*args, "--format", "csv").stdout.splitlines()
    header = rows[0].split(",")
    assert "unverified" in header and "max: 7.2 mcg/kg/min was not found" in rows[1]


def test_the_esketamine_plan_names_esketamine_products_not_racemic_vials(run):
    data = json.loads(run("plan", "crps-ketcrps2-esketamine", *COMPLETE, "--concentration",
                          "1mg/mL", "--format", "json").stdout)
    vials = data["preparation"]["vials"]
    assert {v["strength_mg_per_ml"] for v in vials} == {5.0, 25.0}
    assert all("Ketanest S" in v["note"] and "UNVERIFIED" in v["note"] for v in vials)
    racemic = json.loads(run("plan", "crps-schwartzman-2009", *COMPLETE, "--format", "json").stdout)
    assert {v["strength_mg_per_ml"] for v in racemic["preparation"]["vials"]} == {10.0, 50.0, 100.0}


@pytest.mark.parametrize("template, pmid", [("crps-goldberg-2010", "20648207"),
                                            ("crps-schwartzman-2009", "19783371")])
def test_outcome_sentences_cite_the_abstract(template, pmid):
    from ketadose.io.regimens import load_regimen

    r = load_regimen(template)[1]
    assert f"abstract, PMID {pmid}" in r.retreatment.relief_lasted
    assert f"abstract, PMID {pmid}" in " ".join(r.evidence[0].notes.split())


@settings(max_examples=budget(100), deadline=None)
@given(st.lists(st.tuples(st.text(alphabet='ab ,;"\n\r\'-', min_size=1, max_size=12),
                          st.sampled_from(["female", "male"])), min_size=1, max_size=5))
def test_csv_records_round_trip_whatever_the_quoting(rows):
    """RFC 4180: commas, doubled quotes and line breaks inside quoted fields stay in their field,
    and each record is one patient."""
    import csv
    import io

    from ketadose.io.batch import records

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")  # RFC 4180 line breaks
    writer.writerow(["id", "sex"])
    for rid, sex in rows:
        writer.writerow([rid, sex])
    got = list(records(io.BytesIO(buf.getvalue().encode()), "csv"))
    # values are stripped (as every cell is) and a CRLF inside a field reads as LF
    expected = [(rid.replace("\r\n", "\n").strip(), sex) for rid, sex in rows]
    assert [(d.get("id", ""), d["sex"]) for _n, d, _s in got] == expected


def test_the_installed_entry_point_never_writes_a_reasons_escapes_to_a_pipe(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({**BASE, "medications": [{"name": "memantine"}]}))
    reason = "\x1b]0;pwned\x07\x1b[2Jneurology\u200b agreed\u202e today"
    for fmt in ("table", "json"):
        r = subprocess.run([sys.executable, "-m", "ketadose", "check", "--patient", str(path),
                            "--override", reason, "--format", fmt],
                           capture_output=True, text=True, timeout=60)
        # refused whole (one line naming the first control character, itself escaped)
        assert r.returncode == 2 and r.stdout == "", r.stderr
        assert "\x1b" not in r.stderr and "\u202e" not in r.stderr
        assert r.stderr == "ketadose: error: --override: control character U+001B (a reader " \
            "cannot see it); remove it\n", r.stderr
        r = subprocess.run([sys.executable, "-m", "ketadose", "check", "--patient", str(path),
                            "--override", "neurology\u200b agreed today", "--format", fmt],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        assert "\x1b" not in r.stdout and "\u200b" not in r.stdout and "\u202e" not in r.stdout
        assert "neurology agreed today" in r.stdout
    r = subprocess.run([sys.executable, "-m", "ketadose", "check", "--patient", str(path),
                        "--allergy", "Ketalar", "--override", "reason long enough"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2  # the file says allergies: [] and the flag says Ketalar: give it once


def test_the_vocabulary_lists_the_allergy_substances(run):
    data = json.loads(run("vocabulary", "--format", "json").stdout)
    assert "spravato" in data["substances"]["ketamine"]["names"]
    assert data["washouts"]["maoi"]["days"] == 14
    assert {"cancer-pain", "crps"} <= set(data["conditions"])
