"""YAML loading for files nobody vouches for, remembering which line every key came from.

Pydantic reports errors by field path; users fix files by line. One pass over libyaml's event
stream builds the data and a path -> line index together, so an error can name
``config.yaml:14``. The pass is iterative and bounded, because a tenant's file may be hostile:

* anchors, aliases and merge keys are refused (a 354-byte alias bomb expands to gigabytes);
* a file is at most :data:`MAX_FILE_BYTES` and nests at most :data:`MAX_DEPTH` levels;
* a key written twice in one mapping is an error naming both lines (YAML keeps the last,
  silently, so a second ``source:`` could swap the database);
* only plain values are built: text, numbers, true/false, null, lists and mappings. Explicit
  tags (``!!python/object``, ``!!binary``, ``!custom``) are refused, and timestamps are left as
  text, so ``start_date: 2026-13-45`` reaches the model (and its error message), not a
  ``datetime`` constructor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final

import yaml

from etl.utils.safe_paths import open_inside

PathKey = tuple[str | int, ...]

MAX_FILE_BYTES: Final = 262_144
"""A tenant config is a few kilobytes; 256 KiB holds some 1,500 pipelines. A larger file (a
megabyte of hostile YAML, ``/dev/zero``) is refused without reading more than this."""
MAX_DEPTH: Final = 32
"""Nesting levels; a tenant config needs six."""
MAX_PROBLEMS: Final = 20
"""Problems reported per file; a file of 100,000 duplicate keys needs no 100,000 lines."""

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS: Final = frozenset(f"{_CORE}{t}" for t in ("str", "int", "float", "bool", "null"))
_COLLECTION_TAGS: Final = frozenset({f"{_CORE}map", f"{_CORE}seq"})
_KEPT_RESOLVERS: Final = _SCALAR_TAGS  # not timestamp, merge (<<) or value (=)
ALLOWED_VALUES: Final = "text, numbers, true/false, null, lists and mappings"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser (pure Python only where libyaml is missing) with plain resolvers."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, Any]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag in _KEPT_RESOLVERS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_MAYBE_TYPED: Final = frozenset(
    first for first, resolvers in _Loader.yaml_implicit_resolvers.items() if resolvers)
"""First characters of plain scalars that may be a number, bool or null; others are text."""
_INT: Final = f"{_CORE}int"
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_CONSTRUCT = {
    f"{_CORE}int": _CONSTRUCTOR.construct_yaml_int,
    f"{_CORE}float": _CONSTRUCTOR.construct_yaml_float,
    f"{_CORE}bool": _CONSTRUCTOR.construct_yaml_bool,
    f"{_CORE}null": _CONSTRUCTOR.construct_yaml_null,
}


@dataclass(frozen=True)
class YamlProblem:
    """One thing wrong with a file, at a 1-based line (and column, when it helps)."""

    line: int
    message: str
    column: int | None = None


class YamlError(ValueError):
    """The file cannot be read as a config; every problem found, up to :data:`MAX_PROBLEMS`."""

    def __init__(self, problems: list[YamlProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"line {p.line}: {p.message}" for p in self.problems))


class YamlDocument:
    """Parsed YAML plus the 1-based line of every mapping key and sequence item."""

    def __init__(self, file: Path, data: Any, lines: dict[PathKey, int]) -> None:
        self.file = file
        self.data = data
        self.lines = lines

    def line_of(self, path: PathKey) -> int | None:
        """The line of the deepest prefix of ``path`` present in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(path[:end])
            if line is not None:
                return line
        return None

    def has(self, path: PathKey) -> bool:
        return path in self.lines


def load_yaml(file: Path, folder: Path | None = None) -> YamlDocument:
    """Read, decode and parse ``file``; raises :class:`YamlError` (or ``OSError``).

    With ``folder``, the file must be in it (no link out of it, see
    :func:`etl.utils.safe_paths.open_inside`).
    """
    data, lines = parse_yaml(decode(read_limited(file, folder)))
    return YamlDocument(file, data, lines)


def read_limited(file: Path, folder: Path | None = None) -> bytes:
    """The file's bytes, never more than :data:`MAX_FILE_BYTES` (whatever the file is); with
    ``folder``, only a regular file really inside that folder is read."""
    with (open_inside(file, folder) if folder is not None else file.open("rb")) as f:
        raw = f.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        size = f"{file.stat().st_size:,} bytes" if file.is_file() else "endless"
        raise YamlError([YamlProblem(1, (
            f"the file is {size}; a config may have at most {MAX_FILE_BYTES:,} bytes "
            f"({MAX_FILE_BYTES // 1024} KiB)"))])
    return raw


