"""What the client raises.  Checks turn :class:`ClientError` into ``error``, never ``failed``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..report.model import Evidence

if TYPE_CHECKING:
    from ..report.model import Evidence
    from .exchange import Exchange


class ClientError(Exception):
    """Base of every client exception."""

    def evidence(self) -> list[Evidence]:
        return []


class TransportError(ClientError):
    """No usable answer: connection refused or reset, no complete answer within the timeout, a body cut short."""

    def __init__(
        self,
        message: str,
        request: dict[str, Any] | None = None,
        curl: str = "",
        exchange: Exchange | None = None,
    ):
        super().__init__(message)
        self.request = request
        self.curl = curl
        self.exchange = exchange

    def evidence(self) -> list[Evidence]:
        if self.exchange is not None:
            return [self.exchange.evidence(note=str(self))]
        if self.request is not None:
            return [Evidence(request=self.request, response=None, curl=self.curl, note=str(self))]
        return []


class Fault(ClientError):
    """A call that had to succeed answered a fault (``exchange.fault``)."""

    def __init__(self, exchange: Exchange, message: str = ""):
        self.exchange = exchange
        self.type_name = exchange.fault_type or f"HTTP {exchange.status}"
        super().__init__(message or f"{exchange.method} {exchange.url} answered {self.type_name}")

    @property
    def json(self) -> Any:
        return self.exchange.json

    def evidence(self) -> list[Evidence]:
        return [self.exchange.evidence(note=str(self))]


class BadAnswer(ClientError):
    """The endpoint answered something that is not a VI/JSON answer: a 2xx body that is not JSON,
    or a body over the size limit.  Not a network problem: the run's auditor judges the exchange
    ``failed`` on the operation that answered; the check that needed the value cannot decide."""

    def __init__(self, exchange: Exchange, message: str):
        super().__init__(message)
        self.exchange = exchange

    def evidence(self) -> list[Evidence]:
        return [self.exchange.evidence(note=str(self))]


class LoginRefused(Fault):
    """The endpoint refused the credentials (InvalidLogin, NoPermission ...)."""


class TaskTimeout(ClientError):
    """A task did not reach a terminal state within the bound; ``infos`` holds what was observed."""

    def __init__(self, task: str, timeout: float, infos: list[dict[str, Any]]):
        self.task, self.timeout, self.infos = task, timeout, infos
        last = infos[-1].get("state") if infos and isinstance(infos[-1], dict) else None
        super().__init__(f"task {task} not finished after {timeout:g} s (last state: {last})")
