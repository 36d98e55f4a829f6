"""Build every distribution and prove each install story works from the wheels alone.

    uv run --no-sync python scripts/check_dists.py [--keep] [--no-upgrade]

Each scenario gets a fresh `uv venv` that installs only the wheels built here plus the registry
(uv's cache makes the third-party part cheap), then runs the walkthrough app the way a user would:

  build          uv build --all-packages; twine check; license, readme, changelog, py.typed in each artifact
  launcher-only  pip install hydra-flyte-launcher: Hydra finds hydra/launcher=flyte, a local sweep
                 of examples/train.py completes, and `flyte hydra` does not exist
  cli-only       pip install flyte-hydra-cli: `flyte hydra run --help` and a local sweep through it
  meta           pip install flyteplugins-hydra: launcher, CLI and SDK all work
  upgrade-*      the published flyteplugins-hydra 2.12.1 first, then ours over it, with uv and with pip:
                 our modules win and nothing of 2.12.1 is left behind (pip needs 2.x uninstalled first;
                 the one-step pip upgrade and a part installed beside 2.x are repaired as documented)

The last line is `dist-check: N passed, N failed, N skipped`; the exit status is 1 if any check failed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PREVIOUS = "flyteplugins-hydra==2.12.1"  # the last release of the single-distribution predecessor
OURS = ("flyteplugins-hydra", "flyteplugins-hydra-core", "hydra-flyte-launcher", "flyte-hydra-cli")
CODE_DIRS = ("flyteplugins/hydra", "flyteplugins/hydra_cli", "hydra_plugins/hydra_flyte_launcher")
CLI_ENTRY_POINT_GROUP = "flyte.plugins.cli.commands"
LAUNCHER_SWEEP = ("--multirun", "hydra/launcher=flyte", "hydra.launcher.mode=local", "optimizer.lr=0.001,0.01")
CLI_SWEEP = (
    *("hydra", "run", "--local", "--multirun", "--config-path", "conf", "--config-name", "training"),
    *("train.py", "pipeline", "--dataset", "imagenet", "--cfg", "optimizer.lr=0.001,0.01"),
)
SDK_SWEEP = """
from flyteplugins.hydra import hydra_sweep
from train import pipeline

results = hydra_sweep(pipeline, config_path="conf", config_name="training",
                      overrides=["optimizer.lr=0.001,0.01"], mode="local", dataset="imagenet")
assert len(results) == 2, results
print("sdk sweep:", [float(r) for r in results])
"""


class CheckFailed(Exception):
    """A check's expectation did not hold; the message says what was seen."""


class Skipped(Exception):
    """A check that cannot run on this tree yet; the message says why."""


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


@dataclass
class Wheel:
    path: Path
    name: str
    version: str
    files: dict[str, str] = field(default_factory=dict)  # path in site-packages -> RECORD hash
    entry_points: str = ""


@dataclass
class Context:
    work: Path
    dist: Path
    python: str
    wheels: dict[str, Wheel] = field(default_factory=dict)
    constraints: Path | None = None

    def owner(self, rel: str) -> str:
        return next(w.name for w in self.wheels.values() if rel in w.files)

    @property
    def cli_implemented(self) -> bool:
        return f"[{CLI_ENTRY_POINT_GROUP}]" in self.wheels["flyte-hydra-cli"].entry_points


def run(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None, ok: bool = True):
    """Run a command; on an unexpected exit status fail with its output."""
    proc = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if ok and proc.returncode != 0:
        raise CheckFailed(
            f"`{' '.join(str(c) for c in cmd)}` exited {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
        )
    return proc


def user_env(ctx: Context, venv: Path) -> dict[str, str]:
    """The environment of a user who activated `venv`, with no Flyte config of their own."""
    env = {k: v for k, v in os.environ.items() if k not in ("FLYTECTL_CONFIG", "UCTL_CONFIG", "FLYTE_CONFIG")}
    env.pop("PYTHONPATH", None)
    home = ctx.work / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


# --- building ----------------------------------------------------------------------------------


