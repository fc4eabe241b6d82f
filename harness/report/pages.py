"""The one way the project renders HTML pages: jinja2, autoescaped, strict about undefined names."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import jinja2


@functools.cache
def environment(templates: Path) -> jinja2.Environment:
    """The jinja2 environment of a folder of templates (cached per folder); ``pretty`` renders a
    JSON value indented."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["pretty"] = lambda v: json.dumps(v, indent=2, default=str)
    return env
