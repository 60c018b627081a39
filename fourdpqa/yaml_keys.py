"""Duplicate keys in a YAML document: plain YAML keeps the last value of a key given twice, silently, so a pasted
block would override an earlier setting unseen; ``params.yaml`` is refused instead."""

from __future__ import annotations

import yaml


def first_duplicate_key(node: yaml.Node | None, path: tuple[str, ...] = ()) -> str | None:
    """"<key path>: duplicate key (lines a and b)" for the first key given twice in one mapping, else None.
    Plain YAML keeps the last value silently, so a pasted block would override an earlier setting unseen."""
    if isinstance(node, yaml.MappingNode):
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            here = path + (key,)
            if key in lines:
                return f"{'.'.join(here)}: duplicate key (lines {lines[key]} and {key_node.start_mark.line + 1})"
            lines[key] = key_node.start_mark.line + 1
            found = first_duplicate_key(value_node, here)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found = first_duplicate_key(item, path + (str(i),))
            if found:
                return found
    return None
