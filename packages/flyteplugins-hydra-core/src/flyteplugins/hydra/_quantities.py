"""Check `task_env.<task>.resources` values before a job runs.

`flyte.Resources` (2.12) checks the types of its fields but not the text of a quantity, so
`cpu: lots` or `memory: plenty` is accepted and only fails when a cluster parses the pod spec, or
never, locally. (`gpu` names are checked by flyte itself.) YAML has no tuples, so a
`[request, limit]` list is turned into the pair Flyte takes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._errors import ConfigurationError

# A Kubernetes resource quantity: a non-negative number, then a binary or decimal suffix or an exponent.
_QUANTITY = re.compile(r"^\+?(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$")

_CPU_FORMS = "a core count (2, 0.5), a Kubernetes quantity string ('2', '500m'), or a [request, limit] pair of those"
_SIZE_FORMS = "a Kubernetes quantity string ('512Mi', '8Gi', '1G'){pair}"
_FORMS = {
    "cpu": _CPU_FORMS,
    "memory": _SIZE_FORMS.format(pair=", or a [request, limit] pair of those"),
    "disk": _SIZE_FORMS.format(pair=""),
    "shm": _SIZE_FORMS.format(pair="") + ", or 'auto'",
}


def _is_quantity(value: Any, *, numbers: bool) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return numbers and value >= 0
    return isinstance(value, str) and _QUANTITY.match(value) is not None


def _valid(name: str, value: Any) -> bool:
    if name == "cpu":
        return _is_quantity(value, numbers=True)
    if name in ("memory", "disk"):
        return _is_quantity(value, numbers=False)
    if name == "shm":
        return value == "auto" or _is_quantity(value, numbers=False)
    return True  # gpu and anything else: flyte.Resources checks them itself


def checked_resources(where: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` ready for `flyte.Resources(**...)`: pairs as tuples, every quantity well formed.

    >>> checked_resources("task_env.train.resources", {"cpu": [1, "2"], "memory": "8Gi"})
    {'cpu': (1, '2'), 'memory': '8Gi'}
    """
    checked = {}
    for name, value in values.items():
        pair = name in ("cpu", "memory") and isinstance(value, (list, tuple))
        parts = list(value) if pair else [value]
        if value is not None and ((pair and len(parts) != 2) or not all(_valid(name, p) for p in parts)):
            raise ConfigurationError(f"'{where}.{name}' is {value!r}, which is not a valid {name}; use {_FORMS[name]}.")
        checked[name] = tuple(parts) if pair else value
    return checked
