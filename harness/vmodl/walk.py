"""One walk over the VMODL type system: which kind a declared type is, and a visitor per kind.

Every part that turns a declared type into something (the codec both ways, the JSON Schema and
OpenAPI builders, the hypothesis strategies, the simulator's neutral values, the sandbox's minimal
values) decides the kind of the type here, with :func:`kind`, and dispatches on it through a
:class:`TypeVisitor`: one method per kind.

The kinds:

========== ===================================================================================
array      ``T[]`` (:attr:`TypeRef.array`); the visitor gets the array's :class:`TypeRef`
primitive  ``boolean``, ``int``, ``string``, ``dateTime`` ... (:data:`PRIMITIVE_WIRE_NAMES`)
enum       an enum type: its values are strings
reference  an untyped reference: ``ManagedObjectReference``, or the managed root ``ManagedObject``
           (both name a reference to any managed object)
any        ``anyType``: a value that carries its ``_typeName``
data       a data type (faults included)
managed    a managed type (``VirtualMachine``): a reference to an object of it or of a subtype
========== ===================================================================================

``ManagedObject`` is a managed type of the registry, but a position declared ``ManagedObject``
takes a reference to any managed object, as ``ManagedObjectReference`` does: that is decided here
and nowhere else (:data:`UNTYPED_REFERENCES`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from .registry import MANAGED_ROOT, MOREF, Release, TypeRef
from .values import DataObject

#: Declared type names that take a reference to any managed object.
UNTYPED_REFERENCES = frozenset({MOREF, MANAGED_ROOT})


class Kind(enum.Enum):
    """The kind of a declared type; :attr:`method` names its :class:`TypeVisitor` method.

    (No string values, on purpose: Hypothesis draws strings among the literals of the loaded local
    modules, so a new literal in this module would change the values generated for a seed.)
    """

    ARRAY = enum.auto()
    PRIMITIVE = enum.auto()
    ENUM = enum.auto()
    REFERENCE = enum.auto()
    ANY = enum.auto()
    DATA = enum.auto()
    MANAGED = enum.auto()

    @property
    def method(self) -> str:
        """``visit_array``, ``visit_primitive`` ... ``visit_managed``."""
        return f"visit_{self.name.lower()}"


#: :meth:`Release.kind`'s names -> kinds (``ManagedObject`` aside, see :func:`name_kind`).
_REGISTRY_KINDS = {
    "primitive": Kind.PRIMITIVE,
    "anyType": Kind.ANY,
    "moref": Kind.REFERENCE,
    "enum": Kind.ENUM,
    "data": Kind.DATA,
    "managed": Kind.MANAGED,
}


def as_ref(declared: TypeRef | str) -> TypeRef:
    """A :class:`TypeRef` from a TypeRef or a wire string (``"string[]"`` is an array of string)."""
    if isinstance(declared, TypeRef):
        return declared
    return TypeRef(declared[:-2], True) if declared.endswith("[]") else TypeRef(declared)


def name_kind(rel: Release, name: str) -> Kind:
    """The kind of a (non-array) type name in ``rel``; KeyError when the release has no such type."""
    if name in UNTYPED_REFERENCES:
        return Kind.REFERENCE
    return _REGISTRY_KINDS[rel.kind(name)]


def kind(rel: Release, declared: TypeRef | str) -> Kind:
    """The kind of a declared type in ``rel``; KeyError when the release has no such type."""
    ref = as_ref(declared)
    return Kind.ARRAY if ref.array else name_kind(rel, ref.name)


def is_reference(rel: Release, name: str) -> bool:
    """Whether a type name declares a reference (untyped or to a managed type); False for unknown names."""
    return name in UNTYPED_REFERENCES or name in rel.managed


def referable(rel: Release, name: str, *, abstract: bool = True) -> list[str]:
    """The managed types a reference in a position declared ``name`` may name, sorted: every managed
    type for an untyped reference, else ``name`` and its subtypes.  ``abstract=False`` leaves out
    the root ``ManagedObject``, which no server hands out."""
    types = sorted(rel.managed) if name in UNTYPED_REFERENCES else rel.subtypes(name)
    return types if abstract else [t for t in types if t != MANAGED_ROOT]


class TypeVisitor:
    """A walk over the declared types of one release, one ``visit_<kind>`` method per :class:`Kind`.

    ``visit(ref, *args)`` calls ``visit_array(ref, *args)`` for an array and
    ``visit_<kind>(name, *args)`` for anything else; the extra arguments are the subclass's
    (a value and a path for the codec, a depth for the strategies ...).  The method of a type name
    is decided once and cached (:meth:`method`), so a walk over a large value pays one dict lookup
    per position.  A method a subclass does not define raises :class:`NotImplementedError`.
    """

    def __init__(self, rel: Release):
        self.release = rel
        self._methods: dict[str, Callable[..., Any]] = {}

    def visit(self, ref: TypeRef | str, *args: Any) -> Any:
        """Dispatch a declared type (a TypeRef or a wire string such as ``"string[]"``) to its kind."""
        if type(ref) is not TypeRef:
            ref = as_ref(ref)
        if ref.array:
            return self.visit_array(ref, *args)
        return self.method(ref.name)(ref.name, *args)

    def method(self, name: str) -> Callable[..., Any]:
        """The bound ``visit_<kind>`` method of a (non-array) type name; KeyError for an unknown type."""
        got = self._methods.get(name)
        if got is None:
            got = self._methods[name] = getattr(self, name_kind(self.release, name).method)
        return got

    def kind(self, ref: TypeRef | str) -> Kind:
        """The kind of a declared type in this visitor's release."""
        return kind(self.release, ref)

    # --- one method per kind (array gets the TypeRef, the others the type name) --------------------
    def visit_array(self, ref: TypeRef, /, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not walk arrays ({ref})")

    def visit_primitive(self, name: str, /, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not walk primitives ({name})")

    def visit_enum(self, name: str, /, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not walk enums ({name})")

    def visit_reference(self, name: str, /, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not walk untyped references ({name})")

    def visit_any(self, name: str, /, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not walk anyType ({name})")

    def visit_data(self, name: str, /, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not walk data types ({name})")

    def visit_managed(self, name: str, /, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not walk managed types ({name})")


class ValueVisitor(TypeVisitor):
    """A visitor that builds a Python value of a declared type, walking with a ``depth``.

    A data object gets its required fields (a field whose value is None is left out), down to
    :attr:`max_depth`, past which :meth:`too_deep` decides; subclasses give the other kinds
    (``visit_<kind>(name, depth)``, ``visit_array(ref, depth)``).  The simulator's neutral values
    (:class:`harness.sim.build.Builder`) are one; a minimal valid value is another.
    """

    #: The deepest data object that still gets its required fields.
    max_depth = 6

    def __init__(self, rel: Release):
        super().__init__(rel)
        self._required: dict[str, tuple[tuple[str, TypeRef], ...]] = {}

    def value(self, declared: TypeRef | str, depth: int = 0) -> Any:
        """A value of a declared type."""
        return self.visit(declared, depth)

    def required(self, name: str) -> tuple[tuple[str, TypeRef], ...]:
        """The required fields of a data type, (name, type) in order (cached)."""
        got = self._required.get(name)
        if got is None:
            got = self._required[name] = tuple(
                (f.name, f.type) for f in self.release.fields(name) if not f.optional
            )
        return got

    def visit_data(self, name: str, depth: int = 0) -> Any:
        if depth > self.max_depth:
            return self.too_deep(name)
        out = DataObject(name)
        for fname, ref in self.required(name):
            value = self.visit(ref, depth + 1)
            if value is not None:
                out[fname] = value
        return out

    def too_deep(self, name: str) -> Any:
        """The value of a data type past :attr:`max_depth` (default: ValueError)."""
        raise ValueError(f"cannot build a {name}: too deep")