def read_wheel(path: Path) -> Wheel:
    name, version = path.name.split("-")[:2]
    wheel = Wheel(path=path, name=_norm(name), version=version)
    with zipfile.ZipFile(path) as zf:
        dist_info = f"{name}-{version}.dist-info"
        for line in zf.read(f"{dist_info}/RECORD").decode().splitlines():
            file, digest, _ = line.rsplit(",", 2)
            if not file.startswith(dist_info):
                wheel.files[file] = digest
        if f"{dist_info}/entry_points.txt" in zf.namelist():
            wheel.entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
    return wheel


def check_build(ctx: Context) -> str:
    run(["uv", "build", "--all-packages", "--out-dir", ctx.dist], cwd=ROOT)
    wheels = sorted(ctx.dist.glob("*.whl"))
    sdists = sorted(ctx.dist.glob("*.tar.gz"))
    ctx.wheels = {w.name: w for w in map(read_wheel, wheels)}
    if sorted(ctx.wheels) != sorted(OURS) or len(sdists) != len(OURS):
        raise CheckFailed(f"expected a wheel and an sdist of each of {OURS}, got {[p.name for p in wheels + sdists]}")
    run(["uv", "run", "--no-sync", "twine", "check", "--strict", *wheels, *sdists], cwd=ROOT)

    problems = []
    for wheel in ctx.wheels.values():
        with zipfile.ZipFile(wheel.path) as zf:
            names = zf.namelist()
            metadata = zf.read(f"{wheel.path.name.split('-')[0]}-{wheel.version}.dist-info/METADATA").decode()
        if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
            problems.append(f"{wheel.path.name}: no LICENSE")
        if "License-Expression: Apache-2.0" not in metadata or "Classifier: " not in metadata:
            problems.append(f"{wheel.path.name}: no license expression or no classifiers in METADATA")
        if len(metadata.split("\n\n", 1)[-1].strip()) < 200:
            problems.append(f"{wheel.path.name}: README (long description) is nearly empty")
        if wheel.name != "flyteplugins-hydra" and not any(n.endswith("/py.typed") for n in names):
            problems.append(f"{wheel.path.name}: no py.typed")
        if wheel.name == "flyteplugins-hydra" and wheel.files:
            problems.append(f"{wheel.path.name}: the meta-package must own no files, has {sorted(wheel.files)}")
    for sdist in sdists:
        out = run(["tar", "tzf", sdist]).stdout.split()
        members = {m.split("/", 1)[1] for m in out if "/" in m}
        for required in ("LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml"):
            if required not in members:
                problems.append(f"{sdist.name}: no {required}")
        if any(m.startswith(("tests/", "packages/", "examples/", ".ci/", "uv.lock")) for m in members):
            problems.append(f"{sdist.name}: carries workspace files: {sorted(members)}")
    if problems:
        raise CheckFailed("\n".join(problems))

    ctx.constraints = ctx.work / "ours.txt"
    ctx.constraints.write_text("".join(f"{w.name}=={w.version}\n" for w in ctx.wheels.values()))
    return ", ".join(f"{w.name} {w.version}" for w in ctx.wheels.values())


# --- installing --------------------------------------------------------------------------------


def new_venv(ctx: Context, label: str, *, seed: bool = False) -> Path:
    venv = ctx.work / f"venv-{label}"
    run(["uv", "venv", "--quiet", "--python", ctx.python, *(["--seed"] if seed else []), venv])
    return venv


def uv_install(ctx: Context, venv: Path, *requirements: str) -> None:
    """`uv pip install` with our dists coming only from the wheels built here."""
    assert ctx.constraints is not None
    run(
        ["uv", "pip", "install", "--python", venv / "bin" / "python", "--find-links", ctx.dist,
         "--constraint", ctx.constraints, *requirements],
    )  # fmt: skip


def pip_install(ctx: Context, venv: Path, *args: str) -> None:
    assert ctx.constraints is not None
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--find-links", ctx.dist,
         "--constraint", ctx.constraints, *args], env=user_env(ctx, venv))  # fmt: skip


