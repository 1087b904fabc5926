"""Safe YAML reading and pydantic validation with messages that name the key path."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from planner.errors import InputError
from planner.inputs.fileio import check_input
from planner.inputs.tables import suggest
from planner.inputs.units import MAX_AMOUNT, limit_text

M = TypeVar("M", bound=BaseModel)


MAX_DEPTH = 50


class _Refused(Exception):
    """A problem found while loading, with the line it is on."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


class _StrictConstructor(yaml.constructor.SafeConstructor):
    """The checks made while values are built: duplicate keys, real dates, finite numbers."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        """Build a mapping; a key written twice is an error naming both lines."""
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # an unhashable key: SafeLoader reports it
                if first is not None:
                    where = f"twice on line {line}" if first == line else f"twice (lines {first} and {line})"
                    raise _Refused(line, f"key {key!r} appears {where}; keep one")
                seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: Any) -> Any:
        """A date or time that exists, in years 1900-2200."""
        try:
            value = super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise _Refused(node.start_mark.line + 1, f"{node.value!r} is not a real date ({exc})") from None
        if not 1900 <= value.year <= 2200:
            raise _Refused(node.start_mark.line + 1, f"{node.value!r}: years must be within 1900-2200")
        return value

    def construct_yaml_float(self, node: Any) -> Any:
        """A finite float no larger than :data:`MAX_AMOUNT` (no .nan, no .inf)."""
        value = super().construct_yaml_float(node)
        _check_number(value, node)
        return value

    def construct_yaml_int(self, node: Any) -> Any:
        """An integer no larger than :data:`MAX_AMOUNT`."""
        value = super().construct_yaml_int(node)
        _check_number(value, node)
        return value


class StrictLoader(_StrictConstructor, yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, deep nesting and dates that do not exist.

    Pure Python: it words every problem (PyYAML's own messages). Files that load without one are
    read by :class:`_FastLoader`, the same checks over libyaml's parser.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Compose one node, refusing nesting deeper than :data:`MAX_DEPTH`."""
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # PyYAML is untyped here
                raise _Refused(mark.line + 1, f"nesting deeper than {MAX_DEPTH} levels; flatten the file")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _FastLoader(_StrictConstructor, yaml.CSafeLoader):
    """:class:`StrictLoader`'s checks over libyaml's parser (about ten times faster on the rules file)."""


def _shallow(text: str) -> bool:
    """Whether no collection nests near :data:`MAX_DEPTH` (libyaml's events, before any node is built)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth >= MAX_DEPTH - 1:
                return False
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return True


def _load(text: str) -> Any:
    """The file's values: through libyaml when it loads cleanly, else through the pure-Python loader, which words the problem."""
    if yaml.__with_libyaml__:
        try:
            if _shallow(text):
                loader = _FastLoader(text)
                try:
                    return loader.get_single_data()
                finally:
                    loader.dispose()
        except Exception:  # noqa: BLE001, S110 - any problem is read again below to be worded
            pass
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass


_DECIMAL = re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$")


def _check_number(value: float, node: Any) -> None:
    line = node.start_mark.line + 1
    text = node.value.lower().lstrip("+-")
    if text not in (".nan", ".inf") and (not _DECIMAL.match(node.value) or re.match(r"0[0-9]", text)):
        raise _Refused(
            line,
            f"{node.value!r}: write numbers as plain decimals such as 1000 or 1.5e3 (no '_', leading zeros, hex or 1:30)",
        )
    if value != value or value in (math.inf, -math.inf):
        raise _Refused(line, f"{node.value!r} is not a finite number; give a number")
    if abs(value) > MAX_AMOUNT:
        raise _Refused(
            line, f"{node.value!r} is above {limit_text(MAX_AMOUNT)}, the largest number gpuplan accepts"
        )


# YAML 1.2 floats (1e3, 1.5E-2) are numbers, as in JSON, not strings
_FLOAT = re.compile(r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[eE][-+]?[0-9]+$")


def _timestamp(loader: Any, node: Any) -> Any:
    return loader.construct_yaml_timestamp(node)


def _float(loader: Any, node: Any) -> Any:
    return loader.construct_yaml_float(node)


def _int(loader: Any, node: Any) -> Any:
    return loader.construct_yaml_int(node)


StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
_FastLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))
for _tag, _make in (("timestamp", _timestamp), ("float", _float), ("int", _int)):
    StrictLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _make)
    _FastLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _make)


