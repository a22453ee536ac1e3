import json

from conftest import template_text


def test_list_json_shape(run):
    r = run("list", "--format", "json")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert len(data) >= 9
    for item in data:
        assert set(item) >= {"id", "title", "conditions", "drug", "route", "setting",
                             "source_file", "evidence"}
        for e in item["evidence"]:
            assert set(e) >= {"citation", "pmid", "design", "n"}


def test_list_filters(run):
    data = json.loads(run("list", "--route", "sc", "--format", "json").stdout)
    assert [d["id"] for d in data] == ["cancer-pain-burst-ketamine"]
    data = json.loads(run("list", "--condition", "crps", "--format", "json").stdout)
    assert {d["id"] for d in data} >= {"crps-schwartzman-2009", "crps-sigtermans-2009"}
    assert all("crps" in d["conditions"] for d in data)


def test_list_table(run):
    r = run("list")
    assert r.exit_code == 0 and "crps-sigtermans-2009" in r.stdout


def test_show_table_marks_unverified(run):
    r = run("show", "crps-sigtermans-2009")
    assert r.exit_code == 0
    assert "UNVERIFIED" in r.stdout and "19604642" in r.stdout


def test_show_yaml_is_the_file(run):
    assert run("show", "sci-amr-2010", "--format", "yaml").stdout == template_text("sci-amr-2010.yaml")


def test_show_json(run):
    data = json.loads(run("show", "crps-sigtermans-2009", "--format", "json").stdout)
    assert data["regimen"]["id"] == "crps-sigtermans-2009" and len(data["sha256"]) == 64
    assert any(u["field"] == "max" for u in data["unverified"])


def test_show_unknown_id_suggests(run):
    r = run("show", "crps-schwartzman")
    assert r.exit_code == 2 and "did you mean" in r.stderr


def test_new_validates_cleanly(run, tmp_path):
    out = tmp_path / "mine.yaml"
    r = run("new", "--from", "crps-schwartzman-2009", "-o", str(out))
    assert r.exit_code == 0
    text = out.read_text()
    assert text.startswith("# A custom ketadose regimen") and "\nid: crps-schwartzman-2009-local\n" in text
    assert run("validate", str(out)).exit_code == 0
    # never overwritten silently
    again = run("new", "--from", "crps-schwartzman-2009", "-o", str(out))
    assert again.exit_code == 2 and "--force" in again.stderr
    assert run("new", "--from", "sci-amr-2010", "-o", str(out), "--force").exit_code == 0
    assert "sci-amr-2010-local" in out.read_text()


def test_new_refuses_bad_or_taken_id(run):
    assert run("new", "--from", "sci-amr-2010", "--id", "Bad Id").exit_code == 2
    assert run("new", "--from", "sci-amr-2010", "--id", "crps-schwartzman-2009").exit_code == 2


def test_clinic_folder_by_option_and_environment(run, tmp_path):
    folder = tmp_path / "clinic"
    folder.mkdir()
    run("new", "--from", "sci-amr-2010", "--id", "clinic-sci", "-o", str(folder / "clinic-sci.yaml"))
    r = run("--regimens", str(folder), "show", "clinic-sci", "--format", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["regimen"]["id"] == "clinic-sci"
    r = run("list", "--format", "json", env={"KETADOSE_REGIMENS": str(folder)})
    assert "clinic-sci" in {d["id"] for d in json.loads(r.stdout)}
    assert run("validate", "clinic-sci", env={"KETADOSE_REGIMENS": str(folder)}).exit_code == 0


def test_id_defined_twice_names_both_files(run, tmp_path):
    folder = tmp_path / "clinic"
    folder.mkdir()
    (folder / "copy.yaml").write_text(template_text())
    # reported once, and never resolved to either file (issue 16: the rest of the folder works)
    r = run("--regimens", str(folder), "list", "--format", "json")
    assert r.exit_code == 0 and r.stderr.count("defined twice") == 1
    assert "crps-schwartzman-2009" not in {d["id"] for d in json.loads(r.stdout)}
    r = run("--regimens", str(folder), "show", "crps-schwartzman-2009")
    assert r.exit_code == 2
    assert "defined twice" in r.stderr and "copy.yaml" in r.stderr
    assert "crps-schwartzman-2009.yaml" in r.stderr


def test_missing_folder_is_an_input_error(run, tmp_path):
    r = run("--regimens", str(tmp_path / "nope"), "list")
    assert r.exit_code == 2


def test_invalid_local_template_is_refused_with_location(run, tmp_path):
    folder = tmp_path / "clinic"
    folder.mkdir()
    bad = template_text().replace("id: crps-schwartzman-2009", "id: bad-one").replace(
        "rate: 0.35 mg/kg/h", "rate: 22.2 mg/kg/h")
    (folder / "bad.yaml").write_text(bad)
    r = run("--regimens", str(folder), "show", "bad-one")
    assert r.exit_code == 2 and "KD-LIM-001" in r.stderr and "bad.yaml:" in r.stderr