def site_packages(venv: Path) -> Path:
    out = run([venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    return Path(out.stdout.strip())


def installed_dists(venv: Path) -> dict[str, str]:
    out = run([venv / "bin" / "python", "-c", (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )])  # fmt: skip
    return {_norm(k): v for k, v in json.loads(out.stdout).items()}


def expect_ours(ctx: Context, venv: Path, expected: set[str]) -> None:
    """Exactly `expected` of our dists are installed, and every file they own is the one in our wheel."""
    dists = installed_dists(venv)
    present = {name for name in OURS if name in dists}
    if present != expected:
        raise CheckFailed(f"expected our distributions {sorted(expected)}, found {sorted(present)}")
    for name in expected:
        if dists[name] != ctx.wheels[name].version:
            raise CheckFailed(f"{name} {dists[name]} is installed, not the freshly built {ctx.wheels[name].version}")

    root = site_packages(venv)
    owned = {}
    for name in expected:
        owned.update(ctx.wheels[name].files)
    for rel, digest in owned.items():
        path = root / rel
        if not path.is_file():
            raise CheckFailed(f"{rel} (from our {ctx.owner(rel)}) is missing from {root}")
        actual = "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=").decode()
        if actual != digest:
            raise CheckFailed(f"{rel} in {root} is not the file from our wheel")
    for code_dir in CODE_DIRS:
        base = root / code_dir
        if not base.is_dir():
            continue
        for path in base.rglob("*"):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and "__pycache__" not in path.parts and rel not in owned:
                raise CheckFailed(f"stale file {rel} in {root}: none of our installed wheels owns it")
    stale = sorted(p.name for p in root.glob("flyteplugins_hydra-2*.dist-info"))
    if stale:
        raise CheckFailed(f"the previous release's metadata is still installed: {stale}")


# --- using -------------------------------------------------------------------------------------


def expect_summary(proc: subprocess.CompletedProcess, what: str) -> None:
    if "2 succeeded, 0 failed" not in proc.stdout:
        raise CheckFailed(f"{what} did not report both jobs as succeeded:\n{proc.stdout[-4000:]}")


def app_dir(ctx: Context, label: str) -> Path:
    """A private copy of the walkthrough app, so runs write their outputs under the work dir."""
    target = ctx.work / f"app-{label}"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns("outputs", "multirun", "__pycache__"))
    return target


def launcher_sweep(ctx: Context, venv: Path, label: str) -> None:
    app = app_dir(ctx, label)
    env = user_env(ctx, venv)
    plugins = run([venv / "bin" / "python", "train.py", "--info", "plugins"], cwd=app, env=env).stdout
    if "FlyteLauncher" not in plugins:
        raise CheckFailed(f"Hydra does not list FlyteLauncher among its plugins:\n{plugins}")
    sweep_dir = app / "sweep"
    proc = run([venv / "bin" / "python", "train.py", *LAUNCHER_SWEEP, f"hydra.sweep.dir={sweep_dir}"], cwd=app, env=env)
    expect_summary(proc, "the launcher sweep")
    jobs = sorted(p.name for p in sweep_dir.iterdir() if (p / ".hydra").is_dir())
    if jobs != ["0", "1"]:
        raise CheckFailed(f"expected job folders 0 and 1 under {sweep_dir}, found {jobs}")


def cli_sweep(ctx: Context, venv: Path, label: str) -> None:
    app = app_dir(ctx, label)
    env = user_env(ctx, venv)
    run([venv / "bin" / "flyte", "hydra", "run", "--help"], cwd=app, env=env)
    expect_summary(run([venv / "bin" / "flyte", *CLI_SWEEP], cwd=app, env=env), "`flyte hydra run --multirun`")


def sdk_sweep(ctx: Context, venv: Path, label: str) -> None:
    app = app_dir(ctx, label)
    run([venv / "bin" / "python", "-c", SDK_SWEEP], cwd=app, env=user_env(ctx, venv))


def expect_our_modules(ctx: Context, venv: Path) -> None:
    """`flyteplugins.hydra` and the launcher import from our files; no module or CLI of 2.x resolves."""
    probe = textwrap.dedent(
        """
        import importlib.metadata, importlib.util, sysconfig
        import flyteplugins.hydra as core
        from hydra_plugins.hydra_flyte_launcher import FlyteLauncher

        site = sysconfig.get_paths()["purelib"]
        assert core.__file__ and core.__file__.startswith(site), core.__file__
        assert core.hydra_sweep.__module__ == "flyteplugins.hydra._sdk", core.hydra_sweep.__module__
        assert issubclass(FlyteLauncher, core.FlyteLauncher)
        for old in ("_cli", "_run"):
            assert importlib.util.find_spec("flyteplugins.hydra." + old) is None, old
        commands = importlib.metadata.entry_points(group="flyte.plugins.cli.commands")
        assert not [ep for ep in commands if ep.value.startswith("flyteplugins.hydra._cli")], list(commands)
        """
    )
    run([venv / "bin" / "python", "-c", probe], env=user_env(ctx, venv))


