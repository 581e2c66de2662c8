"""The layers contract of pyproject.toml (run by `make lint`) places every module of the apps.

A module left out of every layer would be checked by no layer rule: its imports could close a
cycle between apps unnoticed. Package-wide layers (provisioning, api, ...) place new modules by
themselves; courses and config are split by module, so a new one of theirs must be listed.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def importlinter() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["tool"]["importlinter"]


def layered_names(config: dict) -> list[str]:
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    return [
        name.strip().strip("()")
        for layer in contract["layers"]
        for name in re.split(r"[|:]", layer)
    ]


def app_modules(root: Path, packages: list[str]) -> list[str]:
    """Every module but package markers, app configs and migrations (imported by Django only)."""
    modules = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if "migrations" in parts or parts[-1] in ("__init__", "apps"):
                continue
            modules.append(".".join(parts))
    return modules


def unplaced(modules: list[str], names: list[str]) -> list[str]:
    return [m for m in modules if not any(m == n or m.startswith(n + ".") for n in names)]


def test_every_app_module_is_in_a_layer():
    config = importlinter()

    missing = unplaced(app_modules(ROOT, config["root_packages"]), layered_names(config))

    assert not missing, (
        f"not in any layer of pyproject.toml's layers contract: {missing}; "
        "add each to the layer its imports put it in"
    )


def test_a_module_in_no_layer_is_reported(tmp_path):
    for name in ("courses/__init__.py", "courses/models.py", "courses/stray.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).touch()
    (tmp_path / "courses" / "migrations").mkdir()
    (tmp_path / "courses" / "migrations" / "0001_initial.py").touch()

    modules = app_modules(tmp_path, ["courses"])

    assert modules == ["courses.models", "courses.stray"]
    assert unplaced(modules, layered_names(importlinter())) == ["courses.stray"]
