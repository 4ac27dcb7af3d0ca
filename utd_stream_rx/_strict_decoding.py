"""Strict structure hooks for cattrs: a JSON value is taken only when it already has the type.

cattrs' default hooks convert (``bool("false")`` is ``True``, ``int(1.9)`` is ``1``,
``str(123)`` is ``"123"``, a string is a sequence of characters), which would hide a broken
engine answer behind a plausible value. The hooks here refuse instead, with a
:class:`WrongType` that says what was expected and what came, and
:func:`describe_failure` turns cattrs' nested validation errors into one line per field path
(``seats[2].locked: expected bool, got str 'false'``).
"""

from __future__ import annotations

import collections.abc
import enum
import functools
from collections.abc import Callable
from typing import Any, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, list_structure_factory
from cattrs.gen import make_dict_structure_fn, mapping_structure_factory
from cattrs.v import format_exception

__all__ = ["WrongType", "describe_failure", "describe_value", "make_strict_converter"]

Hook = Callable[[Any, Any], Any]

_SHOWN_CHARS = 40
"""Longest ``repr`` of a wrong value quoted in a message (engine answers can be large)."""

_SEQUENCES = frozenset({list, tuple, collections.abc.Sequence, collections.abc.MutableSequence})
_MAPPINGS = frozenset({dict, collections.abc.Mapping, collections.abc.MutableMapping})


class WrongType(TypeError):
    """A JSON value of the wrong type for its field (the message says which and what came)."""


def describe_value(value: object) -> str:
    """``value``'s type and a short ``repr``: ``str 'false'``, ``float 1.9``, ``None``."""
    if value is None:
        return "None"
    shown = repr(value)
    if len(shown) > _SHOWN_CHARS:
        shown = shown[: _SHOWN_CHARS - 3] + "..."
    return f"{type(value).__name__} {shown}"


def _wrong(kind: type[object], value: object) -> WrongType:
    return WrongType(f"expected {kind.__name__}, got {describe_value(value)}")


# One hook per scalar type, each a single exact-type test: they run for every field of every
# answer. JSON has no subclasses of these, so ``type(...) is`` loses nothing; a ``bool`` is never
# a number, and an ``int`` is a ``float`` (JSON does not tell ``1`` from ``1.0``).


def _structure_str(value: object, _: object) -> str:
    if type(value) is str:
        return value
    raise _wrong(str, value)


def _structure_int(value: object, _: object) -> int:
    if type(value) is int:
        return value
    raise _wrong(int, value)


def _structure_float(value: object, _: object) -> float:
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is int:
        return float(value)  # type: ignore[arg-type]
    raise _wrong(float, value)


def _structure_bool(value: object, _: object) -> bool:
    if value is True or value is False:
        return value
    raise _wrong(bool, value)


_SCALAR_HOOKS: tuple[tuple[type[object], Hook], ...] = (
    (str, _structure_str),
    (int, _structure_int),
    (float, _structure_float),
    (bool, _structure_bool),
)


@functools.cache
def _enum_values(cls: type[enum.Enum]) -> tuple[tuple[type[object], ...], str]:
    """The value types of ``cls``' members, and the list of values for messages."""
    kinds = tuple({type(member.value) for member in cls})
    return kinds, ", ".join(repr(member.value) for member in cls)


def _structure_enum(value: object, cls: type[enum.Enum]) -> enum.Enum:
    """A member of ``cls`` from its value (of the value's own type: no ``1`` for ``"1"``)."""
    if isinstance(value, cls):
        return value
    kinds, allowed = _enum_values(cls)
    if isinstance(value, kinds) and not isinstance(value, bool):
        try:
            return cls(value)
        except ValueError:
            pass
    raise WrongType(f"expected one of {allowed}, got {describe_value(value)}")


def _guarded(hook: Hook, accepted: type[object], expected: str) -> Hook:
    """``hook`` behind a check that the JSON value is an ``accepted`` (a ``list``, a ``dict``)."""

    def take(value: object, cls: object) -> object:
        if not isinstance(value, accepted):
            raise WrongType(f"expected {expected}, got {describe_value(value)}")
        return hook(value, cls)

    return take


def _is_sequence(cls: object) -> bool:
    origin = get_origin(cls)
    if origin is tuple:
        args = get_args(cls)
        return len(args) == 2 and args[1] is Ellipsis
    return origin in _SEQUENCES


def _is_mapping(cls: object) -> bool:
    return get_origin(cls) in _MAPPINGS or cls in _MAPPINGS


def _sequence_factory(cls: Any, conv: cattrs.Converter) -> Hook:
    make = list_structure_factory if get_origin(cls) is list else homogenous_tuple_structure_factory
    return _guarded(make(cls, conv), list, "a list")


def _mapping_factory(cls: Any, conv: cattrs.Converter) -> Hook:
    return _guarded(mapping_structure_factory(cls, conv), dict, "an object")


def _attrs_factory(cls: Any, conv: cattrs.Converter) -> Hook:
    return _guarded(make_dict_structure_fn(cls, conv), dict, "an object")


def make_strict_converter() -> cattrs.Converter:
    """A converter that structures JSON strictly (see the module's docstring); unknown extra
    keys are still ignored, so a newer engine's additions never break an older SDK."""
    conv = cattrs.Converter(forbid_extra_keys=False, omit_if_default=False)
    for kind, hook in _SCALAR_HOOKS:
        conv.register_structure_hook(kind, hook)
    # Registered by class so that they win over the ``str``/``int`` hooks for StrEnum/IntEnum.
    for base in (enum.Enum, enum.StrEnum, enum.IntEnum):
        conv.register_structure_hook(base, _structure_enum)
    conv.register_structure_hook_factory(_is_sequence, _sequence_factory)
    conv.register_structure_hook_factory(_is_mapping, _mapping_factory)
    conv.register_structure_hook_factory(attrs.has, _attrs_factory)
    return conv


def _format(exc: BaseException, expected: type[object] | None) -> str:
    if isinstance(exc, WrongType):
        return str(exc)
    if isinstance(exc, KeyError):
        return "required field missing"
    return format_exception(exc, expected)


def describe_failure(exc: BaseException) -> list[str]:
    """One ``path: problem`` line per wrong field of a failed structure (``problem`` alone for
    the top-level value)."""
    lines = []
    for message in cattrs.transform_error(exc, format_exception=_format):
        text, _, path = message.rpartition(" @ ")
        path = path.removeprefix("$").removeprefix(".")
        lines.append(f"{path}: {text}" if path else text)
    return lines
