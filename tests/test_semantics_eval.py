"""The one evaluator of semantics predicates."""

import pytest

from harness.contract.semantics import MISSING, describe, holds, is_present, walk


@pytest.mark.parametrize(
    "pred,value,expected",
    [
        ({"equals": "poweredOn"}, "poweredOn", True),
        ({"equals": "poweredOn"}, "poweredOff", False),
        ({"not_equals": 0}, 2, True),
        ({"not_equals": 0}, 0, False),
        ({"in": ["a", "b"]}, "b", True),
        ({"in": ["a", "b"]}, "c", False),
        ({"not_in": ["a"]}, "c", True),
        ({"present": True}, [], False),
        ({"present": True}, MISSING, False),
        ({"present": False}, None, True),
        ({"present": True}, {"x": 1}, True),
    ],
)
def test_predicates(pred, value, expected):
    assert holds(pred, value) is expected


def test_changed_and_equals_param():
    assert holds({"changed": True}, "b", before="a")
    assert not holds({"changed": True}, "a", before="a")
    params = {"spec": {"name": "new"}}
    assert holds({"equals_param": "spec.name"}, "new", params=params)
    assert not holds({"equals_param": "spec.name"}, "old", params=params)
    # a value the request leaves out says nothing about the property
    assert holds({"equals_param": "spec.numCPUs"}, 4, params=params)


def test_custom_comparison_and_errors():
    same_id = lambda a, b: a == (b["value"] if isinstance(b, dict) else b)  # noqa: E731
    assert holds({"equals": {"value": "vm-1"}}, "vm-1", same=same_id)
    with pytest.raises(ValueError, match="no predicate"):
        holds({"fault": "X"}, 1)
    assert describe({"in": [1]}) == "in [1]"
    assert walk({"a": {"b": 2}}, "a.b") == 2 and walk({"a": 1}, "a.b") is None
    assert not is_present("") and is_present(0)
