"""Reading a user's YAML file with one-line errors (users, fault rules, scenarios)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def read_yaml(path: str | Path, what: str, error: type[Exception]) -> Any:
    """The YAML document at ``path``; ``error("<path>: ...")`` when it cannot be read or parsed."""
    try:
        return yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    except yaml.YAMLError:
        raise error(f"{path}: {what} is not valid YAML") from None
