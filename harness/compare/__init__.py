"""``vsphere-harness compare``: the same seeded requests against two endpoints, compared per operation.

>>> from harness.compare import compare_endpoints, load_accepted
>>> from harness.run import RunOptions
>>> shared = dict(operations=("VirtualMachine_getRuntime",), checks=("shape", "faults"), inventory_sample=0)
>>> c = compare_endpoints(RunOptions(**shared), RunOptions(endpoint="https://vc", user="u", password="p", **shared))
>>> c.exit_code()  # 0 same (or only accepted differences), 1 different, 130 interrupted

What is compared, per operation: the classes of answers (HTTP status and fault type), the shape of
2xx bodies, the outcomes of the tasks it started, and each check's verdict.  See docs/compare.md.
"""

from .accepted import AcceptedDifference, apply_accepted, load_accepted
from .diff import diff_profiles
from .drive import SHARED, compare_endpoints
from .model import ASPECTS, Comparison, Difference, OperationComparison, Profile
from .observe import Recorder, answer_class
from .render import ComparisonInvalid, load_comparison, validate_comparison, write_comparison
from .shape import shape_of

__all__ = [
    "ASPECTS",
    "SHARED",
    "AcceptedDifference",
    "Comparison",
    "ComparisonInvalid",
    "Difference",
    "OperationComparison",
    "Profile",
    "Recorder",
    "answer_class",
    "apply_accepted",
    "compare_endpoints",
    "diff_profiles",
    "load_accepted",
    "load_comparison",
    "shape_of",
    "validate_comparison",
    "write_comparison",
]
