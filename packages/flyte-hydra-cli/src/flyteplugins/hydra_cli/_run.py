"""`flyte hydra run`: parse the command line, then hand everything to the engine's `launch`.

The command nests like `flyte run` does, `run [OPTIONS] SCRIPT TASK_NAME [TASK ARGS]...`:

* `run` carries the launch options: ours (`--config-path`, `--multirun`, `--mode`, ...) plus every
  `flyte run` option that applies to a task from a file, taken from flyte's own definitions.
* `SCRIPT` is imported when a task is looked up, so `ConfigStore` registrations are visible.
* `TASK_NAME` becomes a command whose options are the task's inputs (flyte's typed conversion,
  so types, defaults and required inputs behave as in `flyte run`), `--hydra-override`, and the
  app override flag named after the task's `DictConfig` parameter (`--cfg`, `--config`, ...).

The launch options are made from the engine's one definition (`flyteplugins.hydra.engine.option_specs`);
composition, sweeps, submission and waiting all happen in the engine's `launch`.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rich_click as click
from click.shell_completion import CompletionItem

from flyteplugins.hydra.engine import (
    DEFAULTS,
    ConfigurationError,
    JobFailedError,
    JobOutcome,
    LaunchOptions,
    LaunchRequest,
    OptionSpec,
    Phase,
    RunResult,
    config_parameter,
    is_hydra_override,
    option_specs,
    surface_options,
)

from . import _complete, _script
from ._cli_errors import as_cli_error, verbose
from ._flyte_compat import RunArguments, initialize_config, task_input_option, typed_interface

_SETTINGS = "flyteplugins.hydra_cli.settings"

# `flyte run` options that make no sense here: deployed-task targets, the local TUI, and tracked
# local runs (local mode here deliberately runs detached from any control plane).
_NOT_APPLICABLE = frozenset({"run_project", "run_domain", "tui", "tracked", "tracked_strict"})
# `flyte run` options consumed by `flyte.init` (as `flyte run` does) or by this command itself.
_CONSUMED = frozenset({"project", "domain", "root_dir", "image", "no_sync_local_sys_paths", "local", "follow"})
# `flyte run` options whose `flyte.with_runcontext` argument has another name and shape.
_RENAMED: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "env": ("env_vars", lambda run_args: run_args.parsed_env_vars()),
    "label": ("labels", lambda run_args: run_args.parsed_labels()),
}


class OptionCollisionError(click.ClickException):
    """A `flyte run` option now has the name or flag of one of `flyte hydra run`'s own options."""


@dataclass(frozen=True)
class _Settings:
    """What the options before SCRIPT decide, resolved once before SCRIPT's task runs."""

    options: LaunchOptions
    follow: bool
    config_path: str | None
    config_name: str
    multirun: bool
    hydra_overrides: tuple[str, ...]
    missing_for_remote: tuple[str, ...]


_TRACEBACKS_LOGGER = "flyteplugins.hydra.tracebacks"  # at DEBUG, failed local jobs log flyte's tracebacks


def _lineage(ctx: click.Context | None) -> Iterable[click.Context]:
    while ctx is not None:
        yield ctx
        ctx = ctx.parent


def _run_context(ctx: click.Context) -> click.Context | None:
    # Not isinstance: rich-click's groups inherit click's deprecated `_MultiCommand`, whose metaclass
    # makes isinstance against any of their subclasses true for every rich command.
    return next((c for c in _lineage(ctx) if c.command is run), None)


# ---------------------------------------------------------------------------------------------
# Overrides: which flag takes which namespace, syntax checked by Hydra's parser before anything runs


