"""Line-precise problems from pydantic validation of a YAML document, for the forces and plan loaders.

A data file is validated as one pydantic model; each error's location (`units.3.readiness_h`) is followed
into the YAML nodes, which remember their lines, so every problem names file, line, field, value and what
was expected. Entities in lists are named by their id (`units[12th-mlr].readiness_h`), as the structure
loader names them.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from kizuna.errors import Problem
from kizuna.model.yamlfile import line_of, plain

if TYPE_CHECKING:
    from kizuna.model.sources import Source

T = TypeVar("T", bound=BaseModel)


def node_at(root: Any, loc: Iterable[Any]) -> tuple[Any, Any, Any]:
    """Follow a location into the YAML tree; return the deepest (parent, key, node) that exists."""
    parent: Any = root
    key: Any = None
    node: Any = root
    for part in loc:
        inside_map = isinstance(node, dict) and part in node
        inside_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if inside_map or inside_list:
            parent, key, node = node, part, node[part]
    return parent, key, node


def line_at(root: Any, loc: Iterable[Any]) -> int | None:
    """Return the line of the deepest node of `loc` in the YAML tree."""
    parent, key, _ = node_at(root, loc)
    return line_of(parent, key) if key is not None else 1


def field_name(root: Any, loc: Iterable[Any]) -> str:
    """Name a location as a reader does: list items by their id, `units[12th-mlr].capabilities[2]`."""
    out = ""
    node: Any = root
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            ident = item.get("id") if isinstance(item, dict) else None
            out += f"[{ident}]" if isinstance(ident, str) else f"[{part}]"
            node = item
        else:
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(top level)"


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """Find the model inside an annotation like `tuple[Unit, ...]`, `X | None` or `dict[str, X]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in reversed(typing.get_args(annotation)):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> str | None:
    """Name the keys allowed where an unknown key was found, following `loc` through the models."""
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        fields = current.model_fields
        current = _inner_model(fields[part].annotation) if part in fields else None
    if current is None:
        return None
    return "one of " + ", ".join(
        f.alias or name for name, f in current.model_fields.items() if name != "file"
    )


def pydantic_problems(
    file: str,
    root: Any,
    err: ValidationError,
    model: type[BaseModel],
    prefix: tuple[Any, ...] = (),
    *,
    skip: frozenset[str] = frozenset(),
) -> Iterator[Problem]:
    """Turn a validation error of `model` into Problems with lines.

    `model` was validated on the node at `prefix` in the YAML document `root` (the document itself by
    default). Errors whose location starts with a key in `skip` are left out (sections already checked
    item by item).
    """
    for e in err.errors():
        own = tuple(e["loc"])
        if own and own[0] in skip:
            continue
        loc = (*prefix, *own)
        line = line_at(root, loc)
        fld = field_name(root, loc)
        message = e["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if e["type"] == "extra_forbidden":
            yield Problem(file, line, fld, "unknown key", expected=allowed_keys(model, own))
        elif e["type"] == "missing":
            yield Problem(file, line, fld, "missing required key")
        else:
            value = e.get("input")
            if isinstance(value, dict | list):
                value = None
            yield Problem(file, line, fld, message, value)


def validate_items(
    file: str,
    root: Any,
    section: str,
    model: type[T],
    problems: list[Problem],
    *,
    prefix: tuple[Any, ...] = (),
) -> list[T]:
    """Validate each mapping of the list at `prefix` + `section` on its own; return the valid ones.

    Checking item by item keeps one bad entity from hiding the problems of the others: the valid items
    still take part in the cross-file checks.
    """
    _, _, parent = node_at(root, prefix)
    node = parent.get(section) if isinstance(parent, dict) else None
    if node is None:
        return []
    if not isinstance(node, list):
        problems.append(
            Problem(
                file,
                line_of(parent, section),
                field_name(root, (*prefix, section)),
                "must be a list",
                type(node).__name__,
                f"a list of {section}",
            )
        )
        return []
    out: list[T] = []
    for i, item in enumerate(node):
        if not isinstance(item, dict):
            problems.append(
                Problem(
                    file,
                    line_of(node, i),
                    field_name(root, (*prefix, section, i)),
                    "must be a mapping",
                    plain(item),
                    "an entry with its keys",
                )
            )
            continue
        try:
            out.append(model.model_validate(plain(item)))
        except ValidationError as err:
            problems.extend(pydantic_problems(file, root, err, model, (*prefix, section, i)))
    return out


def source_references(root: Any) -> Iterator[tuple[str, int | None, str]]:
    """Yield (field, line, reference) for every `source:` in a file, the top level's too (the `sources:`
    table aside)."""

    def walk(node: Any, loc: tuple[Any, ...]) -> Iterator[tuple[str, int | None, str]]:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "source" and isinstance(v, str | list):
                    field = field_name(root, (*loc, "source"))
                    for ref in [v] if isinstance(v, str) else v:
                        if isinstance(ref, str):
                            yield field, line_of(node, k), ref
                elif k != "sources":
                    yield from walk(v, (*loc, str(k)))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, (*loc, i))

    yield from walk(root, ())


def with_cited_sources(
    file: str, root: Any, sources: Mapping[str, Source], problems: list[Problem]
) -> dict[str, Source]:
    """Return the file's own `sources:` entries and, sorted by key, the catalog entries its `source:` keys
    cite (`kizuna source list`), so the loaded object carries every document it cites. Every `source:`
    must be a URL or a key of either; an unknown key adds a problem naming the
    nearest known ones."""
    from kizuna.model.sources import resolve_references

    cited = resolve_references(file, source_references(root), sources, problems)
    return {**sources, **dict(sorted(cited.items()))}


def read_source_table(file: str, root: Any, problems: list[Problem]) -> dict[str, Source]:
    """Read the `sources:` table of a file (see `kizuna.model.sources`), adding a Problem per bad entry."""
    from kizuna.model.sources import read_source_table as read_table

    return read_table(file, root, problems)


def duplicate_ids(file: str, root: Any, section: str) -> Iterator[Problem]:
    """Report ids that appear twice in the list `root[section]`."""
    node = root.get(section) if isinstance(root, dict) else None
    if not isinstance(node, list):
        return
    first: dict[str, int | None] = {}
    for i, item in enumerate(node):
        ident = item.get("id") if isinstance(item, dict) else None
        if not isinstance(ident, str):
            continue
        if ident in first:
            yield Problem(
                file,
                line_of(node, i),
                f"{section}[{ident}]",
                f"duplicate {section.removesuffix('s')} id",
                ident,
                f"each id once (first at line {first[ident]})",
            )
        else:
            first[ident] = line_of(node, i)


def raw_ids(root: Any, section: str) -> set[str]:
    """The ids an entity list of a YAML mapping defines, valid entities or not."""
    node = root.get(section) if isinstance(root, dict) else None
    if not isinstance(node, list):
        return set()
    return {str(item["id"]) for item in node if isinstance(item, dict) and "id" in item}


def index_of(root: Any, section: str, ident: str, default: int) -> int:
    """The position in the file of the first entity of `root[section]` with this id (else `default`).

    Loaders leave invalid entities out of the objects they build; problems about the valid ones are
    reported at their place in the file, found by id.
    """
    node = root.get(section) if isinstance(root, dict) else None
    if isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, dict) and item.get("id") == ident:
                return i
    return default


def known_sample(known: Iterable[str], limit: int = 15) -> str:
    """Name some known ids for an error message (sorted, cut after `limit`)."""
    ids = sorted(known)
    return ", ".join(ids[:limit]) + (" ..." if len(ids) > limit else "") if ids else "(none)"
