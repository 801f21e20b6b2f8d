"""Tests of the layering (README, Architecture): `jobs/` (the follow-up domain) imports
nothing of ours, nor SQLAlchemy, SQLModel or Telegram; `db/` (storage) imports nothing of
`bot/`, `office/` or Telegram; `office/` nothing of `bot/` or Telegram; `bot/` imports the
stand-in (`standin/`) only inside a function (the demo's), never when the bot loads.

Checked twice: by importing every domain module in a fresh interpreter and looking at
`sys.modules`, and statically, by parsing every file under `jobs/` and `db/` with `ast`
(which also covers imports inside functions that a plain import would not run).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN_MODULES = (
    "jobs.policy",
    "jobs.digest",
    "jobs.escalation",
    "jobs.lights",
    "jobs.schedule",
    "jobs.calendar",
    "jobs.types",
    "jobs.state",
    "jobs.dates",
    "jobs.scope",
    "jobs.hold",
    "jobs.names",
    "jobs.backfill",
)
OURS = frozenset({"db", "bot", "office", "standin", "bench", "tests"})
FORBIDDEN_IN_JOBS = OURS | {"sqlalchemy", "sqlmodel", "telegram"}
FORBIDDEN_IN_DB = frozenset({"bot", "office", "standin", "bench", "tests", "telegram"})
FORBIDDEN_IN_OFFICE = frozenset({"bot", "standin", "bench", "tests", "telegram"})


def imported_roots(path: Path, *, module_level_only: bool = False) -> set[str]:
    """The top-level package of every absolute import in the file at `path` (relative
    imports name the file's own package and are left out); with `module_level_only`, only
    the imports that run when the module loads (not those inside a function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    in_functions = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
    }
    roots: set[str] = set()
    for node in ast.walk(tree):
        if module_level_only and id(node) in in_functions:
            continue
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def python_files(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    return files


def test_importing_the_domain_loads_no_storage_and_no_telegram():
    code = (
        f"import {', '.join(DOMAIN_MODULES)}; import sys, json; "
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    loaded = set(json.loads(done.stdout))
    assert "jobs" in loaded
    assert loaded & FORBIDDEN_IN_JOBS == set()


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("jobs", FORBIDDEN_IN_JOBS), ("db", FORBIDDEN_IN_DB), ("office", FORBIDDEN_IN_OFFICE)],
)
def test_no_file_imports_a_layer_above_it(package, forbidden):
    offending = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & forbidden)
        for path in python_files(package)
    }
    assert {name: roots for name, roots in offending.items() if roots} == {}


def test_the_bot_loads_without_the_standin():
    loading = {
        str(path.relative_to(ROOT)): sorted(
            imported_roots(path, module_level_only=True) & {"standin", "bench", "tests"}
        )
        for path in python_files("bot")
    }
    assert {name: roots for name, roots in loading.items() if roots} == {}


def test_imported_roots_sees_nested_and_from_imports(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os.path\n"
        "from db.models import Task\n"
        "from . import sibling\n"
        "def f():\n"
        "    import telegram.ext\n",
        encoding="utf-8",
    )
    assert imported_roots(sample) == {"os", "db", "telegram"}
    assert imported_roots(sample, module_level_only=True) == {"os", "db"}
