"""Load structure files, resolve `extends:`, and validate everything with file, line and field.

A structure file is either *base* (it lists `nations`, `sites`, `organizations`, `relations`) or
*derived* (`extends: OTHER` and then `add:`, `change:`, `remove:` sections), so that eras share data and
their differences are explicit. All problems of a file are collected and raised together as one
DataError; nothing here prints or exits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic import BaseModel, ValidationError

from kizuna.errors import DataError, Problem, UnknownId, hint
from kizuna.model.ids import BILATERAL
from kizuna.model.provenance import Provenanced
from kizuna.model.sources import Source, read_source_table, resolve_references
from kizuna.model.structure import Era, Nation, Organization, Relation, RelationKind, Site, Structure
from kizuna.model.yamlfile import line_of, plain, read_yaml

T = TypeVar("T")

#: The entity sections of a structure file, in file order, with the model of each.
SECTIONS: dict[str, type[Provenanced]] = {
    "nations": Nation,
    "sites": Site,
    "organizations": Organization,
    "relations": Relation,
}
_META_KEYS = ("id", "name", "description", "era", "extends", "hypothetical", "sources")
BASE_KEYS = (*_META_KEYS, *SECTIONS)
DERIVED_KEYS = (*_META_KEYS, "add", "change", "remove")


@dataclass
class _Entry:
    """One entity while loading: its data and the YAML nodes it came from (newest first)."""

    section: str
    data: dict[str, Any]
    origins: list[tuple[str, Any]] = field(default_factory=list)

    def line(self, key: str | None = None) -> tuple[str, int | None]:
        """Return the file and line that defined `key` (or the entity itself)."""
        if key is not None:
            for file, node in self.origins:
                if isinstance(node, dict) and key in node:
                    return file, line_of(node, key)
        file, node = self.origins[-1] if key is None else self.origins[0]
        return file, line_of(node)


@dataclass
class _Document:
    """A structure file with its parents resolved: metadata plus entries by section and key."""

    file: str
    meta: dict[str, Any]
    meta_node: Any
    #: The file's own `sources:` table (with its parents'); keys resolve there first, then in the catalog.
    sources: dict[str, Source]
    entries: dict[str, dict[str, _Entry]]
    problems: list[Problem]
    #: Keys taken out by a `remove:` (here or in a parent), with the file and line that removed them, so a
    #: reference left dangling by the removal can say where it came from.
    removed: dict[str, dict[str, tuple[str, int | None]]] = field(default_factory=dict)


def entity_key(section: str, data: dict[str, Any]) -> str:
    """The identity of an entity in its section: the id, or 'from kind to' for a relation."""
    if section == "relations":
        return f"{data.get('from')} {data.get('kind')} {data.get('to')}"
    return str(data.get("id"))


def bundled_dir(kind: str = "structures") -> Path:
    """Return the folder of bundled data files of one kind (structures, frameworks, scenarios)."""
    return Path(str(resources.files("kizuna") / "data" / kind))


def bundled_ids(kind: str = "structures") -> list[str]:
    """Return the ids of the bundled data files of one kind, sorted."""
    return sorted(p.stem for p in bundled_dir(kind).glob("*.yaml"))


def resolve(ref: str | Path, *, kind: str = "structures", relative_to: Path | None = None) -> Path:
    """Resolve a data reference: a path to a file, or the id of a bundled (or sibling) file.

    Raises:
        UnknownId: the reference is neither an existing file nor a known id.
    """
    text = str(ref)
    if text.endswith((".yaml", ".yml")) or "/" in text or Path(text).is_file():
        path = Path(text)
        if not path.is_absolute() and relative_to is not None and not path.exists():
            path = relative_to / path
        return path
    if relative_to is not None and (relative_to / f"{text}.yaml").is_file():
        return relative_to / f"{text}.yaml"
    path = bundled_dir(kind) / f"{text}.yaml"
    if not path.is_file():
        known = bundled_ids(kind)
        folded = {k.casefold(): k for k in known}
        if text.casefold() in folded:  # ids are lower-case kebab: `US-Japan-2015` means us-japan-2015
            return bundled_dir(kind) / f"{folded[text.casefold()]}.yaml"
        raise UnknownId(kind.rstrip("s"), text, known)
    return path


def load_checked(ref: str | Path, *, kind: str, check: Callable[[Path], tuple[T | None, list[Problem]]]) -> T:
    """Load a data file of one kind by bundled id or path with its `check_*_file` function.

    Bundled files are read once per process (their objects are frozen); a user's file is read each time.

    Raises:
        DataError: the file is invalid; every problem is listed.
        UnknownId: `ref` is not a file and not a bundled id of that kind.
    """
    path = resolve(ref, kind=kind)
    if path.parent == bundled_dir(kind):
        return cast("T", _load_bundled(kind, path.stem, check))
    return _raise_on_problems(check(path))


@lru_cache(maxsize=64)
def _load_bundled(kind: str, data_id: str, check: Callable[[Path], tuple[Any, list[Problem]]]) -> Any:
    return _raise_on_problems(check(bundled_dir(kind) / f"{data_id}.yaml"))


def _raise_on_problems(checked: tuple[T | None, list[Problem]]) -> T:
    loaded, problems = checked
    if problems or loaded is None:
        raise DataError(problems)
    return loaded


def load_structure(ref: str | Path) -> Structure:
    """Load and validate a structure by bundled id or file path.

    Raises:
        DataError: the file (or a file it extends) is invalid; every problem is listed.
        UnknownId: `ref` is not a file and not a bundled structure id.
    """
    return load_checked(ref, kind="structures", check=check_structure_file)


def check_structure_file(path: str | Path) -> tuple[Structure | None, list[Problem]]:
    """Validate one structure file; return the structure (None when invalid) and every problem found."""
    try:
        doc = _read_document(Path(path), ())
    except DataError as err:
        return None, list(err.problems)
    problems = list(doc.problems)
    structure = _validate(doc, problems)
    problems = sorted(_dedupe(problems), key=lambda p: (p.file != str(path), p.file, p.line or 0))
    return (structure if not problems else None), problems


def _dedupe(problems: Iterable[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    out: list[Problem] = []
    for p in problems:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


# -- reading and merging ------------------------------------------------------------------------------


def _read_document(path: Path, chain: tuple[Path, ...]) -> _Document:
    file = str(path)
    root = read_yaml(path)
    problems: list[Problem] = []
    if not isinstance(root, dict):
        raise DataError.single(
            file,
            "(top level)",
            "a structure file is a mapping",
            line=1,
            expected="keys " + ", ".join(BASE_KEYS),
        )
    derived = "extends" in root
    allowed = DERIVED_KEYS if derived else BASE_KEYS
    for key in root:
        if key not in allowed:
            hint = " (a file with `extends:` lists changes under add:/change:/remove:)" if derived else ""
            problems.append(
                Problem(
                    file,
                    line_of(root, key),
                    str(key),
                    "unknown key" + hint,
                    expected="one of " + ", ".join(allowed),
                )
            )
    for key in ("id", "name", "era"):
        if key not in root:
            problems.append(Problem(file, 1, key, "missing required key"))

    sources: dict[str, Source] = {}
    entries: dict[str, dict[str, _Entry]] = {s: {} for s in SECTIONS}
    removed: dict[str, dict[str, tuple[str, int | None]]] = {s: {} for s in SECTIONS}
    if derived:
        parent_ref = root["extends"]
        try:
            parent_path = resolve(str(parent_ref), relative_to=path.parent)
        except UnknownId as err:
            raise DataError(
                [Problem(file, line_of(root, "extends"), "extends", str(err), parent_ref)]
            ) from err
        if parent_path.resolve() in {p.resolve() for p in (*chain, path)}:
            raise DataError.single(
                file,
                "extends",
                "structures extend each other in a cycle",
                line=line_of(root, "extends"),
                value=str(parent_ref),
            )
        parent = _read_document(parent_path, (*chain, path))
        problems.extend(parent.problems)
        sources.update(parent.sources)
        removed = {s: dict(parent.removed.get(s, {})) for s in SECTIONS}
        entries = {
            s: {k: _Entry(e.section, dict(e.data), list(e.origins)) for k, e in es.items()}
            for s, es in parent.entries.items()
        }
    sources.update(read_sources(file, root, problems))

    if derived:
        _apply_changes(file, root, entries, removed, problems)
    else:
        for section in SECTIONS:
            for data, node in _items(file, root, section, problems):
                key = entity_key(section, data)
                if key in entries[section]:
                    first = entries[section][key]
                    problems.append(
                        Problem(
                            file,
                            line_of(node),
                            section,
                            f"duplicate {_noun(section)}",
                            key,
                            f"each once (first at line {first.line()[1]})",
                        )
                    )
                    continue
                entries[section][key] = _Entry(section, data, [(file, node)])
    return _Document(
        file,
        {k: plain(root.get(k)) for k in _META_KEYS if k in root},
        root,
        sources,
        entries,
        problems,
        removed,
    )


def _noun(section: str) -> str:
    return section[:-1] if section != "relations" else "relation"


def read_sources(file: str, root: Any, problems: list[Problem]) -> dict[str, Source]:
    """Read a file's own `sources:` table (see `kizuna.model.sources`), adding a Problem per bad entry."""
    return read_source_table(file, root, problems)


