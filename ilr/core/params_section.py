"""The pydantic base of every params section, its constrained value types, and the one-line
message a validation error becomes (``<dotted key>: <what is wrong>, got <value>``).

Sections are strict (``seed: "0"`` or ``do_sample: yes`` are refused, not converted), refuse
unknown keys, are frozen, and read an empty section (``sft:`` with nothing under it) as its
defaults. Kept apart from ``ilr.core.params`` so that ``ilr.tasks.arith`` and ``ilr.tasks.sql_generator`` can
declare their knobs as sections without importing the params file's loader.
"""
from __future__ import annotations

import types
import typing
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator


class ParamsError(ValueError):
    """A params file that cannot be used; the message names the key and what is allowed."""


class Section(BaseModel):
    """One params section: unknown keys refused, values not coerced, instances frozen."""
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_defaults(cls, data):
        return {} if data is None else data


def _probability(value: float) -> float:
    if not 0 <= value <= 1:
        raise ValueError(f"must be a probability in [0, 1], got {value!r}")
    return value


def _share(value: float) -> float:
    if not 0 < value <= 1:
        raise ValueError(f"must be in (0, 1] (a share), got {value!r}")
    return value


PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Probability = Annotated[float, AfterValidator(_probability)]
Share = Annotated[float, AfterValidator(_share)]  # a share of something: (0, 1]

_EXPECTED = {"int_type": "int", "float_type": "float", "bool_type": "bool", "string_type": "str",
             "list_type": "list", "dict_type": "a mapping", "model_type": "a mapping"}


def build_section(cls: type[Section], data, where: str = ""):
    """An instance of section ``cls`` from a mapping; the first problem raises ParamsError
    (keys named from ``where``, the section's dotted place in the params file)."""
    try:
        return cls.model_validate(data)
    except ValidationError as e:
        raise ParamsError(describe(e, cls, where)) from None


def describe(error: ValidationError, root: type[Section], where: str = "") -> str:
    """The first problem of ``error`` as one line; unknown keys of one section are named
    together with the keys that section allows."""
    problems = error.errors(include_url=False)
    first = problems[0]
    prefix = tuple(where.split(".")) if where else ()
    if first["type"] == "extra_forbidden":
        parent = first["loc"][:-1]
        unknown = sorted(".".join(map(str, prefix + p["loc"])) for p in problems
                         if p["type"] == "extra_forbidden" and p["loc"][:-1] == parent)
        section = _hint_at(root, parent)
        allowed = list(section.model_fields) if _is_section(section) else []
        text = (f"unknown key(s) {unknown}; allowed under "
                f"{'.'.join(map(str, prefix + parent)) or 'the top level'}: {allowed}")
        rest = len(problems) - len(unknown)
    else:
        text, rest = _one(first, root, prefix), len(problems) - 1
    return text + (f" (and {rest} more problem(s))" if rest else "")


def _one(problem: dict, root: type[Section], prefix: tuple) -> str:
    loc, kind, value = problem["loc"], problem["type"], problem["input"]
    key = ".".join(map(str, prefix + loc)) or "params"
    if kind == "literal_error":
        allowed = list(typing.get_args(_hint_at(root, loc))) or problem["ctx"]["expected"]
        return f"{key}: {value!r} is not allowed; choose one of {allowed}"
    if kind == "greater_than":
        return f"{key}: must be > {problem['ctx']['gt']:g}, got {value!r}"
    if kind == "value_error":  # a check of ours; its text may name the key already
        message = str(problem["ctx"]["error"])
        return message if not loc or message.startswith(key) else f"{key}: {message}"
    if kind in _EXPECTED:
        return f"{key}: expected {_EXPECTED[kind]}, got {value!r}"
    return f"{key}: {problem['msg']}, got {value!r}"


def _is_section(hint) -> bool:
    return isinstance(hint, type) and issubclass(hint, BaseModel)


def _unwrap(hint):
    """``hint`` without Annotated metadata and without None in an Optional."""
    while True:
        origin = typing.get_origin(hint)
        if origin is Annotated:
            hint = typing.get_args(hint)[0]
        elif origin in (typing.Union, types.UnionType):
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        else:
            return hint


def _hint_at(root, loc: tuple):
    """The type declared at ``loc`` below section ``root``: a section's field, a mapping's or a
    list's items for a name or an index; None where ``loc`` leaves the declared types."""
    hint = root
    for part in loc:
        hint = _unwrap(hint)
        if _is_section(hint):
            field = hint.model_fields.get(part)
            hint = field.annotation if field else None
        elif typing.get_origin(hint) in (dict, list):
            hint = typing.get_args(hint)[-1]
        else:
            return None
    return _unwrap(hint)