def decode(raw: bytes) -> str:
    """UTF-8 text (a BOM is fine); a bad byte is reported by line and column."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line_start = raw.rfind(b"\n", 0, e.start) + 1
        line = raw.count(b"\n", 0, e.start) + 1
        column = len(raw[line_start:e.start].decode("utf-8", "replace")) + 1
        raise YamlError([YamlProblem(
            line, f"not UTF-8 text: byte {raw[e.start]:#04x} at line {line}, column {column}; "
                  "save the file as UTF-8", column)]) from None


def parse_yaml(text: str) -> tuple[Any, dict[PathKey, int]]:
    """The data and its line index; raises :class:`YamlError` for anything not allowed."""
    loader = _Loader(text)
    try:
        return _Builder(loader).build(_events(loader, text))
    finally:
        loader.dispose()


def _events(loader: Any, text: str) -> Iterator[yaml.Event]:
    try:
        while loader.check_event():
            yield loader.get_event()
    except yaml.MarkedYAMLError as e:
        raise YamlError([_syntax_problem(e, text)]) from None
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        column = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        raise YamlError([YamlProblem(
            line, f"character #x{_code(e.character):04x} (at column {column}) is not allowed "
                  "in YAML text; remove it", column)]) from None


def _code(character: str | int) -> int:
    return ord(character) if isinstance(character, str) else character


def _syntax_problem(error: yaml.MarkedYAMLError, text: str) -> YamlProblem:
    """Where the problem starts: the tab, or the opening of a string or bracket never closed."""
    problem, context = error.problem_mark, error.context_mark
    cause = str(error.problem or "not valid YAML")
    if problem is not None:
        lines = text.splitlines()
        row = lines[problem.line] if problem.line < len(lines) else ""
        indent = row[: len(row) - len(row.lstrip(" \t"))]
        if "\t" in indent:
            return YamlProblem(problem.line + 1, (
                f"a tab is used for indentation (column {indent.index(chr(9)) + 1}); YAML "
                "indents with spaces only"), indent.index("\t") + 1)
    if "nesting depth" in cause:  # libyaml's own limit, met while scanning brackets ahead
        line, column = (problem.line + 1, problem.column + 1) if problem else (1, 1)
        return YamlProblem(line, f"nested deeper than {MAX_DEPTH} levels; a config needs far "
                                 "fewer", column)
    opened = str(error.context or "")
    if context is not None and "quoted scalar" in opened:
        column = context.column + 1
        if "end of stream" in cause:
            return YamlProblem(context.line + 1, (
                f"a quoted string starts here (column {column}) and is never closed ({cause}); "
                "add the closing quote"), column)
        return YamlProblem(context.line + 1, (
            f"invalid YAML in the quoted string starting here (column {column}): {cause}"),
            column)
    if context is not None and ("flow sequence" in opened or "flow mapping" in opened):
        bracket = "[...]" if "sequence" in opened else "{...}"
        return YamlProblem(context.line + 1, (
            f"invalid YAML in the {bracket} opened here (column {context.column + 1}): "
            f"{cause}"), context.column + 1)
    mark = problem or context
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return YamlProblem(line, f"invalid YAML at column {column}: {cause}", column)


@dataclass(slots=True)
class _Frame:
    """An open mapping or sequence; ``path`` is None inside an ignored duplicate's value."""

    container: Any
    path: PathKey | None
    is_map: bool
    key: str | None = None
    duplicate: bool = False
    keys: dict[str, int] = field(default_factory=dict)


class _TooMany(Exception):
    """Enough problems found to stop reading."""


