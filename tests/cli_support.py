"""Driving `flyte hydra run` in tests: through flyte's own CLI in-process, or as the real `flyte` executable."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result
from conftest import APPS, EXAMPLES, ROOT

APP_CONF = APPS / "conf"
TASKS = APPS / "tasks.py"
TRAIN = EXAMPLES / "train.py"
FLYTE = Path(sys.executable).parent / "flyte"
CLI_README = ROOT / "packages" / "flyte-hydra-cli" / "README.md"

# Wide enough that rich-click never folds a message (or a temp path) across lines.
_WIDE = {"COLUMNS": "400"}
_BOX = re.compile(r"[\u2500-\u257f]")


def flyte_cli(*args: str | os.PathLike[str], env: dict[str, str] | None = None) -> Result:
    """`flyte ARGS...` through flyte's root command and Click's test runner, as the executable would run it."""
    from flyte.cli.main import main
    from flyte.config._reader import get_config_file

    # flyte caches where it found its config for the life of the process; each `flyte` command is a new one,
    # and nothing it found may leak into later tests.
    get_config_file.cache_clear()
    try:
        return CliRunner().invoke(main, [os.fspath(a) for a in args], env={**_WIDE, **(env or {})}, prog_name="flyte")
    finally:
        get_config_file.cache_clear()


def hydra_run(*args: str | os.PathLike[str], env: dict[str, str] | None = None) -> Result:
    return flyte_cli("hydra", "run", *args, env=env)


def flyte_exe(
    *args: str | os.PathLike[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The installed `flyte` executable in a fresh interpreter, the way a user's shell runs it."""
    return subprocess.run(
        [str(FLYTE), *(os.fspath(a) for a in args)],
        cwd=cwd,
        env={**os.environ, **_WIDE, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=90,
    )


def readme_commands(readme: Path) -> list[str]:
    """The `flyte hydra run ...` lines of a README's bash blocks, as written."""
    blocks = re.findall(r"```bash\n(.*?)```", readme.read_text(), re.DOTALL)
    return [line for block in blocks for line in block.splitlines() if line.startswith("flyte hydra run ")]


def flat(text: str) -> str:
    """Output with rich's boxes removed and whitespace collapsed, for matching messages."""
    return " ".join(_BOX.sub(" ", text).split())


def completion_env(line: str) -> dict[str, str]:
    """Click's bash completion protocol for the words of `line`; a trailing space starts a new word."""
    words = shlex.split(line)
    cword = len(words) if line.endswith(" ") else len(words) - 1
    return {"_FLYTE_COMPLETE": "bash_complete", "COMP_WORDS": line, "COMP_CWORD": str(cword)}


def parse_completions(stdout: str) -> list[tuple[str, str]]:
    """(type, value) pairs from Click's bash completion output."""
    return [tuple(line.split(",", 1)) for line in stdout.splitlines() if line]  # type: ignore[misc]


def complete(line: str) -> list[str]:
    """What completing `line` offers, through flyte's CLI in-process."""
    result = flyte_cli(env=completion_env(line))
    assert result.exit_code == 0, result.output
    return [value for _, value in parse_completions(result.stdout)]