def _items(
    file: str, parent: Any, section: str, problems: list[Problem]
) -> Iterator[tuple[dict[str, Any], Any]]:
    """Yield (plain data, node) for each mapping in the list `parent[section]`."""
    node = parent.get(section) if isinstance(parent, dict) else None
    if node is None:
        return
    if not isinstance(node, list):
        problems.append(
            Problem(
                file,
                line_of(parent, section),
                section,
                "must be a list",
                type(node).__name__,
                f"a list of {section}",
            )
        )
        return
    for i, item in enumerate(node):
        if not isinstance(item, dict):
            problems.append(
                Problem(
                    file,
                    line_of(node, i),
                    f"{section}[{i}]",
                    "must be a mapping",
                    plain(item),
                    f"a {_noun(section)} with its keys",
                )
            )
            continue
        yield plain(item), item


def _apply_changes(
    file: str,
    root: Any,
    entries: dict[str, dict[str, _Entry]],
    removed: dict[str, dict[str, tuple[str, int | None]]],
    problems: list[Problem],
) -> None:
    for op in ("remove", "change", "add"):
        block = root.get(op)
        if block is None:
            continue
        if not isinstance(block, dict):
            problems.append(
                Problem(
                    file,
                    line_of(root, op),
                    op,
                    "must be a mapping",
                    expected="sections " + ", ".join(SECTIONS),
                )
            )
            continue
        for section in block:
            if section not in SECTIONS:
                problems.append(
                    Problem(
                        file,
                        line_of(block, section),
                        f"{op}.{section}",
                        "unknown section",
                        expected="one of " + ", ".join(SECTIONS),
                    )
                )
        for section in SECTIONS:
            if op == "remove":
                _remove(file, block, section, entries[section], problems, removed=removed[section])
                continue
            for data, node in _items(file, block, section, problems):
                key = entity_key(section, data)
                current = entries[section].get(key)
                if op == "add":
                    if current is not None:
                        problems.append(
                            Problem(
                                file,
                                line_of(node),
                                f"add.{section}",
                                f"{_noun(section)} already exists in the extended structure",
                                key,
                                "a new id (use change: to modify it)",
                            )
                        )
                        continue
                    entries[section][key] = _Entry(section, data, [(file, node)])
                    removed[section].pop(key, None)
                elif current is None:
                    problems.append(
                        Problem(
                            file,
                            line_of(node),
                            f"change.{section}",
                            f"no such {_noun(section)} in the extended structure",
                            key,
                            "an existing id (use add: for a new one)",
                        )
                    )
                else:
                    current.data.update(data)
                    current.origins.insert(0, (file, node))


