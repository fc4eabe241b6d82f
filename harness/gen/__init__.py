"""Request generation: hypothesis strategies from the type registry, valid and invalid request bodies.

* :func:`values` — Python values of any declared type of a release (for the codec);
* :func:`requests` — valid request bodies of an operation (parameter name -> value);
* :func:`invalid_requests` — labelled, deliberately invalid request bodies;
* :mod:`.bodies` — parameter types, request encoding/decoding and the request-body schema.
"""

from . import reproducible  # noqa: F401 - first: seeds alone decide what is generated
from .bodies import decode_request, encode_request, param_ref, request_schema, request_validator
from .invalid import INVALID_KINDS, InvalidBody, invalid_requests
from .strategies import requests, values

__all__ = [
    "INVALID_KINDS",
    "InvalidBody",
    "decode_request",
    "encode_request",
    "invalid_requests",
    "param_ref",
    "request_schema",
    "request_validator",
    "requests",
    "values",
]
