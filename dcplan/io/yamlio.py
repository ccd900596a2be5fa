"""The one input layer for files: read YAML and JSON safely, with the line of every key; write atomically.

Every YAML or JSON document dcplan reads (workloads, scenarios, catalog entries, profiles,
calibrations, Hugging Face ``config.json``, dashboard uploads) goes through :func:`read_yaml`,
:func:`parse_yaml`, :func:`read_json` or :func:`parse_json`. They refuse, each with one
``file:line: field: problem`` InputError: files over the size limits, directories, devices and
pipes, binary content, alias bombs and recursive aliases, nesting deeper than the limit, NaN
and infinite numbers, integers too large for a float, duplicate keys, and documents whose top
is not what the caller expects (a mapping unless told otherwise). The limits live in
:mod:`dcplan.limits`. Only safe loaders are used (no Python object tags).
"""

from __future__ import annotations

import json
import math
import os
import secrets
import stat
import sys
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from dcplan import limits
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


def parse_yaml(text: str, file: str = "<string>", *, expect: str = "mapping") -> Located:
    """Parse YAML text safely; malformed or hostile YAML is an InputError with its line.

    Before anything is built, one pass over the parser's events bounds the document: nesting
    depth (:data:`dcplan.limits.NESTING`), and nodes counted with every alias expanded
    (:data:`dcplan.limits.YAML_NODES`), so an alias bomb of a few hundred bytes is refused in
    microseconds; a recursive alias is refused. After building, numbers that are not finite
    (``.nan``, ``.inf``, ``1e999``) or too large for a float are refused with their field.
    ``expect`` is "mapping", "list" or "any" (what the top of the document must be).
    """
    _check_text(text, file, limits.YAML_FILE)
    _bound_events(text, file)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise InputError("", f"malformed YAML: {exc.problem or exc.context}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise InputError("", f"malformed YAML: {_first_line(exc)}", file=file) from None
    except ValueError as exc:  # an integer of thousands of digits (Python's int conversion limit)
        raise InputError("", f"unreadable number: {_first_line(exc).split(';')[0]}", file=file) from None
    except (OverflowError, TypeError, RecursionError) as exc:
        raise InputError("", f"unreadable YAML value: {exc.__class__.__name__}: {_first_line(exc)}", file=file) from None
    finally:
        loader.dispose()
    lines: dict[Path_, int] = {}
    if node is not None:
        _walk(node, (), lines, file)
    doc = Located(data=data, file=file, lines=lines)
    _check_values(data, doc)
    _check_top(doc, expect)
    return doc


def read_yaml(path: str | os.PathLike[str], *, expect: str = "mapping") -> Located:
    """Read and parse a YAML file through the size, type and content checks (see :func:`parse_yaml`)."""
    p = Path(path)
    return parse_yaml(_read_text(p, "", limits.YAML_FILE), str(p), expect=expect)


def parse_json(text: str, file: str = "<string>", field: str = "", *, expect: str = "mapping") -> Any:
    """Parse JSON text with the same guarantees as :func:`parse_yaml` (no line numbers inside values).

    Refuses NaN/Infinity literals, numbers too large for a float, duplicate keys, nesting
    deeper than :data:`dcplan.limits.NESTING` and more than :data:`dcplan.limits.JSON_NODES` values.
    """
    _check_text(text, file, limits.JSON_FILE, field)
    if not text.strip():
        raise InputError(field, "empty file (truncated?)", file=file)
    try:
        data = json.loads(text, parse_constant=_json_constant, parse_int=_json_int, object_pairs_hook=_json_object)
    except json.JSONDecodeError as exc:
        raise InputError(field, f"not valid JSON (truncated?): {exc.msg}", file=file, line=exc.lineno) from None
    except _DuplicateKey as exc:
        raise InputError(field, f"duplicate key {exc.args[0]!r}", file=file) from None
    except RecursionError:
        raise InputError(field, f"nested deeper than {limits.NESTING.describe()}", file=file) from None
    except (ValueError, OverflowError) as exc:
        raise InputError(field, f"unreadable JSON value: {exc}", file=file) from None
    doc = Located(data=data, file=file)
    _check_values(data, doc, prefix=(field,) if field else (), node_limit=limits.JSON_NODES)
    _check_top(doc, expect, field)
    return data


def read_json(path: str | os.PathLike[str], field: str = "", *, expect: str = "mapping") -> Any:
    """Read a JSON file; missing, unreadable, empty, oversized, malformed or hostile files are
    InputErrors naming ``field`` (see :func:`parse_json`)."""
    p = Path(path)
    return parse_json(_read_text(p, field, limits.JSON_FILE), str(p), field, expect=expect)


# --------------------------------------------------------------------------------------------
# The checks behind the readers
# --------------------------------------------------------------------------------------------


def read_text(path: str | os.PathLike[str], field: str = "", limit: limits.Limit = limits.JSON_FILE) -> str:
    """The text of a file through the same checks as the readers (size, regular file, UTF-8, no NUL)."""
    return _read_text(Path(path), field, limit)


def _read_text(p: Path, field: str, limit: limits.Limit) -> str:
    """The UTF-8 text of a regular file no larger than ``limit``; anything else is an InputError."""
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(field, "file not found", file=str(p)) from None
    except (OSError, ValueError) as exc:  # ENAMETOOLONG, ELOOP, NUL in the name
        raise InputError(field, f"cannot read: {exc.__class__.__name__}", file=str(p)) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(field, "is a directory, not a file", file=str(p))
    if not stat.S_ISREG(st.st_mode):
        raise InputError(field, "not a regular file (a device, pipe or socket)", file=str(p))
    if st.st_size > limit.maximum:
        raise InputError(field, f"{st.st_size:,} bytes is over {limit.describe()}: {limit.reason}", file=str(p))
    try:
        with p.open("rb") as fh:
            raw = fh.read(int(limit.maximum) + 1)  # the file may grow after stat()
    except OSError as exc:
        raise InputError(field, f"cannot read: {exc.__class__.__name__}", file=str(p)) from None
    if len(raw) > limit.maximum:
        raise InputError(field, f"over {limit.describe()}: {limit.reason}", file=str(p))
    return decode_text(raw, str(p), field)


def decode_text(raw: bytes, file: str, field: str = "") -> str:
    """UTF-8 text of ``raw`` (a leading byte-order mark dropped); binary content is an InputError."""
    if b"\x00" in raw:
        raise InputError(field, "binary content (NUL bytes), not a text file", file=file)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(field, f"not UTF-8 text (byte {exc.start:,}): binary or another encoding", file=file) from None
    return text[1:] if text.startswith("\ufeff") else text


def _check_text(text: str, file: str, limit: limits.Limit, field: str = "") -> None:
    if not isinstance(text, str):
        raise InputError(field, f"expected text, got {type(text).__name__}", file=file)
    if len(text) > limit.maximum:
        raise InputError(field, f"{len(text):,} characters is over {limit.describe()}: {limit.reason}", file=file)
    if "\x00" in text:
        raise InputError(field, "binary content (NUL characters), not text", file=file)


def _bound_events(text: str, file: str) -> None:
    """Depth and alias-expanded node count from the parser's events, before anything is built."""
    counts: list[int] = [0]  # nodes inside each open collection (the outermost is the stream)
    anchors_open: list[str | None] = []
    sizes: dict[str, int] = {}
    total = 0
    try:
        for ev in yaml.parse(text, Loader=_Loader):
            if isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                if len(counts) > limits.NESTING.maximum:
                    raise InputError("", f"nested deeper than {limits.NESTING.describe()}", file=file, line=ev.start_mark.line + 1)
                counts.append(0)
                anchors_open.append(ev.anchor)
            elif isinstance(ev, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                size = 1 + counts.pop()
                anchor = anchors_open.pop()
                if anchor is not None:
                    sizes[anchor] = size
                counts[-1] += size
            elif isinstance(ev, yaml.ScalarEvent):
                if ev.anchor is not None:
                    sizes[ev.anchor] = 1
                counts[-1] += 1
            elif isinstance(ev, yaml.AliasEvent):
                if ev.anchor not in sizes:
                    why = "a recursive alias" if ev.anchor in anchors_open else "an undefined alias"
                    raise InputError("", f"{why} *{ev.anchor}", file=file, line=ev.start_mark.line + 1)
                counts[-1] += sizes[ev.anchor]
            else:
                continue
            total = counts[0] + sum(counts[1:])
            if total > limits.YAML_NODES.maximum:
                raise InputError("", f"more nodes than {limits.YAML_NODES.describe()}: {limits.YAML_NODES.reason}",
                                 file=file, line=ev.start_mark.line + 1)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise InputError("", f"malformed YAML: {exc.problem or exc.context}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise InputError("", f"malformed YAML: {_first_line(exc)}", file=file) from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]


class _DuplicateKey(Exception):
    pass


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _json_constant(name: str) -> float:
    return float(name)  # NaN / Infinity: refused with its field by _check_values


class _TooLarge(float):
    """An integer literal beyond any float (refused with its field by _check_values)."""


def _json_int(digits: str) -> int | float:
    return _TooLarge("inf") if len(digits.lstrip("-")) > 308 else int(digits)


def _check_values(data: Any, doc: Located, prefix: Path_ = (), node_limit: limits.Limit | None = None) -> None:
    """Refuse numbers that are not finite or do not fit a float, naming the field (iterative walk)."""
    stack: list[tuple[Any, Path_, int]] = [(data, (), 0)]
    seen = 0
    while stack:
        value, path, depth = stack.pop()
        seen += 1
        if node_limit is not None and seen > node_limit.maximum:
            raise doc.error(prefix, f"more values than {node_limit.describe()}: {node_limit.reason}")
        if depth > limits.NESTING.maximum:
            raise doc.error(prefix + path[:4], f"nested deeper than {limits.NESTING.describe()}")
        if isinstance(value, bool):
            continue
        if isinstance(value, _TooLarge):
            raise doc.error(prefix + path, "number too large (beyond any float)")
        if isinstance(value, (bytes, bytearray, set, frozenset)):
            raise doc.error(prefix + path, f"{'binary' if isinstance(value, (bytes, bytearray)) else 'set'} values (!!binary, !!set) "
                                           "are not accepted: write text, numbers, lists and mappings")
        if isinstance(value, float) and not math.isfinite(value):
            raise doc.error(prefix + path, f"{value!r} is not allowed (no field takes NaN or infinite numbers; "
                                           f"a number too large for a float reads as infinite)")
        if isinstance(value, int) and abs(value) > _FLOAT_MAX:
            raise doc.error(prefix + path, "number too large (beyond any float)")
        if isinstance(value, dict):
            for k in value:
                if isinstance(k, str) and not _plain_key(k):
                    raise doc.error(prefix + path + (k,), "a key with control or invisible formatting characters "
                                                          "(escapes, bidi overrides, zero-width spaces): retype it")
            stack.extend((v, path + (k,), depth + 1) for k, v in value.items())
        elif isinstance(value, (list, tuple)):
            stack.extend((v, path + (i,), depth + 1) for i, v in enumerate(value))


_FLOAT_MAX = int(sys.float_info.max)


def _plain_key(key: str) -> bool:
    return key.isprintable() and not any(unicodedata.category(c) == "Cf" for c in key)
_EXPECT = {"mapping": (dict, "a mapping of fields"), "list": (list, "a list")}


def _check_top(doc: Located, expect: str, field: str = "") -> None:
    if expect == "any":
        return
    tp, what = _EXPECT[expect]
    if doc.data is None:
        raise InputError(field, f"empty document; expected {what}", file=doc.file)
    if not isinstance(doc.data, tp):
        got = {dict: "a mapping", list: "a list", str: "text"}.get(type(doc.data), type(doc.data).__name__)
        raise InputError(field, f"expected {what}, got {got}", file=doc.file, line=doc.line(()))


def write_atomic(path: str | os.PathLike[str], write: Callable[[Any], None], *, binary: bool = False, overwrite: bool = False) -> Path:
    """Write a whole file or nothing: the data goes to an unnamed file in the target's folder
    (Linux ``O_TMPFILE``), is flushed to disk, and only then gets its name.

    A process killed at any point (SIGTERM, SIGKILL, power loss) leaves either the earlier file
    or the new one, never half of one, and no temporary file behind: an unnamed file vanishes
    with its process. Where the file system has no ``O_TMPFILE``, a named temporary file is used
    (removed on any Python-level error; a SIGKILL can leave it, hidden as ``.NAME.*.tmp``).
    Unless ``overwrite``, an existing file is an InputError (nothing a user made is replaced
    without being asked).
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise InputError("out", f"{target} exists; choose another path or pass --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = _unnamed_file(target.parent)
    tmp: str | None = None
    if fd is None:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a written file gets the usual mode
    try:
        with os.fdopen(fd, "wb" if binary else "w", closefd=False, **({} if binary else {"encoding": "utf-8"})) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if tmp is None:
            tmp = _name_unnamed(fd, target)
        if overwrite:
            os.replace(tmp, target)
        else:
            # link() fails if the target appeared meanwhile: never clobber
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise InputError("out", f"{target} exists; choose another path or pass --force") from None
            os.unlink(tmp)
        _sync_dir(target.parent)
    except BaseException:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)
    return target


def _unnamed_file(folder: Path) -> int | None:
    """A file descriptor of an unnamed file in ``folder``, or None where O_TMPFILE is unsupported."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None:
        return None
    try:
        return os.open(folder, flag | os.O_WRONLY, 0o666)  # the mode honours the umask
    except OSError:  # EOPNOTSUPP, EISDIR (old kernels), EINVAL
        return None


def _name_unnamed(fd: int, target: Path) -> str:
    """Give the unnamed file a hidden temporary name beside ``target`` (for the final link or rename)."""
    dfd = os.open(target.parent, os.O_RDONLY)
    try:
        for _ in range(100):
            name = f".{target.name}.{secrets.token_hex(6)}.tmp"
            try:  # with a dir_fd, os.link is linkat(AT_SYMLINK_FOLLOW): it names the open file, not the /proc link
                os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=dfd, follow_symlinks=True)
                return str(target.parent / name)
            except FileExistsError:
                continue
    finally:
        os.close(dfd)
    raise OSError(f"cannot name a temporary file beside {target}")


def _sync_dir(folder: Path) -> None:
    """Flush the folder's entry for the new name (so a power loss keeps it)."""
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def write_json_atomic(path: str | os.PathLike[str], obj: Any, *, overwrite: bool = False) -> Path:
    return write_atomic(path, lambda fh: json.dump(obj, fh, indent=1, sort_keys=False), overwrite=overwrite)
