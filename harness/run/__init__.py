"""Planning and execution of a contract run; the library API behind the CLI and the pytest plugin.

>>> from harness.run import RunOptions, run_contracts
>>> result = run_contracts(RunOptions(operations=("VirtualMachine_PowerOn*",), report_dir="out"))
>>> result.summary()
"""

from .baseline import Baseline, load_baseline
from .entry import run_contracts
from .execute import Runner, exit_code
from .options import EndpointError, RunError, RunOptions, UsageError
from .plan import Plan, PlanItem, make_plan

__all__ = [
    "Baseline",
    "EndpointError",
    "Plan",
    "PlanItem",
    "RunError",
    "RunOptions",
    "Runner",
    "UsageError",
    "exit_code",
    "load_baseline",
    "make_plan",
    "run_contracts",
]