def _remove(
    file: str,
    block: Any,
    section: str,
    existing: dict[str, _Entry],
    problems: list[Problem],
    *,
    removed: dict[str, tuple[str, int | None]],
) -> None:
    node = block.get(section)
    if node is None:
        return
    if not isinstance(node, list):
        problems.append(
            Problem(
                file,
                line_of(block, section),
                f"remove.{section}",
                "must be a list of keys",
                expected="ids, or 'from kind to' for relations",
            )
        )
        return
    for i, key in enumerate(node):
        if str(key) not in existing:
            problems.append(
                Problem(
                    file,
                    line_of(node, i),
                    f"remove.{section}",
                    f"no such {_noun(section)} in the extended structure",
                    str(key),
                    "one of " + ", ".join(sorted(existing)[:12]) + (" ..." if len(existing) > 12 else ""),
                )
            )
            continue
        del existing[str(key)]
        removed[str(key)] = (file, line_of(node, i))


# -- validation ---------------------------------------------------------------------------------------


def _validate(doc: _Document, problems: list[Problem]) -> Structure | None:
    objects: dict[str, list[tuple[Any, _Entry]]] = {s: [] for s in SECTIONS}
    for section, model in SECTIONS.items():
        for entry in doc.entries[section].values():
            obj = _validate_entry(model, entry, problems)
            if obj is not None:
                objects[section].append((obj, entry))

    meta = dict(doc.meta)
    era = None
    try:
        era = Era.model_validate(meta.get("era") or {})
    except ValidationError as err:
        for e in err.errors():
            fld = ".".join(str(p) for p in ("era", *e["loc"]))
            problems.append(Problem(doc.file, line_of(doc.meta_node, "era"), fld, e["msg"]))

    cited = _check_sources(doc, objects, problems)
    _check_references(doc, objects, problems)
    _check_command(objects, problems)
    if problems or era is None:
        return None
    try:
        return Structure(
            id=meta["id"],
            name=meta["name"],
            description=meta.get("description", ""),
            era=era,
            extends=meta.get("extends"),
            hypothetical=bool(meta.get("hypothetical", False)),
            sources=cited,
            nations=tuple(o for o, _ in objects["nations"]),
            sites=tuple(o for o, _ in objects["sites"]),
            organizations=tuple(o for o, _ in objects["organizations"]),
            relations=tuple(o for o, _ in objects["relations"]),
        )
    except ValidationError as err:
        for e in err.errors():
            key = str(e["loc"][0]) if e["loc"] else "id"
            problems.append(Problem(doc.file, line_of(doc.meta_node, key), key, e["msg"], e.get("input")))
        return None


