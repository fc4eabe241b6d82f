"""Two profiles of one operation, compared aspect by aspect."""

from __future__ import annotations

from .model import Difference, Profile

#: How a side showed a key of a set-like aspect (None: not at all).
_SEEN = {
    "answers": lambda n: f"{n} answer{'s' * (n != 1)}",
    "shape": lambda _: "present",
    "effects": lambda n: f"{n} task{'s' * (n != 1)}",
}


def diff_profiles(a: Profile, b: Profile) -> list[Difference]:
    """What only one side showed: answer classes, shape lines and task outcomes are compared as sets
    (how often each was seen is not: that follows timing and polling); verdicts check by check."""
    out: list[Difference] = []
    for aspect, seen in _SEEN.items():
        va = _counts(getattr(a, aspect))
        vb = _counts(getattr(b, aspect))
        for key in sorted(set(va) ^ set(vb)):
            out.append(
                Difference(
                    aspect,
                    key,
                    seen(va[key]) if key in va else None,
                    seen(vb[key]) if key in vb else None,
                )
            )
    for check in sorted(set(a.verdicts) | set(b.verdicts)):
        sa, sb = a.verdicts.get(check), b.verdicts.get(check)
        if sa != sb:
            out.append(Difference("verdicts", check, sa, sb))
    return out


def _counts(value: dict[str, int] | list[str]) -> dict[str, int]:
    return dict(value) if isinstance(value, dict) else dict.fromkeys(value, 1)
