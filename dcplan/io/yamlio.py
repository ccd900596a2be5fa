"""Read YAML with the line of every key; write files atomically.

Only safe loaders are used (no Python object tags). Every loaded document comes with a map from
key path to line number so that validation errors can say ``file:line: field: problem``.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from dcplan.errors import InputError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Path_ = tuple[Any, ...]


@dataclass(frozen=True)
class Located:
    """A parsed document and the line where each key path starts (1-based)."""

    data: Any
    file: str
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, path: Path_) -> int | None:
        """Line of ``path``, or of its nearest parent that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def error(self, path: Path_, message: str) -> InputError:
        return InputError(dotted(path), message, file=self.file, line=self.line(path))


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _walk(node: yaml.Node, path: Path_, lines: dict[Path_, int], file: str) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise InputError(dotted(path + (key,)), "duplicate key", file=file, line=key_node.start_mark.line + 1)
            seen.add(key)
            lines[path + (key,)] = key_node.start_mark.line + 1
            _walk(value_node, path + (key,), lines, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[path + (i,)] = item.start_mark.line + 1
            _walk(item, path + (i,), lines, file)


def parse_yaml(text: str, file: str = "<string>") -> Located:
    """Parse YAML text safely; malformed YAML is an InputError with its line."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(data=None, file=file, lines={})
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise InputError("", f"malformed YAML: {exc.problem or exc.context}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise InputError("", f"malformed YAML: {exc}", file=file) from None
    finally:
        loader.dispose()
    lines: dict[Path_, int] = {}
    _walk(node, (), lines, file)
    return Located(data=data, file=file, lines=lines)


def read_yaml(path: str | os.PathLike[str]) -> Located:
    """Read and parse a YAML file (see :func:`parse_yaml`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("", "file not found", file=str(p)) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InputError("", f"cannot read: {exc.__class__.__name__}", file=str(p)) from None
    return parse_yaml(text, str(p))


def read_json(path: str | os.PathLike[str], field: str = "") -> Any:
    """Read a JSON file; missing, unreadable, empty or malformed files are InputErrors naming ``field``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(field, "file not found", file=str(p)) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise InputError(field, f"cannot read: {exc.__class__.__name__}", file=str(p)) from None
    return parse_json(text, str(p), field)


def parse_json(text: str, file: str = "<string>", field: str = "") -> Any:
    """Parse JSON text (an upload, a file's contents); empty or malformed text is an InputError naming ``field``."""
    if not text.strip():
        raise InputError(field, "empty file (truncated?)", file=file)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(field, f"not valid JSON (truncated?): {exc.msg}", file=file, line=exc.lineno) from None


def write_atomic(path: str | os.PathLike[str], write: Callable[[Any], None], *, binary: bool = False, overwrite: bool = False) -> Path:
    """Write through a temporary file in the same directory, then rename.

    A crash leaves either the old file or none, never half of one. Unless ``overwrite``, an
    existing file is an InputError (nothing a user made is replaced without being asked).
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise InputError("out", f"{target} exists; choose another path or pass --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a written file gets the usual mode
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, target)
        else:
            # link() fails if the target appeared meanwhile: never clobber
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise InputError("out", f"{target} exists; choose another path or pass --force") from None
            os.unlink(tmp)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def write_json_atomic(path: str | os.PathLike[str], obj: Any, *, overwrite: bool = False) -> Path:
    return write_atomic(path, lambda fh: json.dump(obj, fh, indent=1, sort_keys=False), overwrite=overwrite)
