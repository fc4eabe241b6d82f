"""The VI/JSON client (see DESIGN.md §4): login, invoke, properties, tasks, raw requests.

>>> c = ViClient("http://127.0.0.1:8989", "8.0.2.0")
>>> c.login("administrator@vsphere.local", "...")
>>> ex = c.invoke("VirtualMachine", "vm-42", "PowerOnVM_Task")
>>> infos = c.wait_task(ex.json)
"""

from .errors import BadAnswer, ClientError, Fault, LoginRefused, TaskTimeout, TransportError
from .exchange import SESSION_HEADER, Exchange
from .session import (
    TERMINAL_TASK_STATES,
    HttpAnswer,
    Transport,
    ViClient,
    normalize_endpoint,
    path_segment,
    requests_sent,
)

__all__ = [
    "SESSION_HEADER",
    "TERMINAL_TASK_STATES",
    "BadAnswer",
    "ClientError",
    "Exchange",
    "Fault",
    "HttpAnswer",
    "LoginRefused",
    "TaskTimeout",
    "Transport",
    "TransportError",
    "ViClient",
    "normalize_endpoint",
    "path_segment",
    "requests_sent",
]
