"""nit24: output defects left open by earlier reviews, reproduced through the CLI."""

from __future__ import annotations

import csv
import io
import json


def test_compare_shows_model_status_and_warns_only_on_mixed_forms(run):
    both = ("--weight", "70 kg")
    racemic = ("compare", "crps-schwartzman-2009", "consensus-cohen-2018", *both)
    doc = json.loads(run(*racemic, "--format", "json").stdout)
    assert [r["model_status"] for r in doc["regimens"]] == ["verified (abstract)"] * 2
    rows = list(csv.DictReader(io.StringIO(run(*racemic, "--format", "csv").stdout)))
    assert [r["model_status"] for r in rows] == ["verified (abstract)"] * 2
    table = run(*racemic).stdout
    assert "herd-2007 (verified (abstract))" in " ".join(table.split())
    assert "not comparable" not in table
    population = run(*racemic, "--population", "20").stdout
    assert "herd-2007 (verified (abstract))" in population and "not comparable" not in population
    mixed = ("compare", "crps-schwartzman-2009", "crps-sigtermans-2009", *both)
    table = " ".join(run(*mixed).stdout.split())
    assert "flint-2017 (transcribed in code)" in table
    assert table.count("Esketamine and racemic concentrations are not comparable one to one.") == 2
    population = " ".join(run(*mixed, "--population", "20").stdout.split())
    assert population.count("not comparable one to one") == 2  # the caption and the chart's note


def test_html_session_has_starts_and_the_oral_per_intake_maximum(run):
    import re

    def session(html):
        part = html[html.index("<h2>Session</h2>"):]
        part = part[:part.index("</table>")]
        return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<t[hd]>(.*?)</t[hd]>", part)]

    cells = session(run("plan", "consensus-cohen-2018", "--weight", "70 kg", "--format", "html",
                        "--start", "2026-12-01 08:00").stdout)
    assert cells[:8] == ["phase", "as written", "rate", "pump", "duration", "dose", "starts", "criteria"]
    assert "Tue 01 Dec 08:00" in cells and "Tue 01 Dec 08:01" in cells
    # as the terminal table: the same start times, and the per-intake range of an oral titration
    table = run("plan", "consensus-cohen-2018", "--weight", "70 kg",
                "--start", "2026-12-01 08:00").stdout
    assert "Tue 01 Dec 08:01" in table
    cells = session(run("plan", "oral-marchetti-2015", "--weight", "70 kg", "--format", "html").stdout)
    doc = json.loads(run("plan", "oral-marchetti-2015", "--weight", "70 kg", "--format", "json").stdout)
    [phase] = doc["sessions"][0]["phases"]
    assert (phase["per_dose_mg"], phase["per_dose_mg_max"]) == (35, 70)
    assert "35-70 mg × 3/day" in cells
    assert "35-70 mg x 3/day" in run("plan", "oral-marchetti-2015", "--weight", "70 kg").stdout


def test_tables_do_not_pad_lines_with_trailing_spaces(run):
    outputs = [run("plan", "crps-sigtermans-2009", "--weight", "90 kg").stdout,
               run("compare", "crps-schwartzman-2009", "consensus-cohen-2018", "--weight", "70 kg").stdout,
               run("check", "consensus-cohen-2018", "--weight", "70 kg").stdout]
    for out in outputs:
        assert out.count("\n") > 10
        assert [ln for ln in out.splitlines() if ln.endswith(" ")] == []


def test_simulate_population_explain_refusal_says_why_and_where(run):
    r = run("simulate", "consensus-cohen-2018", "--weight", "70 kg", "--population", "20", "--explain")
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.count("\n") == 1
    assert "one patient's parameters" in r.stderr and "compare ID --population N --explain" in r.stderr