class _Builder:
    """Turns the event stream into data and a line index, refusing what is not allowed.

    The hot path (a scalar) does as little as it can: a 1 MiB file is some 200,000 events.
    """

    def __init__(self, loader: Any) -> None:
        self.resolve = loader.resolve
        self.lines: dict[PathKey, int] = {(): 1}
        self.stack: list[_Frame] = []
        self.top: _Frame | None = None
        self.root: Any = None
        self.problems: list[YamlProblem] = []
        self.documents = 0
        self.handlers: dict[type, Any] = {
            yaml.ScalarEvent: self._scalar_event,
            yaml.MappingStartEvent: self._start,
            yaml.SequenceStartEvent: self._start,
            yaml.MappingEndEvent: self._end,
            yaml.SequenceEndEvent: self._end,
            yaml.AliasEvent: self._alias,
            yaml.DocumentStartEvent: self._document,
        }

    def build(self, events: Iterator[yaml.Event]) -> tuple[Any, dict[PathKey, int]]:
        handlers = self.handlers
        try:
            for event in events:
                handler = handlers.get(type(event))
                if handler is not None:
                    handler(event)
        except _TooMany:
            self.problems.append(YamlProblem(self.problems[-1].line, (
                f"stopped after {MAX_PROBLEMS} problems; fix these first")))
        if self.problems:
            raise YamlError(self.problems)
        return self.root, self.lines

    def _fatal(self, event: yaml.Event, message: str) -> None:
        line, column = _position(event)
        self.problems.append(YamlProblem(line, message, column))
        raise YamlError(self.problems)

    def _document(self, event: yaml.Event) -> None:
        self.documents += 1
        if self.documents > 1:
            self._fatal(event, "a second YAML document ('---'); a config is one document")

    def _alias(self, event: yaml.AliasEvent) -> None:
        self._refuse_anchor(event)

    def _refuse_anchor(self, event: yaml.NodeEvent) -> None:
        self._fatal(event, f"anchors and aliases (&{event.anchor} / *{event.anchor}) are not "
                           "allowed in a config; write the value out in full")

    def _scalar_event(self, event: yaml.ScalarEvent) -> None:
        if event.anchor is not None:
            self._refuse_anchor(event)
        tag = event.tag
        if tag is not None and tag != "!" and tag not in _SCALAR_TAGS:
            self._refuse_tag(event, tag)
        top = self.top
        if top is None:
            self.root = self._scalar(event)
        elif not top.is_map:
            if top.path is not None:
                self.lines[(*top.path, len(top.container))] = _position(event)[0]
            top.container.append(self._scalar(event))
        elif top.key is None:
            self._key(top, event)
        else:
            if not top.duplicate:
                top.container[top.key] = self._scalar(event)
            top.key = None

    def _key(self, frame: _Frame, event: yaml.ScalarEvent) -> None:
        key, (line, column) = event.value, _position(event)
        if key == "<<" and event.implicit[0]:
            self._fatal(event, "merge keys ('<<') are not allowed in a config; write the keys "
                               "out in full")
        frame.key = key
        first = frame.keys.get(key)
        frame.duplicate = first is not None
        if first is None:
            frame.keys[key] = line
            if frame.path is not None:
                self.lines[(*frame.path, key)] = line
            return
        where = f"twice on line {line}" if first == line else (
            f"twice in the same mapping, at line {first} and at line {line}")
        self.problems.append(YamlProblem(line, f"key {key!r} appears {where}; keep one", column))
        if len(self.problems) >= MAX_PROBLEMS:
            raise _TooMany

    def _start(self, event: yaml.CollectionStartEvent) -> None:
        if event.anchor is not None:
            self._refuse_anchor(event)
        tag = event.tag
        if tag is not None and tag != "!" and tag not in _COLLECTION_TAGS:
            self._refuse_tag(event, tag)
        if len(self.stack) >= MAX_DEPTH:
            self._fatal(event, f"nested deeper than {MAX_DEPTH} levels; a config needs far "
                               "fewer")
        top = self.top
        is_map = isinstance(event, yaml.MappingStartEvent)
        container: Any = {} if is_map else []
        path: PathKey | None
        if top is None:
            path = ()
            self.root = container
        elif not top.is_map:
            path = None if top.path is None else (*top.path, len(top.container))
            if path is not None:
                self.lines[path] = _position(event)[0]
            top.container.append(container)
        elif top.key is None:
            self._fatal(event, "a list or mapping used as a key; keys are plain names")
            return
        else:
            path = None if top.path is None or top.duplicate else (*top.path, top.key)
            if not top.duplicate:
                top.container[top.key] = container
            top.key = None
        self.top = _Frame(container, path, is_map)
        self.stack.append(self.top)

    def _end(self, event: yaml.Event) -> None:
        self.stack.pop()
        self.top = self.stack[-1] if self.stack else None

    def _refuse_tag(self, event: yaml.NodeEvent, tag: str) -> None:
        shown = tag.replace(_CORE, "!!", 1)
        self._fatal(event, f"the tag {shown} is not allowed; a config holds only plain values: "
                           f"{ALLOWED_VALUES}")

    def _scalar(self, event: yaml.ScalarEvent) -> Any:
        """Plain values only; a number YAML cannot build (``0x_``) stays text for the model."""
        value: str = event.value
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0] or value[:1] not in _MAYBE_TYPED:
                return value  # quoted, or plain text no resolver matches: most values
            tag = self.resolve(yaml.ScalarNode, value, event.implicit)
        if tag == _INT and value.isdigit() and (len(value) == 1 or value[0] != "0"):
            return int(value) if len(value) < 4000 else value
        construct = _CONSTRUCT.get(tag)
        if construct is None:
            return value
        try:
            return construct(yaml.ScalarNode(tag, value))
        except (ValueError, KeyError, yaml.YAMLError):
            return value


def _position(event: yaml.Event) -> tuple[int, int]:
    """1-based line and column where ``event`` starts."""
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