def _validate_entry(model: type[BaseModel], entry: _Entry, problems: list[Problem]) -> Any:
    try:
        return model.model_validate(entry.data)
    except ValidationError as err:
        for e in err.errors():
            loc = [str(p) for p in e["loc"]]
            top = loc[0] if loc else None
            file, line = entry.line(top)
            where = f"{entry.section}[{entity_key(entry.section, entry.data)}]"
            fld = ".".join([where, *loc]) if loc else where
            if e["type"] == "extra_forbidden":
                allowed = [f.alias or name for name, f in model.model_fields.items()]
                problems.append(
                    Problem(file, line, fld, "unknown key", expected="one of " + ", ".join(allowed))
                )
            elif e["type"] == "missing":
                problems.append(Problem(file, line, fld, "missing required key"))
            else:
                value = e.get("input") if loc else None
                problems.append(Problem(file, line, fld, e["msg"].removeprefix("Value error, "), value))
        return None


def _check_sources(
    doc: _Document, objects: dict[str, list[tuple[Any, _Entry]]], problems: list[Problem]
) -> dict[str, Source]:
    """Resolve every `source:` against the file's table and the catalog; return the entries cited."""
    cited: dict[str, Source] = {}
    for section, pairs in objects.items():
        for obj, entry in pairs:
            file, line = entry.line("source")
            where = f"{section}[{entity_key(section, entry.data)}].source"
            cited.update(
                resolve_references(file, [(where, line, ref) for ref in obj.source], doc.sources, problems)
            )
    return dict(sorted(cited.items()))


