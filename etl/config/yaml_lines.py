"""YAML loading that remembers which line every key came from.

Pydantic reports errors by field path; users fix files by line. Composing the YAML node tree
once gives both the data and a path -> line index, so an error can name ``config.yaml:14``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PathKey = tuple[str | int, ...]


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


# libyaml when present: hundreds of tenant files are parsed on every code-server start.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(file: Path) -> YamlDocument:
    """Parse once: compose the node tree, index its lines, then construct the data from it."""
    text = file.read_text(encoding="utf-8")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines: dict[PathKey, int] = {(): 1}
    if node is not None:
        _index(node, (), lines)
    return YamlDocument(file, data, lines)


def _index(node: yaml.Node, path: PathKey, lines: dict[PathKey, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, str(key_node.value))
            lines[child] = key_node.start_mark.line + 1
            _index(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = (*path, i)
            lines[child] = item.start_mark.line + 1
            _index(item, child, lines)
