"""Turn parsed YAML/JSON mappings into frozen spec dataclasses, with file:line:field errors.

One mechanism for every input file (catalogs, workloads, scenarios, profiles): the dataclass's
type hints say what each field accepts; unknown keys get the nearest known name suggested;
``__post_init__`` range checks are re-raised with the line of the offending field.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import types
import typing
from typing import Any, Mapping

from dcplan.errors import InputError
from dcplan.io.yamlio import Located, Path_, dotted
from dcplan.units import parse_quantity


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def suggest(name: str, choices: typing.Iterable[str]) -> str:
    """' (did you mean x?)' for the closest choice, or ''."""
    close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if origin in (tuple, list):
        return "a list"
    if origin in (dict, Mapping, typing.Mapping) or tp in (dict,):
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {int: "a whole number", float: "a number", str: "text", bool: "true or false"}.get(tp, str(tp))


def convert(value: Any, tp: Any, doc: Located, path: Path_) -> Any:
    """Convert ``value`` to type ``tp`` or raise an InputError located at ``path``."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return convert(value, arg, doc, path)
            except InputError as exc:
                errors.append(exc)
        raise errors[0] if len(errors) == 1 else doc.error(path, f"must be {_type_name(tp)}, got {value!r}")
    if tp is typing.Any:
        return value
    if value is None:
        raise doc.error(path, f"must be {_type_name(tp)}, got nothing")
    if dataclasses.is_dataclass(tp):
        return build(tp, value, doc, path)  # type: ignore[arg-type]
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise doc.error(path, f"must be a list, got {value!r}")
        (item_tp, *_rest) = typing.get_args(tp) or (typing.Any,)
        items = [convert(v, item_tp, doc, path + (i,)) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping) or origin is typing.Mapping or (origin is not None and issubclass(origin, Mapping)):
        if not isinstance(value, Mapping):
            raise doc.error(path, f"must be a mapping, got {value!r}")
        key_tp, val_tp = typing.get_args(tp) or (str, typing.Any)
        return {str(k): convert(v, val_tp, doc, path + (k,)) for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise doc.error(path, f"must be true or false, got {value!r}")
        return value
    if tp is int:
        try:
            number = parse_quantity(value)
        except ValueError as exc:
            raise doc.error(path, str(exc)) from None
        if number != int(number):
            raise doc.error(path, f"must be a whole number, got {value!r}")
        return int(number)
    if tp is float:
        try:
            return parse_quantity(value)
        except ValueError as exc:
            raise doc.error(path, str(exc)) from None
    if tp is str:
        if isinstance(value, (dict, list)):
            raise doc.error(path, f"must be text, got {value!r}")
        return str(value)
    return value


def build(cls: type, value: Any, doc: Located, path: Path_ = ()) -> Any:
    """Build dataclass ``cls`` from the mapping ``value`` found at ``path`` in ``doc``."""
    if not isinstance(value, Mapping):
        raise doc.error(path, f"must be a mapping of fields, got {type(value).__name__}")
    hints = _hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs: dict[str, Any] = {}
    for key, raw in value.items():
        if key not in known:
            raise doc.error(path + (key,), f"unknown field{suggest(key, known)}; allowed: {', '.join(known)}")
        kwargs[key] = convert(raw, hints[key], doc, path + (key,))
    missing = [
        name
        for name, f in known.items()
        if name not in kwargs and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise doc.error(path, f"missing required field{'s' if len(missing) > 1 else ''}: {', '.join(missing)}")
    try:
        return cls(**kwargs)
    except InputError as exc:
        field = exc.field.split(".")[0] if exc.field else ""
        sub = path + ((field,) if field in value else ())
        raise InputError(dotted_path(path, exc.field), exc.message, file=doc.file, line=doc.line(sub)) from None


def dotted_path(path: Path_, field: str) -> str:
    base = dotted(path)
    return f"{base}.{field}" if base and field else (base or field)
