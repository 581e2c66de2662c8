"""A clone alone passes: the suite reads nothing beside the repository (tests/conftest.py)."""

from __future__ import annotations

import json
import sys

import pytest

from tests.conftest import ReadBesideRepositoryError, reading_beside_repository
from tests.helpers import REFERENCE, ROOT


@pytest.mark.parametrize(
    "beside",
    [
        ROOT.parent / "reference-material" / "discord-openapi.json",  # a folder beside the clone
        ROOT.parent / "nothing-here.txt",  # refused before the file system is even asked
        ROOT.parent / (ROOT.name + "-other") / "README.md",  # a sibling sharing our prefix
    ],
)
def test_opening_a_file_beside_the_repository_fails_loudly(beside):
    with pytest.raises(ReadBesideRepositoryError, match="beside the repository") as raised:
        open(beside, encoding="utf-8")  # noqa: SIM115 - the open itself must be refused
    assert str(beside) in str(raised.value)
    with pytest.raises(ReadBesideRepositoryError):
        beside.read_bytes()


def test_a_relative_path_up_and_out_is_refused_too(monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(ReadBesideRepositoryError, match="reference-material"):
        open("../reference-material/discord-openapi.LICENSE")  # noqa: SIM115


def test_the_repository_temporary_files_and_the_interpreter_stay_readable(tmp_path):
    (tmp_path / "scratch.txt").write_text("ok", encoding="utf-8")
    assert (tmp_path / "scratch.txt").read_text(encoding="utf-8") == "ok"
    assert (ROOT / "pyproject.toml").read_bytes()
    assert not reading_beside_repository(sys.executable)
    assert not reading_beside_repository(str(ROOT))


def test_the_reference_material_is_in_the_repository_with_its_licences():
    assert REFERENCE.is_relative_to(ROOT)
    json.loads((REFERENCE / "discord-openapi.json").read_text(encoding="utf-8"))
    assert "MIT" in (REFERENCE / "discord-openapi.LICENSE").read_text(encoding="utf-8")
    assert "MIT" in (REFERENCE / "octokit-fixtures" / "LICENSE.md").read_text(encoding="utf-8")
    assert sorted(REFERENCE.glob("octokit-fixtures/*.json"))
