"""What the loopback server saw, and what it was told to do to the next requests.

Tests drive the server from their own thread while the server answers from its event-loop
thread, so everything here is guarded by one lock and handed out as copies.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

#: Fault code that closes the connection instead of answering (the client sees a transport error).
DROP = "drop"

#: Pseudo-RPC name under which the HTTP PUTs to the signed upload URLs are recorded.
UPLOAD_RPC = "SignedUrlPut"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it.

    `message` is the decoded protobuf request (None for an unknown RPC, whose body the server
    cannot decode, and for uploads). `fault` names the injected fault that answered it, if any.
    """

    rpc: str
    service: str
    message: Any
    received_at: float = field(default_factory=time.time)
    fault: str | None = None

    @property
    def full_name(self) -> str:
        """`Service/Method`, e.g. `flyteidl2.workflow.RunService/CreateRun`."""
        return f"{self.service}/{self.rpc}"


def _matches(selector: str, rpc: str, service: str) -> bool:
    """Accept `CreateRun`, `RunService/CreateRun` or `flyteidl2.workflow.RunService/CreateRun`."""
    if "/" not in selector:
        return selector == rpc
    svc, _, method = selector.rpartition("/")
    return method == rpc and (svc == service or service.endswith("." + svc))


@dataclass
class _Fault:
    selector: str
    code: str
    message: str
    remaining: int


class TrafficControl:
    """Request log, per-RPC counters, injected faults and latency for one server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RecordedRequest] = []
        self._counters: Counter[str] = Counter()
        self._faults: deque[_Fault] = deque()
        self._latency: float = 0.0
        self._rpc_latency: dict[str, float] = {}
        self._answer_latency: dict[str, float] = {}

    def admit(self, rpc: str, service: str, message: Any) -> tuple[float, _Fault | None]:
        """Record a request and return the delay and the fault (if any) it must be answered with.

        A fault is consumed by the request it fires on, so `times=N` affects exactly N requests.
        """
        with self._lock:
            fault = next((f for f in self._faults if _matches(f.selector, rpc, service)), None)
            if fault is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            self._records.append(RecordedRequest(rpc, service, message, fault=fault.code if fault else None))
            self._counters[rpc] += 1
            delay = next(
                (d for sel, d in self._rpc_latency.items() if _matches(sel, rpc, service)),
                self._latency,
            )
        return delay, fault

    def answer_delay(self, rpc: str, service: str) -> float:
        """How long to hold the answer of a request that has already been handled."""
        with self._lock:
            return next((d for sel, d in self._answer_latency.items() if _matches(sel, rpc, service)), 0.0)

    def requests(self, rpc_name: str | None = None) -> list[RecordedRequest]:
        """All recorded requests in arrival order, optionally only those of one RPC."""
        with self._lock:
            records = list(self._records)
        if rpc_name is None:
            return records
        return [r for r in records if _matches(rpc_name, r.rpc, r.service)]

    @property
    def counters(self) -> dict[str, int]:
        """Requests received per RPC method name (faulted and dropped requests included)."""
        with self._lock:
            return dict(self._counters)

    def inject_fault(self, rpc: str, code: str = "unavailable", times: int = 1, message: str | None = None) -> None:
        """Answer the next `times` requests of `rpc` with Connect error `code`, or drop them (`"drop"`)."""
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        from connectrpc.code import Code

        known = {c.value for c in Code} | {DROP}
        if code not in known:
            raise ValueError(f"Unknown fault code {code!r}; use one of {sorted(known)}")
        text = message or f"fault injected by flyte_loopback ({code})"
        with self._lock:
            self._faults.append(_Fault(rpc, code, text, times))

    def set_latency(self, seconds: float, rpc: str | None = None, *, after_handling: bool = False) -> None:
        """Delay every answer (or only `rpc`'s) by `seconds`; 0 removes the delay.

        With `after_handling` the request takes effect at once and only its answer is late (a run
        exists before the client hears of it); it needs `rpc`.
        """
        if seconds < 0:
            raise ValueError(f"Latency must be >= 0 seconds, got {seconds}")
        if after_handling and rpc is None:
            raise ValueError("after_handling delays one RPC's answers: name it with rpc=")
        with self._lock:
            if after_handling:
                if seconds == 0:
                    self._answer_latency.pop(rpc, None)  # type: ignore[arg-type]
                else:
                    self._answer_latency[rpc] = seconds  # type: ignore[index]
            elif rpc is None:
                self._latency = seconds
            elif seconds == 0:
                self._rpc_latency.pop(rpc, None)
            else:
                self._rpc_latency[rpc] = seconds

    def reset(self) -> None:
        """Forget records and counters, and clear every fault and latency setting."""
        with self._lock:
            self._records.clear()
            self._counters.clear()
            self._faults.clear()
            self._latency = 0.0
            self._rpc_latency.clear()
            self._answer_latency.clear()
