"""Applying a logging config as `dictConfig` would, re-using what an earlier application of it built.

Hydra's launchers call `configure_log` twice per job: the job's `hydra.job_logging` before it, and
`hydra.hydra_logging` after it. Each call is a full `logging.config.dictConfig` behind Hydra's target
checks: it closes every handler, builds the formatters and handlers again, and walks every logger.
Consecutive jobs' configs usually differ only in the log file's name, so after one real application
of a config its handlers and formatters are kept, and applying the same config again (file names
aside) replays what `dictConfig` does to the loggers with those objects, and opens each
`logging.FileHandler` on its new file (a new handler with the config's mode, encoding, delay and
errors: exactly what the config's constructor call would make).

What a replay must leave is what `dictConfig` leaves: the same levels, handlers (their types, levels,
formatters and files), `propagate` and `disabled` flags on every logger, the same named handlers, the
earlier handlers flushed and closed. `tests/test_log_replay.py` compares both after every job of
several sweeps. Anything else goes through the real thing (`real`): a handler or formatter class
other than the stdlib's plain ones, filters, factories (`()`), `cfg://` references, an incremental
config, a stream other than `sys.stdout`/`sys.stderr` or one replaced since, a custom
`dictConfigClass`, and whatever a task did that a replay would not undo as `dictConfig` does (a kept
handler attached somewhere new or changed beyond its level, formatter and filters, a kept formatter
changed, a kept handler gone). Handlers a task (or flyte's `init_from_config`) makes, attaches,
detaches or closes are left to the replay, which closes and detaches them where `dictConfig` would.

The module keeps the stdlib's registry of handlers as `dictConfig` does: `logging._handlers` (names)
and `logging._handlerList` (what `logging.shutdown` flushes at exit), both private stdlib names that
`logging.config` itself uses and that are unchanged from Python 3.10 to 3.13.
"""

from __future__ import annotations

import logging
import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_CONFIG_KEYS = frozenset({"version", "formatters", "handlers", "loggers", "root", "disable_existing_loggers"})
_FORMATTER_KEYS = frozenset({"format", "datefmt", "style", "validate", "class"})
_HANDLER_KEYS = {
    "logging.StreamHandler": frozenset({"stream"}),
    "logging.FileHandler": frozenset({"filename", "mode", "encoding", "delay", "errors"}),
    "logging.NullHandler": frozenset(),
}
_COMMON_HANDLER_KEYS = frozenset({"class", "formatter", "level"})
_LOGGER_KEYS = frozenset({"level", "handlers", "propagate"})
_STREAMS = {"ext://sys.stdout": "stdout", "ext://sys.stderr": "stderr"}


def familiar(conf: Any) -> bool:
    """Whether `conf` (a resolved logging config) uses only what a replay knows to reproduce."""
    if not isinstance(conf, dict) or conf.get("version") != 1 or not set(conf) <= _CONFIG_KEYS:
        return False
    formatters, handlers = conf.get("formatters") or {}, conf.get("handlers") or {}
    loggers, root = conf.get("loggers") or {}, conf.get("root")
    if not all(isinstance(part, dict) for part in (formatters, handlers, loggers, root)):
        return False
    for spec in formatters.values():
        if not isinstance(spec, dict) or not set(spec) <= _FORMATTER_KEYS:
            return False
        if spec.get("class", "logging.Formatter") != "logging.Formatter" or spec.get("style", "%") not in "%$":
            return False
    for spec in handlers.values():
        if not isinstance(spec, dict) or spec.get("class") not in _HANDLER_KEYS:
            return False
        if not set(spec) <= _COMMON_HANDLER_KEYS | _HANDLER_KEYS[spec["class"]]:
            return False
        if spec.get("formatter") is not None and spec["formatter"] not in formatters:
            return False
        if "stream" in spec and spec["stream"] not in _STREAMS:
            return False
        if spec["class"] == "logging.FileHandler" and not isinstance(spec.get("filename"), str):
            return False
    for spec in [root, *loggers.values()]:
        if not isinstance(spec, dict) or not set(spec) <= _LOGGER_KEYS:
            return False
        if not all(isinstance(name, str) and name in handlers for name in spec.get("handlers") or ()):
            return False
    return True


def _shape(conf: dict[str, Any]) -> dict[str, Any]:
    """`conf` without its file handlers' file names: what must be equal for a replay."""
    handlers = {
        name: {k: v for k, v in spec.items() if k != "filename"} if spec["class"] == "logging.FileHandler" else spec
        for name, spec in (conf.get("handlers") or {}).items()
    }
    return {**conf, "handlers": handlers}


def _stream(spec: dict[str, Any]) -> Any:
    return getattr(sys, _STREAMS.get(spec.get("stream", "ext://sys.stderr"), "stderr"))


def _fingerprint(obj: Any) -> dict[str, Any]:
    """An object's attributes, lists as tuples: what changed in a kept handler or formatter shows as a difference."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in vars(obj).items()}


_RESET = frozenset({"formatter", "level", "filters", "_closed"})
"""What may change on a kept handler: a replay sets it back, as `dictConfig`'s new handler would have it.

