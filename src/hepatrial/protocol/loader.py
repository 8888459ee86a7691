"""Load a protocol from a built-in name or a YAML file, with errors that name the key path.

Public API
----------
``load_protocol(name_or_path) -> Protocol``: ``name_or_path`` is a built-in name (see
:data:`BUILTIN_PROTOCOLS`: ``"match"``, ``"msc-aclf"``, ``"realistic"``) or the path of a YAML file.
``protocol_from_dict(data, source=...) -> Protocol`` validates an already-parsed mapping.
Every problem raises :class:`~hepatrial.exceptions.ProtocolError` naming the source, the key
path (``eligibility.inclusion[0].expression``), the offending value and what is allowed.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from hepatrial.exceptions import ProtocolError
from hepatrial.protocol.models import Protocol

BUILTIN_PROTOCOLS: tuple[str, ...] = ("match", "msc-aclf", "realistic")


def load_protocol(name_or_path: str | Path) -> Protocol:
    """Load and validate a protocol.

    Parameters
    ----------
    name_or_path : str or Path
        A built-in protocol name (``"match"``, ``"msc-aclf"``, ``"realistic"``) or a YAML file path.

    Raises
    ------
    ProtocolError
        The file is missing or not YAML, or the content does not validate.

    Examples
    --------
    >>> load_protocol("match").arm_ids
    ('macrophage', 'standard-care')
    """
    if isinstance(name_or_path, str) and name_or_path in BUILTIN_PROTOCOLS:
        return _builtin(name_or_path)
    path = Path(name_or_path)
    if not path.is_file():
        raise ProtocolError(
            f"protocol {str(name_or_path)!r} is neither a built-in name "
            f"({', '.join(BUILTIN_PROTOCOLS)}) nor an existing YAML file"
        )
    return _parse(path.read_text(encoding="utf-8"), source=str(path))


@functools.cache
def _builtin(name: str) -> Protocol:
    """A built-in protocol, parsed once (protocols are frozen, so sharing one is safe)."""
    resource = resources.files("hepatrial.protocol") / "builtin" / f"{name}.yaml"
    return _parse(resource.read_text(encoding="utf-8"), source=f"built-in {name!r}")


def _parse(text: str, *, source: str) -> Protocol:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ProtocolError(f"{source}: not valid YAML: {error}") from None
    return protocol_from_dict(data, source=source)


def protocol_from_dict(data: Any, *, source: str = "protocol") -> Protocol:
    """Validate a parsed mapping as a :class:`Protocol`; see :func:`load_protocol`."""
    if not isinstance(data, dict):
        raise ProtocolError(f"{source}: the top level must be a mapping, got {type(data).__name__}")
    try:
        return Protocol.model_validate(data)
    except ValidationError as error:
        problems = [_describe(item, data) for item in error.errors(include_url=False)]
        raise ProtocolError(
            f"{source}: {len(problems)} problem{'s' if len(problems) > 1 else ''}:\n  - "
            + "\n  - ".join(problems)
        ) from None
    except ProtocolError as error:  # an expression that does not parse, raised inside a model
        raise ProtocolError(f"{source}: {error}") from None


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _describe(item: Any, data: Any) -> str:
    loc = tuple(item["loc"])
    if item["type"] == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = f"; allowed keys here: {', '.join(allowed)}" if allowed else ""
        return f"{_path(loc[:-1])}: unknown key {loc[-1]!r}{hint}"
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] == "missing":
        return f"{_path(loc)}: required key is missing"
    return f"{_path(loc)}: {message} (got {_short(item.get('input'))})"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    """Field names of the model found by following ``loc`` from :class:`Protocol`."""
    model: type[BaseModel] = Protocol
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        nested = _model_in(field.annotation) if field is not None else None
        if nested is None:
            return []
        model = nested
    return sorted(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        found = _model_in(argument)
        if found is not None:
            return found
    return None
