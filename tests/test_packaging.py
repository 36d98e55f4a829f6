"""What the installed core says about the environment it finds itself in."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import flyteplugins.hydra

CORE = Path(flyteplugins.hydra.__file__).parent


def import_core_from(site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", "import flyteplugins.hydra as m; print(m.__file__)"],
        check=False,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(site), "PATH": ""},
        timeout=60,
    )


def copy_of_core(tmp_path: Path) -> Path:
    site = tmp_path / "site-packages"
    shutil.copytree(CORE, site / "flyteplugins" / "hydra", ignore=shutil.ignore_patterns("__pycache__"))
    return site


def test_a_clean_core_imports_without_warnings(tmp_path):
    site = copy_of_core(tmp_path)

    proc = import_core_from(site)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(site / "flyteplugins" / "hydra" / "__init__.py")


def test_modules_left_by_flyteplugins_hydra_2x_warn_with_the_fix(tmp_path):
    site = copy_of_core(tmp_path)
    (site / "flyteplugins" / "hydra" / "_run.py").write_text("")

    proc = import_core_from(site)

    assert proc.returncode != 0
    assert "flyteplugins-hydra 2.x is still installed" in proc.stderr
    assert "_run.py" in proc.stderr
    assert "pip uninstall flyteplugins-hydra" in proc.stderr