flyte's `init_from_config` (which the docs' apps call in every job) wraps each root handler's formatter.
`_closed` is set by any `dictConfig` in between (it closes every handler); only `FileHandler` reads it,
and a log file's handler is never kept.
"""


@dataclass
class _Applied:
    """What one real application of a familiar config built: its handlers but the log files', kept for replays.

    While it is the config in force its handlers are held only weakly, as `dictConfig` holds them (the
    stdlib's registry of handler names forgets a handler nothing else refers to): if a task detaches one
    and it is gone, this config is applied for real the next time.
    """

    shape: dict[str, Any]
    handlers: dict[str, logging.Handler]
    formatters: dict[str, logging.Formatter]
    pristine: dict[str, dict[str, Any]]  # each kept handler's attributes as `dictConfig` left them
    refs: dict[str, Any]  # the stdlib's weak references to the kept handlers (`logging._handlerList`)
    formats: dict[str, dict[str, Any]]  # each kept formatter's attributes
    weak: dict[str, Any] = field(default_factory=dict)

    def release(self) -> None:
        self.weak = {name: weakref.ref(h) for name, h in self.handlers.items()}
        self.handlers = {}

    def hold(self) -> bool:
        """Hold the handlers again; False if one of them is gone."""
        handlers = {name: ref() for name, ref in self.weak.items()}
        self.weak = {}
        self.handlers = {name: h for name, h in handlers.items() if h is not None}
        return len(self.handlers) == len(handlers)


class LogReplay:
    """Applies logging configs as `dictConfig` would, replaying the ones it has applied before.

    Not thread-safe by itself: callers hold the lock that guards the process's logging (as the launcher's
    `GLOBAL_STATE` does); the stdlib's own logging lock is held while the registry changes, as `dictConfig` does.
    """

    def __init__(self) -> None:
        self._applied: list[_Applied] = []
        self._attached: dict[str, tuple[int, ...]] | None = None
        self._current: _Applied | None = None
        self.replays = 0
        self.real = 0

    def apply(self, conf: Any, verbose: Any, real: Callable[[], None]) -> None:
        """Leave logging as `real()` (Hydra's `configure_log` of `conf` with `verbose`) would."""
        import logging.config

        known = current = None
        if self._current is not None and not self._current.hold():
            self._applied.remove(self._current)
        self._current = None
        if self._applied and not self._trusted():
            self._applied.clear()  # changed by someone else in a way a replay would not undo: start again
        if logging.config.dictConfigClass is logging.config.DictConfigurator and familiar(conf):
            shape = _shape(conf)
            known = next((a for a in self._applied if a.shape == shape), None)
            if known is not None and any(
                spec["class"] == "logging.StreamHandler" and known.handlers[name].stream is not _stream(spec)
                for name, spec in (conf.get("handlers") or {}).items()
            ):
                known = None
        if known is not None:
            try:
                self._replay(known, conf)
                self._verbose(verbose)
                self.replays += 1
                current = known
            except Exception:  # a log file that cannot be opened: the real thing fails (or not) as Hydra would
                self._applied.clear()
                known = None
        if known is None:
            real()
            self.real += 1
            if familiar(conf):
                try:
                    current = self._capture(conf)
                except (AttributeError, KeyError):  # the stdlib's registry moved: no replays, Hydra's way each time
                    current = None
        if current is not None:
            current.release()
            self._current = current
        self._attached = self._attachments()

    def _capture(self, conf: dict[str, Any]) -> _Applied | None:
        shape = _shape(conf)
        self._applied = [a for a in self._applied if a.shape != shape]
        specs = conf.get("handlers") or {}
        made = {name: logging._handlers.get(name) for name in specs}  # type: ignore[attr-defined]
        if any(handler is None for handler in made.values()):
            return None  # one nothing refers to is gone already: nothing to replay it with
        formatters = {}
        for name, spec in specs.items():
            if spec.get("formatter") is not None:
                formatters[spec["formatter"]] = made[name].formatter
        handlers = {name: h for name, h in made.items() if not isinstance(h, logging.FileHandler)}
        refs = {}
        for ref in logging._handlerList:  # type: ignore[attr-defined]
            for name, handler in handlers.items():
                if ref() is handler:
                    refs[name] = ref
        pristine = {name: _fingerprint(h) for name, h in handlers.items()}
        formats = {name: _fingerprint(f) for name, f in formatters.items()}
        applied = _Applied(shape, handlers, formatters, pristine, refs, formats)
        self._applied.append(applied)
        return applied

    def _kept(self) -> dict[int, logging.Handler]:
        """Every kept handler that a later replay uses again (a log file's handler is made anew each time)."""
        return {id(h): h for a in self._applied for h in a.handlers.values()}

    @staticmethod
    def _attachments() -> dict[str, tuple[int, ...]]:
        manager = logging.Logger.manager
        attached = {"": tuple(map(id, logging.root.handlers))}
        for name, logger in list(manager.loggerDict.items()):
            if isinstance(logger, logging.Logger) and logger.handlers:
                attached[name] = tuple(map(id, logger.handlers))
        return attached

    def _trusted(self) -> bool:
        """Whether what the kept objects are now still lets a replay leave what `dictConfig` would.

        Handlers made, attached, removed or closed by others are what `dictConfig` handles too, and a
        replay does the same with them. Not so a kept handler attached somewhere new (`dictConfig` would
        leave the old object there and attach a new one), one changed beyond what a replay resets, or a
        kept formatter changed at all.
        """
        kept = self._kept()
        before = self._attached or {}
        for name, ids in self._attachments().items():
            if before.get(name) != ids and any(i in kept and i not in before.get(name, ()) for i in ids):
                return False
        for applied in self._applied:
            for name, pristine in applied.pristine.items():
                now = _fingerprint(applied.handlers[name])
                if any(now.get(k) != pristine.get(k) for k in now.keys() | pristine.keys() if k not in _RESET):
                    return False
            for name, formats in applied.formats.items():
                if _fingerprint(applied.formatters[name]) != formats:
                    return False
        return True

    def _replay(self, known: _Applied, conf: dict[str, Any]) -> None:
        """`dictConfig(conf)`, with `known`'s handlers and formatters and a new handler per log file."""
        kept = self._kept()
        with logging._lock:  # type: ignore[attr-defined]
            registered: list[Any] = logging._handlerList  # type: ignore[attr-defined]
            logging._handlers.clear()  # type: ignore[attr-defined]
            for ref in reversed(registered[:]):  # as logging.shutdown: flush and close every handler
                handler = ref()
                if handler is None:
                    continue
                handler.acquire()
                try:
                    handler.flush()
                    if id(handler) not in kept:
                        handler.close()
                except (OSError, ValueError):
                    pass
                finally:
                    handler.release()
            del registered[:]
            handlers = conf.get("handlers") or {}
            made: dict[str, logging.Handler] = {}
            for name in sorted(handlers):
                spec = handlers[name]
                if spec["class"] == "logging.FileHandler":
                    handler = logging.FileHandler(
                        spec["filename"],
                        mode=spec.get("mode", "a"),
                        encoding=spec.get("encoding"),
                        delay=spec.get("delay", False),
                        errors=spec.get("errors"),
                    )
                    if spec.get("formatter"):
                        handler.setFormatter(known.formatters[spec["formatter"]])
                    if spec.get("level") is not None:
                        handler.setLevel(spec["level"])
                else:
                    handler, pristine = known.handlers[name], known.pristine[name]
                    handler.setFormatter(pristine["formatter"])
                    handler.setLevel(pristine["level"])
                    handler.filters = list(pristine["filters"])
                    registered.append(known.refs[name])
                handler.name = name
                made[name] = handler
            self._configure_loggers(conf, made)

    @staticmethod
    def _configure_loggers(conf: dict[str, Any], handlers: dict[str, logging.Handler]) -> None:
        """The loggers part of `dictConfig`: named loggers, then the ones that already existed, then root."""
        manager = logging.Logger.manager
        existing = sorted(manager.loggerDict)
        children: set[str] = set()
        loggers = conf.get("loggers") or {}
        for name in loggers:
            if name in manager.loggerDict:
                prefix = f"{name}."
                children.update(other for other in existing if other.startswith(prefix))
                existing.remove(name)
        for name, spec in loggers.items():
            logger = logging.getLogger(name)
            _configure_logger(logger, spec, handlers)
            logger.disabled = False
            if spec.get("propagate") is not None:
                logger.propagate = spec["propagate"]
        disable = conf.get("disable_existing_loggers", True)
        for name in existing:
            logger = manager.loggerDict[name]
            if name in children:
                if isinstance(logger, logging.Logger):
                    logger.setLevel(logging.NOTSET)
                    logger.handlers = []
                    logger.propagate = True
            else:
                logger.disabled = disable
        if conf["root"]:
            _configure_logger(logging.root, conf["root"], handlers)

    @staticmethod
    def _verbose(verbose: Any) -> None:
        """Hydra's `hydra.verbose`, as `configure_log` applies it after the config."""
        if isinstance(verbose, bool):
            if verbose:
                logging.root.setLevel(logging.DEBUG)
            return
        for name in [verbose] if isinstance(verbose, str) else verbose:
            logging.getLogger(name).setLevel(logging.DEBUG)


def _configure_logger(logger: logging.Logger, spec: dict[str, Any], handlers: dict[str, logging.Handler]) -> None:
    if spec.get("level") is not None:
        logger.setLevel(spec["level"])
    for handler in logger.handlers[:]:
        logger.removeHandler(handler)
    for name in spec.get("handlers") or ():
        logger.addHandler(handlers[name])