def expect_no_flyte_hydra_command(ctx: Context, venv: Path) -> None:
    proc = run([venv / "bin" / "flyte", "hydra", "--help"], env=user_env(ctx, venv), ok=False)
    if proc.returncode == 0:
        raise CheckFailed(f"`flyte hydra` exists without flyte-hydra-cli installed:\n{proc.stdout}")
    if "No such command 'hydra'" not in proc.stdout + proc.stderr:
        raise CheckFailed(f"`flyte hydra --help` failed for another reason:\n{proc.stdout}{proc.stderr}")


# --- scenarios ---------------------------------------------------------------------------------


def check_launcher_only(ctx: Context) -> str:
    venv = new_venv(ctx, "launcher")
    uv_install(ctx, venv, "hydra-flyte-launcher")
    expect_ours(ctx, venv, {"flyteplugins-hydra-core", "hydra-flyte-launcher"})
    launcher_sweep(ctx, venv, "launcher")
    expect_no_flyte_hydra_command(ctx, venv)
    return "hydra/launcher=flyte found, local sweep of 2 jobs done, no `flyte hydra`"


def check_cli_only(ctx: Context) -> str:
    if not ctx.cli_implemented:
        raise Skipped(
            f"flyte-hydra-cli {ctx.wheels['flyte-hydra-cli'].version} registers no `{CLI_ENTRY_POINT_GROUP}` "
            "entry point: `flyte hydra run` is not implemented on this tree yet"
        )
    venv = new_venv(ctx, "cli")
    uv_install(ctx, venv, "flyte-hydra-cli")
    expect_ours(ctx, venv, {"flyteplugins-hydra-core", "flyte-hydra-cli"})
    proc = run([venv / "bin" / "python", "-c", "import hydra_plugins.hydra_flyte_launcher"], ok=False)
    if proc.returncode == 0:
        raise CheckFailed("the launcher shim is importable in a CLI-only install")
    cli_sweep(ctx, venv, "cli")
    return "`flyte hydra run --help` and a local sweep of 2 jobs done, no launcher shim"


def check_meta(ctx: Context) -> str:
    venv = new_venv(ctx, "meta")
    uv_install(ctx, venv, "flyteplugins-hydra")
    expect_ours(ctx, venv, set(OURS))
    expect_our_modules(ctx, venv)
    launcher_sweep(ctx, venv, "meta-launcher")
    sdk_sweep(ctx, venv, "meta-sdk")
    if not ctx.cli_implemented:
        return "launcher and SDK sweeps done; CLI part SKIPPED (`flyte hydra run` not implemented yet)"
    cli_sweep(ctx, venv, "meta-cli")
    return "launcher, CLI and SDK sweeps done"


def previous_release(ctx: Context, label: str, *, seed: bool = False) -> Path:
    venv = new_venv(ctx, label, seed=seed)
    run(["uv", "pip", "install", "--python", venv / "bin" / "python", PREVIOUS])
    root = site_packages(venv)
    if not (root / "flyteplugins" / "hydra" / "_run.py").is_file():
        raise CheckFailed(f"{PREVIOUS} did not install its flyteplugins/hydra/_run.py; is it the release we think?")
    return venv


def check_upgrade_uv(ctx: Context) -> str:
    venv = previous_release(ctx, "upgrade-uv")
    uv_install(ctx, venv, "flyteplugins-hydra")
    expect_ours(ctx, venv, set(OURS))
    expect_our_modules(ctx, venv)
    launcher_sweep(ctx, venv, "upgrade-uv")
    return "one `uv pip install flyteplugins-hydra` replaces 2.12.1 cleanly; local sweep done"


