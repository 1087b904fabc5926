"""Safe YAML reading and pydantic validation with messages that name the key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from planner.errors import InputError
from planner.tables import suggest

M = TypeVar("M", bound=BaseModel)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file safely (no tags that build Python objects)."""
    label = str(path)
    if not path.is_file():
        raise InputError("file not found", file=label)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text", file=label) from None
    if not text.strip():
        raise InputError("file is empty", file=label)
    try:
        return yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line = f"line {mark.line + 1}: " if mark else ""
        raise InputError(f"{line}tag not allowed ({exc.problem}); plain YAML values only", file=label) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{line}YAML syntax error: {problem}", file=label) from None


def _key_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate(model: type[M], data: Any, file: str, prefix: tuple[str | int, ...] = (),
             context: dict[str, Any] | None = None) -> M:
    """Validate ``data`` against ``model``; the first problem becomes an InputError with its key path
    (``prefix`` is prepended, for an item validated on its own)."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        key = _key_path(prefix + loc) or None
        if err["type"] == "extra_forbidden":
            fields = _fields_at(model, loc[:-1])
            msg = f"unknown key{suggest(str(loc[-1]), fields)}"
            if fields:
                msg += f"; expected one of {', '.join(sorted(fields))}"
        elif err["type"] == "missing":
            msg = "is required"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] not in ("value_error",) and "input" in err and not isinstance(err["input"], (dict, list)):
                msg += f", got {err['input']!r}"
        raise InputError(msg, file=file, key=key) from None


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the (nested) model at ``loc``, for "did you mean" suggestions; list indexes
    and mapping keys (such as quarters) on the way are stepped over."""
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
