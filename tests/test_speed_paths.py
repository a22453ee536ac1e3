"""Short cuts taken for speed (issue 18) give the same answers as the long way."""

import os

import pytest

from conftest import REGIMENS, template_text
from ketadose.io import regimens as io_regimens
from ketadose.io.regimens import catalogue, resolve


def test_every_shipped_template_is_named_after_its_id():
    # what lets a lookup by id read one shipped file instead of all of them
    cat = catalogue()
    assert len(cat) >= 9
    for rid, src in cat.items():
        assert os.path.basename(src.name) == rid + ".yaml"


def test_lookup_by_id_reads_one_file_and_equals_the_catalogue(monkeypatch):
    expected = {rid: (src.name, src.raw, src.doc.data) for rid, src in catalogue().items()}
    reads = []
    real = io_regimens.read_source
    monkeypatch.setattr(io_regimens, "read_source", lambda p: reads.append(p) or real(p))
    monkeypatch.delenv(io_regimens.ENV_VAR, raising=False)
    for rid, want in expected.items():
        reads.clear()
        src = resolve(rid)
        assert (src.name, src.raw, src.doc.data) == want
        assert len(reads) == 1


@pytest.mark.parametrize("where", ["env", "flag"])
def test_a_clinic_folder_still_sees_every_template(tmp_path, monkeypatch, where):
    folder = tmp_path / "clinic"
    folder.mkdir()
    (folder / "copy.yaml").write_text(template_text())  # the shipped id a second time
    extra = ()
    if where == "env":
        monkeypatch.setenv(io_regimens.ENV_VAR, str(folder))
    else:
        extra = (str(folder),)
    with pytest.raises(Exception, match="defined twice"):
        resolve("crps-schwartzman-2009", extra)


def test_names_that_are_not_plain_ids_take_the_long_way(monkeypatch):
    monkeypatch.delenv(io_regimens.ENV_VAR, raising=False)
    assert io_regimens._shipped_by_name(".crps-schwartzman-2009") is None
    assert io_regimens._shipped_by_name("no-such-template") is None
    assert io_regimens._shipped_by_name("crps-schwartzman-2009").name.endswith(
        "crps-schwartzman-2009.yaml")
    assert REGIMENS.joinpath("crps-schwartzman-2009.yaml").is_file()
