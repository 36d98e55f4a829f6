"""Runs several `--multirun hydra/launcher=flyte` sweeps in one process and records the logging world.

For tests/test_log_replay.py. `LOG_PROBE_MODE=hydra` makes every logging change of the launcher
Hydra's own `configure_log` (what the launcher did before it replayed them); `replay` leaves the
launcher as it is. After every change (each job's `job_logging`, the launcher's `hydra_logging`
after it) and inside every task, the state of every logger is recorded; at the end everything,
with every job's log files, is written as JSON to `LOG_PROBE_OUT`. The sweeps run one after the
other in the same process, so each starts from what the previous ones left.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import re
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from flyteplugins.hydra import _log_replay

ROOT = Path(os.environ["LOG_PROBE_ROOT"])
RECORDS: list[dict] = []
REPLAYED: list[bool | None] = []  # per record: whether the launcher replayed that change (None: not a change)


def _formatter(formatter: logging.Formatter | None) -> object:
    if formatter is None:
        return None
    inner = getattr(formatter, "_inner", None)  # flyte's ContextFormatter wraps the handler's own
    return [type(formatter).__name__, formatter._fmt, formatter.datefmt, _formatter(inner)]


def _stream(stream: object) -> str:
    if stream is None:
        return "none"
    for name in ("stdout", "stderr"):
        if stream is getattr(sys, name):
            return name
        if stream is getattr(sys, f"__{name}__"):
            return f"original {name}"
    return "closed" if getattr(stream, "closed", False) else "open"


def _handler(handler: logging.Handler) -> dict:
    described = {
        "type": type(handler).__name__,
        "name": handler.get_name(),
        "level": handler.level,
        "formatter": _formatter(handler.formatter),
        "filters": len(handler.filters),
    }
    if isinstance(handler, logging.StreamHandler):
        described["stream"] = _stream(handler.stream)
    if isinstance(handler, logging.FileHandler):
        described["file"] = os.path.relpath(handler.baseFilename, ROOT)
        described["mode"], described["encoding"], described["delay"] = handler.mode, handler.encoding, handler.delay
    return described


def _logger(logger: logging.Logger | logging.PlaceHolder) -> dict:
    if not isinstance(logger, logging.Logger):
        return {"placeholder": True}
    return {
        "level": logger.level,
        "effective": logger.getEffectiveLevel(),
        "propagate": logger.propagate,
        "disabled": logger.disabled,
        "filters": len(logger.filters),
        "handlers": [_handler(h) for h in logger.handlers],
    }


def world(when: str) -> dict:
    """Every logger's state, the root's included, and the stdlib's named handlers.

    After a garbage collection: `dictConfig` leaves reference cycles that keep its handlers alive (and
    named) until the next one, so without it what is named would depend on when the collector ran.
    """
    gc.collect()
    loggers = {name: _logger(lg) for name, lg in sorted(logging.Logger.manager.loggerDict.items())}
    named = {name: _handler(h) for name, h in sorted(logging._handlers.items())}  # type: ignore[attr-defined]
    return {"when": when, "root": _logger(logging.root), "loggers": loggers, "named": named}


def _recording(apply):
    def recorded(self, conf, verbose, real):
        before = self.replays
        if os.environ["LOG_PROBE_MODE"] == "hydra":
            real()
        else:
            apply(self, conf, verbose, real)
        RECORDS.append(world("applied"))
        REPLAYED.append(self.replays > before)

    return recorded


_log_replay.LogReplay.apply = _recording(_log_replay.LogReplay.apply)


@hydra.main(version_base=None, config_path="conf_logs", config_name="probe")
def main(cfg: DictConfig) -> int:
    """A task that logs, makes its own logger, and (when asked) changes what the launcher set up."""
    if cfg.get("flyte_init"):
        import flyte

        flyte.init_from_config()
    x = cfg.x
    logging.getLogger(__name__).info("job %s: a line of its own", x)
    logging.getLogger(f"user.job{x}").warning("job %s: from a logger the task made", x)
    logging.getLogger("probe.detail").debug("job %s: detail", x)
    logging.getLogger("probe.muted").warning("job %s: muted", x)
    logging.getLogger("probe.launcher.child").info("job %s: a child of a launcher logger", x)
    if cfg.get("tamper"):
        root = logging.getLogger()
        root.handlers[0].setLevel(logging.CRITICAL)
        root.addHandler(logging.StreamHandler(sys.stdout))
        if cfg.tamper == "kept":  # what a replay cannot undo: a kept formatter changed, a kept handler moved
            root.handlers[0].formatter.datefmt = "%S"
            logging.getLogger(f"user.job{x}").addHandler(root.handlers[0])
        logging.getLogger(f"user.job{x}").addHandler(logging.FileHandler(ROOT / f"user{x}.log"))
        if len(root.handlers) > 2:
            root.removeHandler(root.handlers[1])
    if cfg.get("swap_stdout") and x == 1:
        sys.stdout = open(os.dup(sys.stdout.fileno()), "w", buffering=1)
    RECORDS.append(world("in task"))
    REPLAYED.append(None)
    logging.getLogger(__name__).info("job %s: done", x)
    return x


def _logs(sweep: Path) -> dict:
    stamp = re.compile(r"^\[[^]]*\]", re.MULTILINE)
    return {
        str(path.relative_to(ROOT)): stamp.sub("[time]", path.read_text())
        for path in sorted(sweep.rglob("*.log"))
        if ".hydra" not in path.parts
    }


if __name__ == "__main__":
    cases = json.loads(os.environ["LOG_PROBE_CASES"])
    logs = {}
    for name, overrides in cases.items():
        sweep = ROOT / name
        sys.argv = [sys.argv[0], "--multirun", "hydra/launcher=flyte", "hydra.launcher.mode=local", "x=0,1,2,3"]
        sys.argv += [f"hydra.sweep.dir={sweep}", *overrides]
        RECORDS.append({"when": f"case {name}"})
        REPLAYED.append(None)
        main()
        logs[name] = _logs(sweep)
    logging.shutdown()
    Path(os.environ["LOG_PROBE_OUT"]).write_text(json.dumps({"records": RECORDS, "replayed": REPLAYED, "logs": logs}))
