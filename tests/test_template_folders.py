"""A clinic's template folder survives one bad file (issue 16 item 2), through the real CLI."""

import json

import pytest

from conftest import template_text


@pytest.fixture
def clinic(tmp_path, run):
    folder = tmp_path / "clinic"
    folder.mkdir()
    good = template_text().replace("id: crps-schwartzman-2009", "id: clinic-good")
    (folder / "good.yaml").write_text(good)
    (folder / "broken.yaml").write_text("id: broken\nroute: [iv\n")
    over = template_text().replace("id: crps-schwartzman-2009", "id: clinic-over").replace(
        "rate: 0.35 mg/kg/h", "rate: 22.2 mg/kg/h")
    (folder / "over.yaml").write_text(over)
    (folder / "good.bak.yaml").write_text(good)  # a backup copy reusing an id
    return folder


def warnings(r):
    return [line for line in r.stderr.splitlines() if line.startswith("warning: ")]


def test_list_skips_each_bad_template_with_one_warning(run, clinic):
    r = run("--regimens", str(clinic), "list", "--format", "json")
    assert r.exit_code == 0
    ids = {d["id"] for d in json.loads(r.stdout)}
    assert "crps-schwartzman-2009" in ids and not ids & {"clinic-good", "clinic-over", "broken"}
    w = warnings(r)
    assert len(w) == 3, w
    assert any(f"{clinic}/broken.yaml:3:1: invalid YAML" in x and "template skipped" in x for x in w)
    assert any(f"{clinic}/over.yaml:" in x and "KD-LIM-001" in x for x in w)
    assert any("'clinic-good' is defined twice" in x and "good.bak.yaml" in x
               and f"{clinic}/good.yaml" in x for x in w)


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_valid_id_still_works_and_regimens_goes_either_side(run, clinic, where):
    args = ["show", "sci-amr-2010", "--format", "json"]
    args = ["--regimens", str(clinic), *args] if where == "before" else [*args, "--regimens",
                                                                          str(clinic)]
    r = run(*args)
    assert r.exit_code == 0 and json.loads(r.stdout)["regimen"]["id"] == "sci-amr-2010"
    assert len(warnings(r)) == 2  # the broken file and the duplicate; `over` is not validated


def test_naming_a_bad_template_is_the_error(run, clinic):
    r = run("show", "broken", "--regimens", str(clinic))
    last = r.stderr.splitlines()[-1]
    assert r.exit_code == 2 and last.startswith(f"ketadose: error: {clinic}/broken.yaml:3:1: invalid YAML")
    assert all("broken.yaml" not in w for w in warnings(r))  # the error, not also a warning
    r = run("plan", "clinic-good", "--regimens", str(clinic), "--weight", "70kg")
    assert r.exit_code == 2 and "'clinic-good' is defined twice" in r.stderr
    assert "good.bak.yaml" in r.stderr and f"{clinic}/good.yaml" in r.stderr
    r = run("show", "clinic-over", "--regimens", str(clinic))
    assert r.exit_code == 2 and "KD-LIM-001" in r.stderr and "over.yaml:" in r.stderr
    r = run("show", str(clinic / "broken.yaml"))
    assert r.exit_code == 2 and "broken.yaml:3:1: invalid YAML" in r.stderr


def test_new_refuses_an_id_taken_by_a_bad_template(run, clinic):
    for rid in ("clinic-good", "clinic-over"):
        r = run("new", "--from", "sci-amr-2010", "--id", rid,
                "--regimens", str(clinic))
        assert r.exit_code == 2 and "already a template id" in r.stderr


def test_validate_takes_folders_recursively(run, clinic):
    sub = clinic / "sub"
    sub.mkdir()
    (sub / "deep.yml").write_text("id: deep\n")
    (sub / "notes.txt").write_text("not a template")
    (clinic / ".git").mkdir()
    (clinic / ".git" / "x.yaml").write_text("[")
    r = run("validate", str(clinic), "--format", "json")
    assert r.exit_code == 1  # as for several files: some have errors
    files = {f["file"] for f in json.loads(r.stdout)}
    assert f"{clinic}/broken.yaml" in files and f"{clinic}/sub/deep.yml" in files
    assert f"{clinic}/over.yaml" in files and not any(".git" in f for f in files)
    assert not any(f.endswith(".txt") for f in files)


def test_validate_a_clean_folder_and_an_empty_one(run, tmp_path):
    ok = tmp_path / "ok"
    ok.mkdir()
    (ok / "a.yaml").write_text(template_text().replace("id: crps-schwartzman-2009", "id: a-1"))
    assert run("validate", str(ok)).exit_code == 0
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run("validate", str(empty))
    assert r.exit_code == 2
    assert r.stderr == f"ketadose: error: {empty}: folder has no *.yaml or *.yml files\n"


def test_every_template_command_documents_regimens(run):
    for cmd in ("validate", "list", "show", "new", "check", "plan", "simulate", "compare",
                "verify", "serve"):
        r = run(cmd, "--help")
        assert r.exit_code == 0 and "--regimens DIR" in r.stdout, cmd