class OverrideType(click.ParamType):
    """A Hydra override, checked by Hydra's parser and for the flag's namespace as it is read.

    `--hydra-override` takes Hydra's own `hydra.*` / `hydra/*` settings; the task's config flag
    (`--cfg`, ...) takes everything else.
    """

    name = "KEY=VALUE"

    def __init__(self, *, hydra_namespace: bool, config_flag: str | None = None) -> None:
        self.hydra_namespace = hydra_namespace
        self.config_flag = config_flag

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from hydra.core.override_parser.overrides_parser import OverridesParser
        from hydra.errors import HydraException

        if is_hydra_override(value) and not self.hydra_namespace:
            self.fail(f"'{value}' is a Hydra setting: pass it as --hydra-override '{value}'.", param, ctx)
        if not is_hydra_override(value) and self.hydra_namespace:
            where = (
                f"as {self.config_flag} '{value}'" if self.config_flag else "under the task's config flag (--cfg ...)"
            )
            self.fail(
                f"--hydra-override takes hydra.* values and hydra/* groups only, got '{value}': pass overrides of "
                f"your own config {where}.",
                param,
                ctx,
            )
        try:
            OverridesParser.create().parse_override(value)
        except HydraException as e:
            self.fail(
                f"Malformed override '{value}': {e}. Overrides are Hydra's KEY=VALUE syntax, "
                "e.g. optimizer.lr=0.01, +new.key=1, ~old.key, model=resnet,vit.",
                param,
                ctx,
            )
        return value


