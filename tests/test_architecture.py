"""The layering of DESIGN §3 is checked by import-linter (``./dev lint``):
the contract holds today, and it would break if a domain imported the API."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(src: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"),
                           "--no-cache"], env=env, capture_output=True, text=True, cwd=src)


def test_the_layers_contract_holds():
    result = lint_imports(ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_a_domain_importing_the_api_breaks_the_contract(tmp_path):
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "letter", copy / "letter",
                    ignore=shutil.ignore_patterns("__pycache__", "static", "frontend"))
    service = copy / "letter" / "contacts" / "service.py"
    service.write_text(service.read_text() + "\nfrom letter.api import deps  # noqa\n")
    result = lint_imports(copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "letter.contacts.service -> letter.api.deps" in result.stdout