def _check_references(
    doc: _Document, objects: dict[str, list[tuple[Any, _Entry]]], problems: list[Problem]
) -> None:
    nations = {o.id for o, _ in objects["nations"]}
    sites = {o.id for o, _ in objects["sites"]}
    orgs = {o.id for o, _ in objects["organizations"]}
    # Ids defined but invalid still count as defined, so one bad entity does not cascade.
    orgs |= set(doc.entries["organizations"])
    sites |= set(doc.entries["sites"])
    nations |= set(doc.entries["nations"])

    def ref(entry: _Entry, fld: str, value: str | None, known: set[str], what: str) -> None:
        if value is None or value in known:
            return
        file, line = entry.line(fld)
        key = entity_key(entry.section, entry.data)
        sample = ", ".join(sorted(known)[:15]) + (" ..." if len(known) > 15 else "")
        message, expected = f"unknown {what} id", f"one of {sample}" if known else f"a defined {what}"
        gone = doc.removed.get(f"{what}s", {}).get(value)
        if gone is not None:
            message = f"{what} id removed at {gone[0]}:{gone[1]} but still referred to here"
            expected = f"a `remove:` or `change:` of what refers to {value!r} as well"
        near = hint(value, known) if gone is None else None
        problems.append(Problem(file, line, f"{entry.section}[{key}].{fld}", message, value, expected, near))

    for org, entry in objects["organizations"]:
        ref(entry, "nation", org.nation, nations | {BILATERAL}, "nation")
        ref(entry, "site", org.site, sites, "site")
    for rel, entry in objects["relations"]:
        ref(entry, "from", rel.from_, orgs, "organization")
        ref(entry, "to", rel.to, orgs, "organization")


def _check_command(objects: dict[str, list[tuple[Any, _Entry]]], problems: list[Problem]) -> None:
    import networkx as nx

    graph: nx.DiGraph[str] = nx.DiGraph()
    opcon: dict[str, list[tuple[Relation, _Entry]]] = defaultdict(list)
    for rel, entry in objects["relations"]:
        if not rel.kind.is_hierarchical:
            continue
        sup, sub = (rel.from_, rel.to) if rel.kind.points_down else (rel.to, rel.from_)
        graph.add_edge(sup, sub, entry=entry)
        if rel.kind is RelationKind.COMMANDS:
            opcon[rel.to].append((rel, entry))
    for org, rels in sorted(opcon.items()):
        if len(rels) < 2:
            continue
        first = rels[0][1].line()
        for rel, entry in rels[1:]:
            file, line = entry.line("from")
            problems.append(
                Problem(
                    file,
                    line,
                    f"relations[{rel.key}]",
                    f"{org!r} has two operational-control superiors: {rels[0][0].from_!r} "
                    f"(line {first[1]}) and {rel.from_!r}",
                    rel.from_,
                    "at most one `commands` relation into each organization",
                )
            )
    for component in nx.strongly_connected_components(graph):
        if len(component) < 2:
            continue
        cycle = nx.find_cycle(graph.subgraph(component))
        names = " -> ".join([str(u) for u, _ in cycle] + [str(cycle[0][0])])
        entry = graph.edges[cycle[0][0], cycle[0][1]]["entry"]
        file, line = entry.line()
        problems.append(
            Problem(
                file,
                line,
                f"relations[{entity_key('relations', entry.data)}]",
                f"cycle of command relations: {names}",
                expected="command, control and reports-to relations that form a hierarchy",
            )
        )