def _complete_override(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Values for `--cfg`-style flags and `--hydra-override`, from Hydra's completion engine."""
    run_ctx = _run_context(ctx)
    if run_ctx is None:
        return []
    previous = [*(run_ctx.params.get("hydra_override") or ())]
    if ctx is not run_ctx:
        for option in ctx.command.params:
            if isinstance(option, _OverrideOption):
                previous.extend(ctx.params.get(option.name) or ())  # type: ignore[arg-type]
    suggestions = _complete.override_suggestions(
        config_path=run_ctx.params.get("config_path"),
        config_name=run_ctx.params.get("config_name"),
        multirun=bool(run_ctx.params.get("multirun")),
        previous=previous,
        incomplete=incomplete,
    )
    # Each flag suggests only its own namespace: Hydra's settings under --hydra-override, the app's elsewhere.
    wanted = isinstance(param, _OverrideOption) and param.hydra_namespace
    return [CompletionItem(s) for s in suggestions if is_hydra_override(s) == wanted]


class _OverrideOption(click.Option):
    """A repeatable option whose values are Hydra overrides, of Hydra's own settings or of the app's config."""

    def __init__(
        self, flag: str, name: str, help: str, *, hydra_namespace: bool, config_flag: str | None = None
    ) -> None:
        super().__init__(
            [flag, name],
            type=OverrideType(hydra_namespace=hydra_namespace, config_flag=config_flag),
            multiple=True,
            metavar="KEY=VALUE",
            help=help,
            shell_complete=_complete_override,
        )
        self.hydra_namespace = hydra_namespace


def _hydra_override_option(config_flag: str | None = None) -> click.Option:
    return _OverrideOption(
        "--hydra-override",
        "hydra_override",
        help="Hydra's own settings, hydra.* values and hydra/* groups (repeatable), e.g. hydra/sweeper=optuna.",
        hydra_namespace=True,
        config_flag=config_flag,
    )


# ---------------------------------------------------------------------------------------------
# `run`: the launch options


def _launch_option(name: str, spec: OptionSpec) -> click.Option:
    """The click option of one launch option, from its one definition."""
    flag = "--" + name.replace("_", "-")
    default = getattr(DEFAULTS, name)
    if spec.kind == "flag":
        decls = [f"{flag}/--no-{flag[2:]}"] if default else [flag]
        return click.Option(decls, is_flag=True, default=default, show_default=bool(default), help=spec.help)
    if spec.kind == "choice":
        # No click default: the engine's applies, and `--local` (flyte run's) may decide the mode instead.
        return click.Option([flag], type=click.Choice(spec.choices), show_default=str(default), help=spec.help)
    if spec.kind == "count":
        return click.Option(
            [flag],
            type=click.IntRange(min=1),
            default=default,
            show_default=default is not None,
            metavar=spec.metavar,
            help=f"{spec.help} (at least 1)",
        )
    return click.Option([flag], default=default, show_default=default is not None, metavar=spec.metavar, help=spec.help)


# `run_options` has no flag of its own: flyte run's options (--name, --label, --env, ...) make it.
_FROM_FLYTE_RUN = frozenset({"run_options"})


def _own_options() -> list[click.Parameter]:
    specs = option_specs()
    return [
        click.Option(
            ["--config-path"],
            metavar="DIR",
            help="Hydra config directory, relative to the current directory or absolute. "
            "Omit it for configs registered only in the ConfigStore.",
        ),
        click.Option(
            ["--config-name"],
            metavar="NAME",
            default="config",
            show_default=True,
            help="Primary config to compose (file name without .yaml).",
        ),
        click.Option(
            ["--multirun", "-m"],
            is_flag=True,
            help="Run one job per combination of sweep values (or let a sweeper such as Optuna drive).",
        ),
        *(_launch_option(name, specs[name]) for name in surface_options("cli") if name not in _FROM_FLYTE_RUN),
        _hydra_override_option(),
    ]


def _flags(param: click.Parameter) -> set[str]:
    return {*param.opts, *getattr(param, "secondary_opts", ())}


def inherit_run_options(own: Sequence[click.Parameter], theirs: Sequence[click.Option]) -> list[click.Option]:
    """The `flyte run` options that apply here; a clash with one of `own` stops the command loading."""
    names = {p.name for p in own}
    flags = set().union(*(_flags(p) for p in own))
    inherited = []
    for option in theirs:
        if option.name in _NOT_APPLICABLE:
            continue
        clashes = sorted(({option.name} & names) | (_flags(option) & flags))
        if clashes:
            raise OptionCollisionError(
                f"flyte run's option {'/'.join(sorted(_flags(option)))} collides with flyte hydra run's own "
                f"{', '.join(clashes)}. This flyte-hydra-cli release predates that flyte option: upgrade "
                "flyte-hydra-cli, or install the flyte version it was released with."
            )
        inherited.append(option)
    return inherited


def _run_options(params: dict[str, Any], run_args: Any, inherited: Sequence[click.Option]) -> dict[str, Any]:
    """`flyte.with_runcontext` arguments from the inherited options, matched by name as `flyte run` does."""
    import flyte

    accepted = set(inspect.signature(flyte.with_runcontext).parameters)
    options: dict[str, Any] = {}
    for option in inherited:
        name = option.name
        value = params.get(name)
        if name in _CONSUMED:
            continue
        if name in _RENAMED:
            target, parse = _RENAMED[name]
            parsed = parse(run_args)
            if parsed is not None:
                options[target] = parsed
        elif name in accepted:
            if value is not None:
                options[name] = value
        elif value not in (None, (), option.default, False):
            raise click.UsageError(f"{option.opts[0]} is a flyte run option that flyte hydra run does not support yet.")
    return options


class _RunGroup(click.RichGroup):
    """`run`: SCRIPT is its subcommand; options before SCRIPT configure the launch."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        path = Path(cmd_name)
        if not path.is_file():
            if ctx.resilient_parsing:
                return None
            raise click.UsageError(f"SCRIPT '{cmd_name}' is not a file (expected a Python file with Flyte tasks).")
        return _ScriptGroup(path, name=cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return []

    def invoke(self, ctx: click.Context) -> Any:
        """Anything unexpected (a flyte client or auth error, say) is one line too, unless `-v` asks for more."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:
            if verbose(ctx):
                raise
            raise click.ClickException(f"{type(e).__name__}: {e} (`flyte -v hydra run ...` shows the traceback)") from e

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        if incomplete.startswith("-"):
            return super().shell_complete(ctx, incomplete)
        return [CompletionItem(incomplete, type="file")]


@click.pass_context
def _prepare(ctx: click.Context, **params: Any) -> None:
    """Check the launch options against each other and initialise Flyte, before SCRIPT is imported."""
    run_args = RunArguments.from_dict(params)
    if run_args.local and params["mode"] == "remote":
        raise click.UsageError("--local and --mode remote contradict each other: pass one of them.")
    if run_args.follow and not params["wait"]:
        raise click.UsageError("--follow streams a run's logs while waiting for it: drop --follow or --no-wait.")
    if run_args.follow and params["max_parallel"]:
        raise click.UsageError(
            "--follow streams logs once every run is submitted, but --max-parallel submits them one by one as "
            "others finish: drop one of them."
        )
    mode = "local" if run_args.local else params["mode"] or DEFAULTS.mode
    run_args = dataclasses.replace(run_args, local=mode == "local")
    config = initialize_config(
        ctx,
        run_args.project,
        run_args.domain,
        run_args.root_dir,
        tuple(run_args.image) or None,
        not run_args.no_sync_local_sys_paths,
    )
    # flyte's typed input converters read `run_args` (e.g. to upload local files only for remote runs).
    ctx.obj = config.replace(run_args=run_args)
    run_options = _run_options(params, run_args, _INHERITED)
    run_options.update(log_format=config.log_format, reset_root_logger=config.reset_root_logger)
    specs = option_specs()
    values = {
        name: params[name]
        for name in surface_options("cli")
        if name not in _FROM_FLYTE_RUN and not (specs[name].kind == "choice" and params[name] is None)
    }
    with as_cli_error(ctx, usage=True):
        options = LaunchOptions.parse(
            "cli", {**values, "mode": mode, "run_options": run_options}, multirun=params["multirun"]
        )
    ctx.meta[_SETTINGS] = _Settings(
        options=options,
        follow=run_args.follow,
        config_path=params["config_path"],
        config_name=params["config_name"],
        multirun=params["multirun"],
        hydra_overrides=tuple(params["hydra_override"]),
        missing_for_remote=_missing_project_or_domain(run_args, config),
    )


def _missing_project_or_domain(run_args: Any, config: Any) -> tuple[str, ...]:
    """Remote runs need both, from the options or the Flyte config, as `flyte run` insists too."""
    task_config = config.config.task
    return tuple(
        f"--{name}" for name in ("project", "domain") if not getattr(run_args, name) and not getattr(task_config, name)
    )


def _check_remote_ready(ctx: click.Context, settings: _Settings) -> None:
    """An endpoint first (the engine's check), then a project and a domain; before anything is composed."""
    from flyteplugins.hydra.engine import ensure_remote_ready

    if settings.options.mode != "remote" or settings.options.dry_run:
        return
    with as_cli_error(ctx):
        ensure_remote_ready()
    missing = settings.missing_for_remote
    if missing:
        raise click.UsageError(
            f"Remote runs need {' and '.join(missing)}: pass {' '.join(f'{m} ...' for m in missing)}, or set "
            f"{' and '.join(f'task.{m[2:]}' for m in missing)} in your Flyte config.",
            ctx,
        )


# ---------------------------------------------------------------------------------------------
# SCRIPT and TASK_NAME


class _ScriptGroup(click.RichGroup):
    """SCRIPT: its tasks that take a `DictConfig` are its subcommands."""

    def __init__(self, path: Path, name: str) -> None:
        super().__init__(
            name=name,
            help=f"Run a task of {name} with a composed Hydra config.",
            subcommand_metavar="TASK_NAME [TASK ARGS]...",
            no_args_is_help=True,
        )
        self.path = path

    def _tasks(self, ctx: click.Context) -> dict[str, Any] | None:
        completing = ctx.resilient_parsing
        try:
            return _script.tasks_in(_script.load_script(self.path, quiet=completing))
        except _script.ScriptError as e:
            if completing:
                return None
            if verbose(ctx) and e.__cause__ is not None:
                raise e.__cause__
            raise click.ClickException(str(e)) from e

    def list_commands(self, ctx: click.Context) -> list[str]:
        runnable = []
        for name, task in (self._tasks(ctx) or {}).items():
            try:
                config_parameter(task)
            except ConfigurationError:
                continue
            runnable.append(name)
        return sorted(runnable)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        tasks = self._tasks(ctx)
        if tasks is None:
            return None
        try:
            return self._task_command(ctx, cmd_name, tasks.get(cmd_name))
        except click.UsageError:
            if ctx.resilient_parsing:
                return None
            raise

    def _task_command(self, ctx: click.Context, name: str, task: Any) -> _TaskCommand:
        if task is None:
            raise click.UsageError(
                f"{self.name} has no task named '{name}'. Tasks that take a DictConfig there: "
                f"{', '.join(self.list_commands(ctx)) or 'none'}."
            )
        try:
            return _TaskCommand(name, task, config_parameter(task))
        except ConfigurationError as e:
            raise click.UsageError(str(e)) from e
        except (NotImplementedError, ValueError) as e:
            raise click.UsageError(f"Task '{name}' has an input flyte cannot read from the command line: {e}") from e


def _task_input_options(task: Any, config_param: str) -> list[click.Option]:
    """The task's other inputs as `flyte run` would offer them."""
    interface = typed_interface(task)
    if interface is None:
        return []
    native = task.native_interface.inputs
    options = []
    for entry in interface.inputs.variables:
        if entry.key == config_param:
            continue
        python_type, default = native[entry.key]
        default = None if default is inspect.Parameter.empty else default
        options.append(task_input_option(entry.key, entry.value, python_type, default))
    return options


class _TaskCommand(click.RichCommand):
    """TASK_NAME: its inputs, its app override flag and `--hydra-override`; invoking it launches."""

    def __init__(self, name: str, task: Any, config_param: str) -> None:
        self.task = task
        self.config_param = config_param
        self.config_flag = f"--{config_param}"
        overrides = [
            _OverrideOption(
                self.config_flag,
                config_param,
                help=f"Override of the composed config '{config_param}' (repeatable), e.g. optimizer.lr=0.01.",
                hydra_namespace=False,
            ),
            _hydra_override_option(self.config_flag),
        ]
        inputs = _task_input_options(task, config_param)
        for option in inputs:
            if option.name in {o.name for o in overrides}:
                raise click.UsageError(
                    f"Task '{name}' has an input named '{option.name}', which flyte hydra run uses for "
                    "--hydra-override; rename that input."
                )
        super().__init__(name=name, params=[*overrides, *inputs], help=inspect.getdoc(task.func))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        # flyte's options default to None even when required, so click cannot tell them missing.
        missing = [
            p.opts[0] for p in self.params if isinstance(p, click.Option) and p.required and ctx.params[p.name] is None
        ]
        if missing and not ctx.resilient_parsing:
            raise click.UsageError(f"Missing task input(s): {', '.join(missing)}.", ctx)
        return rest

    def invoke(self, ctx: click.Context) -> None:
        settings: _Settings = ctx.meta[_SETTINGS]
        inputs = dict(ctx.params)
        app_overrides = list(inputs.pop(self.config_param) or ())
        hydra_overrides = [*settings.hydra_overrides, *(inputs.pop("hydra_override") or ())]
        _check_remote_ready(ctx, settings)
        if verbose(ctx):
            logging.getLogger(_TRACEBACKS_LOGGER).setLevel(logging.DEBUG)  # flyte's traceback per failed local job
        request = LaunchRequest(
            self.task,
            config_path=settings.config_path,
            config_name=settings.config_name,
            overrides=[*app_overrides, *hydra_overrides],
            multirun=settings.multirun,
            task_inputs=inputs,
            options=settings.options,
            surface="cli",
            after_submit=_follow_logs if settings.follow else None,
        )
        with as_cli_error(ctx):
            from flyteplugins.hydra.engine import launch

            outcomes = launch(request)
        _report(outcomes, verbose=verbose(ctx))


def _follow_logs(outcomes: Sequence[JobOutcome]) -> None:
    """`--follow`: stream each submitted run's logs in job order (all are already running)."""
    submitted = [o for o in outcomes if o.phase == Phase.SUBMITTED]
    for outcome in submitted:
        if len(submitted) > 1:
            click.echo(f"Logs of job #{outcome.num} ({outcome.url}):", err=True)
        try:
            outcome.handle.show_logs(max_lines=30, show_ts=True, raw=False)
        except Exception as e:
            click.echo(f"Could not stream the logs of {outcome.url}: {e}", err=True)


def _report(outcomes: Sequence[JobOutcome], *, verbose: bool) -> None:
    """A lone run prints its value (a sweep's table is printed by the engine); any failure exits non-zero."""
    failed = [o for o in outcomes if not o.ok]
    if len(outcomes) == 1 and not failed and isinstance(outcomes[0].result, RunResult):
        value = outcomes[0].result.value
        click.echo(tuple(value) if isinstance(value, tuple) else value)  # flyte's ActionOutputs, printed plainly
    if not failed:
        return
    if verbose:
        for outcome in failed:
            assert outcome.error is not None
            traceback.print_exception(type(outcome.error), outcome.error, outcome.error.__traceback__)
    raise click.ClickException(_failure_message(outcomes, failed))


# A sweep's failure box names this many failed jobs; the engine's summary has already grouped them all.
_FAILURES_IN_BOX = 3


def _failure_message(outcomes: Sequence[JobOutcome], failed: Sequence[JobOutcome]) -> str:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    if len(outcomes) > 1:
        shown = [f"job #{o.num} [{' '.join(o.overrides)}] {o.phase}" for o in failed[:_FAILURES_IN_BOX]]
        more = len(failed) - len(shown)
        return (
            f"{len(failed)} of {len(outcomes)} jobs failed: "
            + "; ".join(shown)
            + (f"; and {more} more" if more else "")
            + " (the summary above shows their errors)"
            + ". Every job's outcome: `flyte hydra results <sweep dir>` (the sweep dir holds the journal and "
            "report.html)."
        )
    error = failed[0].error
    if isinstance(error, (HydraException, OmegaConfBaseException)):
        return f"Could not compose the config: {error}"  # a single run composes when it starts
    return str(JobFailedError(failed[0]))


_HELP = """
Compose a Hydra config and run a Flyte task of SCRIPT with it: once, or once per job with --multirun.

Options before SCRIPT configure the launch; after TASK_NAME come the task's own inputs, overrides of
the composed config under the flag named after the task's `DictConfig` parameter (`--cfg` for
`cfg: DictConfig`), and `--hydra-override` for Hydra's own `hydra.*` / `hydra/*` settings.

```bash
flyte hydra run --local --config-path conf --config-name training \\
  train.py pipeline --dataset imagenet --cfg optimizer.lr=0.01

flyte hydra run --multirun --config-path conf --config-name training \\
  train.py pipeline --dataset imagenet --cfg optimizer.lr=0.001,0.01 --cfg model=resnet,vit
```

Remote runs (the default) print their URLs as they are submitted. A single run prints its result;
a sweep prints a table of its jobs. The exit status is non-zero if any job failed.
"""

_OWN = _own_options()
_INHERITED = inherit_run_options(_OWN, RunArguments.options())

run = _RunGroup(
    name="run",
    params=[*_OWN, *_INHERITED],
    callback=_prepare,
    subcommand_metavar="SCRIPT TASK_NAME [TASK ARGS]...",
    no_args_is_help=True,
    help=_HELP,
    # Render the help's markdown as `flyte run --help` does (our parent group is plain click).
    context_settings={"rich_help_config": {"use_markdown": True}},
)
