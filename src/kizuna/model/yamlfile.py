"""Line-aware YAML reading: data files keep the line of every key so errors can point at it."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

from kizuna.errors import DataError, Problem


def read_yaml(path: str | Path) -> Any:
    """Read a YAML file into ruamel's round-trip nodes (dicts and lists that remember their lines).

    Raises:
        DataError: the file cannot be read, or is not valid YAML (with the line of the problem).
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError.single(file, "file", "no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataError.single(file, "file", f"cannot be read: {err}") from err
    yaml = YAML(typ="rt")
    try:
        return yaml.load(StringIO(text))
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(str(part) for part in (err.context, err.problem) if part)
        raise DataError([Problem(file, line, "yaml", f"not valid YAML: {message}")]) from err
    except YAMLError as err:
        raise DataError.single(file, "yaml", f"not valid YAML: {err}") from err


def line_of(node: Any, key: str | int | None = None) -> int | None:
    """Return the 1-based line of `node` (or of its `key`), or None where the node does not know it."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        if key is None:
            return int(lc.line) + 1
        if isinstance(key, int):
            return int(lc.item(key)[0]) + 1
        return int(lc.key(key)[0]) + 1
    except (KeyError, IndexError, TypeError, AttributeError):
        return int(lc.line) + 1 if getattr(lc, "line", None) is not None else None


def plain(node: Any) -> Any:
    """Return YAML nodes as plain dicts, lists and scalars (ruamel's types stripped)."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def dump_yaml(data: Any) -> str:
    """Write plain data as block-style YAML that `read_yaml` reads back unchanged.

    Keys keep their insertion order (id and name first, as a person writes them), not sorted order.
    """
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def lines_of(root: Any) -> dict[str, int]:
    """Record the line of every mapping key and list item of a document by dotted path (items by index)."""
    out: dict[str, int] = {}

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for k in node:
                path = f"{where}.{k}" if where else str(k)
                line = line_of(node, k)
                if line is not None:
                    out[path] = line
                walk(node[k], path)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                path = f"{where}.{i}"
                line = line_of(node, i)
                if line is not None:
                    out[path] = line
                walk(v, path)

    walk(root, "")
    return out
