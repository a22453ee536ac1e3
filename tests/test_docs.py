"""`ketadose docs [NAME]`: the documents the sources cite ("docs/evidence.md E1"), shipped with
the package so that a clinician with only `pip install ketadose` can read them. Through the real
entry point: the list, one document, an unknown name, and output that cannot be written.
(.ci/check_wheel.py checks the same documents are in the wheel and read from it.)"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ketadose.io.docs import USER_DOCS

ROOT = Path(__file__).parent.parent
KETADOSE = [sys.executable, "-m", "ketadose"]


def ketadose(*args, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("timeout", 120)
    if "stdout" not in kw:
        kw["capture_output"] = True
    else:
        kw.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([*KETADOSE, *args], **kw, check=False)


def one_line(stderr: bytes) -> str:
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0] and "internal error" not in lines[0]
    return lines[0]


def test_setup_cfg_ships_the_documents_the_command_knows():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    shipped = cfg["options.package_data"]["ketadose.docs"].split()
    assert sorted(shipped) == sorted(f"{n}.md" for n in USER_DOCS)
    assert cfg["options"]["package_dir"].split().count("ketadose.docs") == 1
    assert all((ROOT / "docs" / f"{n}.md").is_file() for n in USER_DOCS)


def test_an_editable_install_made_before_the_docs_package_reads_the_source_tree(monkeypatch):
    """A source tree whose editable install predates setup.cfg's ketadose.docs (no such module
    to import) still finds its docs/."""
    from ketadose.io.docs import doc_text, folder

    monkeypatch.setitem(sys.modules, "ketadose.docs", None)  # import raises ModuleNotFoundError
    assert Path(folder()) == ROOT / "docs"
    assert doc_text("scale") == (ROOT / "docs" / "scale.md").read_text(encoding="utf-8")


def test_list_names_every_document_with_its_title():
    r = ketadose("docs")
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    out = r.stdout.decode()
    for name in USER_DOCS:
        title = (ROOT / "docs" / f"{name}.md").read_text(encoding="utf-8").splitlines()[0]
        assert re.search(rf"^{re.escape(name)} +{re.escape(title[2:])}$", out, re.M), name
    # developer documents are not listed
    assert not re.search(r"^(design|testing|speed|benchmarks)\b", out, re.M)


@pytest.mark.parametrize("given", ["evidence", "evidence.md", "docs/evidence.md", "Evidence"])
def test_one_document_is_printed_as_it_is(given):
    r = ketadose("docs", given)
    assert r.returncode == 0 and r.stderr == b"", r.stderr
    assert r.stdout == (ROOT / "docs" / "evidence.md").read_bytes()


def test_o_writes_the_document_to_a_file(tmp_path):
    target = tmp_path / "gate.md"
    r = ketadose("docs", "safety-gate", "-o", str(target), "--quiet")
    assert r.returncode == 0 and r.stdout == b"" and r.stderr == b""
    assert target.read_bytes() == (ROOT / "docs" / "safety-gate.md").read_bytes()


@pytest.mark.parametrize("given", ["nothing-here", "testing", "docs/design.md", ""])
def test_unknown_name_is_one_line_exit_2_with_the_names(given):
    r = ketadose("docs", given)
    assert r.returncode == 2 and r.stdout == b""
    line = one_line(r.stderr)
    assert all(n in line for n in USER_DOCS), line


def test_a_near_miss_is_named():
    r = ketadose("docs", "evidnce")
    assert r.returncode == 2 and "did you mean evidence?" in one_line(r.stderr)


def test_full_disk_is_a_failed_run():
    with open("/dev/full", "wb") as full:
        r = ketadose("docs", "evidence", stdout=full)
    assert r.returncode == 2 and "No space left" in one_line(r.stderr)


def test_closed_stdout_is_a_failed_run():
    r = ketadose("docs", stdout=subprocess.DEVNULL, close_fds=True,
                 preexec_fn=lambda: os.close(1))
    assert r.returncode == 2 and "standard output is closed" in one_line(r.stderr)


def test_closed_pipe_ends_quietly():
    """`ketadose docs evidence | head -1`: neither an error line nor a traceback."""
    proc = subprocess.Popen([*KETADOSE, "docs", "evidence"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()
    rc = proc.wait(timeout=120)
    assert rc in (0, 141)
    assert proc.stderr.read() == b""


def test_help_texts_say_how_to_read_the_documents_they_cite():
    """A help that cites a document names one that is shipped, and `ketadose docs NAME`."""
    from click.testing import CliRunner

    from ketadose.cli import cli

    for name in ["", *sorted(cli.commands)]:
        args = [name, "--help"] if name else ["--help"]
        text = " ".join(CliRunner().invoke(cli, args, terminal_width=80).output.split())
        for cited in re.findall(r"docs/([\w-]+)\.md", text):
            assert cited in USER_DOCS, (name, cited)
        for named in re.findall(r"`ketadose docs ([\w./-]+)`", text):
            assert named in USER_DOCS, (name, named)
        assert "See docs/" not in text, name
    serve = CliRunner().invoke(cli, ["serve", "--help"], terminal_width=80).output
    assert "`ketadose docs fhir-and-cds-hooks`" in " ".join(serve.split())


def test_the_command_is_loaded_only_when_run():
    """Start-up: neither ketadose.commands.docs nor ketadose.io.docs is imported by the CLI."""
    code = ("import sys, ketadose.cli\n"
            "print(sorted(m for m in sys.modules if m.endswith('.docs')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       check=True, timeout=120)
    assert r.stdout.strip() == "[]", r.stdout
