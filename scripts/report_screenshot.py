"""Remake `docs/report.png`: the walkthrough's grid sweep, run as the README says, then its report in Chromium.

uv run python scripts/report_screenshot.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OVERRIDES = ["optimizer.lr=0.001,0.01,0.1", "model=resnet,vit", "training.epochs=10,30"]


def main() -> int:
    sys.path.insert(0, str(ROOT / "tests"))
    from browser import Chromium, chromium_binary

    from flyteplugins.hydra._html_report import write_report_from_journal

    with tempfile.TemporaryDirectory() as tmp:
        sweep_dir = Path(tmp) / "sweep"
        command = [sys.executable, "train.py", "--multirun", "hydra/launcher=flyte", "hydra.launcher.mode=local"]
        subprocess.run(
            [*command, *OVERRIDES, f"hydra.sweep.dir={sweep_dir}"],
            cwd=ROOT / "examples",
            check=True,
            capture_output=True,
            timeout=300,
        )
        report = write_report_from_journal(sweep_dir)
        browser = Chromium(chromium_binary())
        try:
            page = browser.new_page(width=1240, height=1500)
            page.open(report)
            target = page.screenshot(ROOT / "docs" / "report.png")
        finally:
            browser.close()
    print(f"{target} ({target.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