def check_upgrade_pip(ctx: Context) -> str:
    venv = previous_release(ctx, "upgrade-pip", seed=True)
    run([venv / "bin" / "python", "-m", "pip", "uninstall", "--yes", "flyteplugins-hydra"], env=user_env(ctx, venv))
    pip_install(ctx, venv, "flyteplugins-hydra")
    expect_ours(ctx, venv, set(OURS))
    expect_our_modules(ctx, venv)
    launcher_sweep(ctx, venv, "upgrade-pip")
    return "`pip uninstall flyteplugins-hydra` then `pip install flyteplugins-hydra` is clean; local sweep done"


def check_upgrade_pip_repair(ctx: Context) -> str:
    venv = previous_release(ctx, "upgrade-pip-repair", seed=True)
    pip_install(ctx, venv, "--upgrade", "flyteplugins-hydra")
    try:
        expect_ours(ctx, venv, set(OURS))
        one_step = "a one-step `pip install -U` was clean (pip now removes 2.12.1 first?)"
    except CheckFailed as exc:
        one_step = f"one-step `pip install -U` broke the install as documented ({str(exc).splitlines()[0]})"
    pip_install(ctx, venv, "--force-reinstall", "--no-deps", "flyteplugins-hydra-core", "hydra-flyte-launcher")
    expect_ours(ctx, venv, set(OURS))
    expect_our_modules(ctx, venv)
    return f"{one_step}; the documented repair restores it"


def check_upgrade_partial(ctx: Context) -> str:
    venv = previous_release(ctx, "upgrade-partial", seed=True)
    pip_install(ctx, venv, "hydra-flyte-launcher")
    probe = run([venv / "bin" / "python", "-c", "import flyteplugins.hydra"], env=user_env(ctx, venv))
    if "flyteplugins-hydra 2.x is still installed" not in probe.stderr:
        raise CheckFailed(f"the core did not warn about the 2.x modules beside it:\n{probe.stderr}")
    run([venv / "bin" / "python", "-m", "pip", "uninstall", "--yes", "flyteplugins-hydra"], env=user_env(ctx, venv))
    pip_install(ctx, venv, "--force-reinstall", "--no-deps", "flyteplugins-hydra-core", "hydra-flyte-launcher")
    expect_ours(ctx, venv, {"flyteplugins-hydra-core", "hydra-flyte-launcher"})
    expect_our_modules(ctx, venv)
    return "launcher alone over 2.12.1 warns on import; the fix the warning gives leaves a clean install"


CHECKS: list[tuple[str, Callable[[Context], str]]] = [
    ("build", check_build),
    ("launcher-only", check_launcher_only),
    ("cli-only", check_cli_only),
    ("meta", check_meta),
    ("upgrade-uv", check_upgrade_uv),
    ("upgrade-pip", check_upgrade_pip),
    ("upgrade-pip-repair", check_upgrade_pip_repair),
    ("upgrade-partial", check_upgrade_partial),
]
UPGRADE_CHECKS = {"upgrade-uv", "upgrade-pip", "upgrade-pip-repair", "upgrade-partial"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the work directory (venvs, wheels, run outputs)")
    parser.add_argument("--no-upgrade", action="store_true", help=f"skip the checks that install {PREVIOUS}")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="check-dists-"))
    ctx = Context(work=work, dist=work / "dist", python=f"{sys.version_info.major}.{sys.version_info.minor}")
    print(f"dist-check: Python {ctx.python}, work dir {work}", flush=True)
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    started = time.monotonic()
    try:
        for name, check in CHECKS:
            if args.no_upgrade and name in UPGRADE_CHECKS:
                continue
            t0 = time.monotonic()
            try:
                detail = check(ctx)
            except Skipped as exc:
                counts["skipped"] += 1
                banner = "!" * 100
                print(f"{banner}\nSKIPPED {name}: {exc}\n{banner}", flush=True)
                continue
            except CheckFailed as exc:
                counts["failed"] += 1
                print(f"FAILED  {name} ({time.monotonic() - t0:.1f}s)\n{textwrap.indent(str(exc), '    ')}", flush=True)
                if name == "build":
                    break
                continue
            counts["passed"] += 1
            print(f"ok      {name} ({time.monotonic() - t0:.1f}s): {detail}", flush=True)
    finally:
        if args.keep:
            print(f"dist-check: kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"dist-check: total {time.monotonic() - started:.1f}s")
    print(f"dist-check: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