def read_yaml(path: Path) -> Any:
    """Parse a YAML (or JSON) file strictly: plain values only, no duplicate keys, real dates, finite numbers."""
    label = str(path)
    check_input(path, "a YAML file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text", file=label) from None
    if not text.strip():
        raise InputError("file is empty", file=label)
    try:
        return _load(text)
    except _Refused as exc:
        raise InputError(f"line {exc.line}: {exc.message}", file=label) from None
    except RecursionError:
        raise InputError(f"nesting deeper than {MAX_DEPTH} levels; flatten the file", file=label) from None
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line = f"line {mark.line + 1}: " if mark else ""
        raise InputError(
            f"{line}tag not allowed ({exc.problem}); plain YAML values only", file=label
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{line}YAML syntax error: {problem}", file=label) from None


#: the kinds of distribution a shock amount may be (the one tagged union of the inputs, on ``dist``)
DISTRIBUTIONS = "uniform, triangular, lognormal, choice"


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate(
    model: type[M],
    data: Any,
    file: str,
    prefix: tuple[str | int, ...] = (),
    context: dict[str, Any] | None = None,
) -> M:
    """Validate ``data`` against ``model``; the first problem becomes an InputError with its key path (``prefix`` is prepended, for an item validated on its own)."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        err = _best_error(exc.errors())
        loc = _plain_loc(err["loc"])
        key = _key_path(prefix + loc) or None
        if err["type"] == "extra_forbidden":
            fields = _fields_at(model, loc[:-1])
            msg = f"unknown key{suggest(str(loc[-1]), fields)}"
            if fields:
                msg += f"; expected one of {', '.join(sorted(fields))}"
        elif err["type"] == "missing":
            msg = "is required"
        elif err["type"] == "union_tag_not_found":
            msg = f"a distribution needs dist: one of {DISTRIBUTIONS}"
        elif err["type"] == "union_tag_invalid":
            msg = f"unknown dist {(err.get('ctx') or {}).get('tag')!r}; expected one of {DISTRIBUTIONS}"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if (
                err["type"] not in ("value_error",)
                and "input" in err
                and not isinstance(err["input"], (dict, list))
            ):
                msg += f", got {_short(err['input'])}"
        raise InputError(msg, file=file, key=key) from None


def _branch(part: object) -> bool:
    """A segment pydantic adds to a location for a validator or a branch of a union."""
    return isinstance(part, str) and (
        part.startswith(("function-", "constrained-", "tagged-union[")) or part in ("float", "int", "str")
    )


def _plain_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The key path the user wrote: union branches and tags (after ``tagged-union[...]``) left out."""
    out: list[Any] = []
    skip_tag = False
    for part in loc:
        if skip_tag:
            skip_tag = False
            continue
        if isinstance(part, str) and part.startswith("tagged-union["):
            skip_tag = True
            continue
        if not _branch(part):
            out.append(part)
    return tuple(out)


def _best_error(errors: list[Any]) -> Any:
    """The error to report: for a value that may be a number or a distribution, the branch the value was written for."""
    first = errors[0]
    if not any(_branch(p) and not str(p).startswith("function-") for p in first["loc"]):
        return first
    wanted = dict if isinstance(first.get("input"), dict) else None
    for err in errors:
        in_union = any(isinstance(p, str) and p.startswith("tagged-union[") for p in err["loc"])
        if _plain_loc(err["loc"])[: len(_plain_loc(first["loc"]))] == _plain_loc(first["loc"]) and (
            in_union == (wanted is dict)
        ):
            return err
    return first


def _short(value: object, limit: int = 60) -> str:
    """A value as shown in a message: its repr, cut to ``limit`` characters."""
    text = repr(value)
    return (
        text if len(text) <= limit else f"{text[: limit - 5]}...{text[-1]} ({len(str(value)):,} characters)"
    )


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (nested) model at ``loc``, for "did you mean" suggestions; list indexes and mapping keys (such as quarters) on the way are stepped over."""
    current: Any = model
    for part in loc:
        field = getattr(current, "model_fields", {}).get(part) if isinstance(part, str) else None
        if field is None:
            continue
        current = _inner_model(field.annotation)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}))


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
