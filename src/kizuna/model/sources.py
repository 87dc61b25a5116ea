"""The sources catalog: every document the bundled data cites, with title, publisher, date and URL.

A `source:` reference is `KEY [locator]` (e.g. `DOJ24 Fig II-4-2-5`) or a URL. Its KEY resolves against
the file's own `sources:` table, if it has one, and then against the catalog shipped with the package
(`kizuna/data/sources.yaml`); a key found in neither is a validation problem naming the file, line and
key, the nearest known keys and all of them. The bundled data files keep no tables of their own: one
catalog, so a key means the same document everywhere it is shown (reports, `structure show`,
`authority explain`, diffs).

Catalog format::

    sources:
      DOJ24:
        title: Defense of Japan 2024 (white paper)
        publisher: Ministry of Defense of Japan
        date: 2024-07            # YYYY, YYYY-MM or YYYY-MM-DD
        url: https://www.mod.go.jp/en/publ/w_paper/index.html
        official: true           # the URL is a government's own publication of the text
        also: [https://...]      # other copies or coverage
        note: what was read, and where

A user's file may define its own keys in the same form, or as one line of text (`KEY: title, URL`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kizuna.errors import DataError, Problem, hint
from kizuna.model.provenance import is_url, source_key
from kizuna.model.yamlfile import line_of, plain, read_yaml

_URL = re.compile(r"https?://\S+")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class Source(BaseModel):
    """One cited document: what it is, who issued it, when, and where to read it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1, description="The key `source:` references use, e.g. DOJ24.")
    title: str = Field(min_length=1)
    publisher: str = ""
    date: str = Field(default="", description="YYYY, YYYY-MM or YYYY-MM-DD (empty when unknown).")
    url: str | None = Field(
        default=None, description="Where to read it (the official text where one exists)."
    )
    official: bool = Field(
        default=False, description="True when `url` is the issuer's own text (a government or the publisher)."
    )
    also: tuple[str, ...] = Field(default=(), description="Other copies, transcriptions or coverage.")
    note: str = ""

    @field_validator("date", mode="before")
    @classmethod
    def _date_text(cls, value: Any) -> Any:
        return "" if value is None else str(value)

    @field_validator("date")
    @classmethod
    def _date_form(cls, value: str) -> str:
        if value and not _DATE.match(value):
            raise ValueError(f"date {value!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
        return value

    @field_validator("url")
    @classmethod
    def _url_form(cls, value: str | None) -> str | None:
        if value is not None and not is_url(value):
            raise ValueError(f"url {value!r} does not start with http:// or https://")
        return value

    @field_validator("also", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @classmethod
    def from_text(cls, key: str, text: str) -> Source:
        """Read a one-line table entry (`title, URL ; URL`): the text is the title, the first URL its link."""
        urls = _URL.findall(text)
        title = _URL.sub("", text).strip(" ,;:") or text.strip()
        return cls(key=key, title=title, url=urls[0] if urls else None, also=tuple(urls[1:]))

    def describe(self) -> str:
        """Return the document in one line: title, publisher, date (without the URL)."""
        tail = ", ".join(part for part in (self.publisher, self.date) if part)
        title = self.title.rstrip(".")
        return f"{title}. {tail}" if tail else title

    def to_json(self) -> dict[str, Any]:
        """Return the entry as JSON data."""
        return self.model_dump(mode="json", exclude_defaults=True)


def catalog_path() -> Path:
    """Return the path of the catalog shipped with the package."""
    return Path(str(resources.files("kizuna") / "data" / "sources.yaml"))


def check_catalog_file(path: str | Path) -> tuple[dict[str, Source] | None, list[Problem]]:
    """Read and validate a catalog file; return its entries by key, or None and every problem found."""
    file = str(path)
    try:
        root = read_yaml(path)
    except DataError as err:
        return None, list(err.problems)
    if not isinstance(root, dict) or "sources" not in root:
        return None, [Problem(file, 1, "(top level)", "a sources catalog is a mapping with `sources:`")]
    problems: list[Problem] = []
    table = read_source_table(file, root, problems)
    for key in root:
        if key != "sources":
            problems.append(Problem(file, line_of(root, key), str(key), "unknown key", expected="sources"))
    return (table if not problems else None), problems


@lru_cache(maxsize=1)
def catalog() -> Mapping[str, Source]:
    """Return the catalog shipped with the package, by key (read once per process).

    Raises:
        DataError: the catalog is invalid (a packaging error: a test keeps it valid).
    """
    table, problems = check_catalog_file(catalog_path())
    if problems or table is None:
        raise DataError(problems)
    return table


def read_source_table(file: str, root: Any, problems: list[Problem]) -> dict[str, Source]:
    """Read a file's `sources:` table (entries in the catalog's form, or one line of text each).

    Adds a Problem (file, line, field) for each malformed entry and leaves it out.
    """
    node = root.get("sources") if isinstance(root, dict) else None
    if node is None:
        return {}
    if not isinstance(node, dict):
        problems.append(
            Problem(file, line_of(root, "sources"), "sources", "must be a mapping", expected="KEY: document")
        )
        return {}
    out: dict[str, Source] = {}
    for key, value in node.items():
        where = f"sources.{key}"
        try:
            if isinstance(value, str) and value.strip():
                out[str(key)] = Source.from_text(str(key), value)
            elif isinstance(value, dict):
                out[str(key)] = Source.model_validate({**plain(value), "key": str(key)})
            else:
                problems.append(
                    Problem(
                        file,
                        line_of(node, key),
                        where,
                        "must name a document",
                        value,
                        "a title (and URL), or a mapping with title, publisher, date, url",
                    )
                )
        except ValidationError as err:
            for e in err.errors():
                fld = ".".join(str(p) for p in (where, *e["loc"]))
                line = line_of(value, str(e["loc"][0])) if e["loc"] and isinstance(value, dict) else None
                problems.append(
                    Problem(
                        file,
                        line or line_of(node, key),
                        fld,
                        e["msg"].removeprefix("Value error, "),
                        e.get("input") if not isinstance(e.get("input"), dict) else None,
                    )
                )
    return out


def lookup(key: str, local: Mapping[str, Source] | None = None) -> Source | None:
    """Return the entry of a key: the file's own table first, then the catalog; None when neither has it."""
    if local and key in local:
        return local[key]
    return catalog().get(key)


def known_keys(local: Mapping[str, Source] | None = None) -> list[str]:
    """Return every key a reference may use: the file's own and the catalog's, sorted."""
    return sorted({*catalog(), *(local or {})})


def unknown_key_problem(
    file: str, line: int | None, field: str, reference: str, local: Mapping[str, Source] | None = None
) -> Problem:
    """Build the problem for a reference whose key resolves nowhere: the nearest keys, then every key."""
    key = source_key(reference)
    own = sorted(local or {})
    others = sorted(k for k in catalog() if k not in (local or {}))
    if own:
        known = f"of the file's `sources:` table ({', '.join(own)}) or of the sources catalog "
        known += "(`kizuna source list`)"
    else:
        known = f"of the sources catalog (`kizuna source list`): {', '.join(others)}"
    return Problem(
        file,
        line,
        field,
        "unknown source key",
        key,
        f"a URL, or a key {known}",
        hint(key, [*own, *others]),
    )


def resolve_references(
    file: str,
    references: Iterable[tuple[str, int | None, str]],
    local: Mapping[str, Source] | None,
    problems: list[Problem],
) -> dict[str, Source]:
    """Resolve (field, line, reference) triples; return the entries cited, in first-cited order.

    A key found nowhere adds a problem naming the file, line and field, the key, and the known keys.
    """
    cited: dict[str, Source] = {}
    for field, line, reference in references:
        if is_url(reference):
            continue
        key = source_key(reference)
        entry = lookup(key, local)
        if entry is None:
            problems.append(unknown_key_problem(file, line, field, reference, local))
        else:
            cited.setdefault(key, entry)
    return cited


_BRACKETED = re.compile(r"\[([^\[\]]+)\]\s*$")


def reference_in(citation: str) -> str:
    """Return the source reference in a citation: `SDF Act Art. 83 [DOJ24 Ch5 §5]` -> `DOJ24 Ch5 §5`.

    A text without a bracketed reference at its end is a reference itself (`DOJ24 Fig II-4-2-5`, a URL).
    """
    found = _BRACKETED.search(citation)
    return found.group(1).strip() if found else citation.strip()


def cited_sources(references: Iterable[str], *tables: Mapping[str, Source]) -> list[Source]:
    """Return the entries the references cite (URLs skipped), each once, sorted by key.

    A reference may be a citation text with its reference in brackets at the end (`reference_in`).

    `tables` are the cited objects' own tables (a structure's, a scenario's), searched before the
    catalog; a key found nowhere is left out (validation has already refused such a file).
    """
    found: dict[str, Source] = {}
    for text in references:
        reference = reference_in(text)
        if is_url(reference):
            continue
        key = source_key(reference)
        if key in found:
            continue
        entry = next((t[key] for t in tables if key in t), None) or catalog().get(key)
        if entry is not None:
            found[key] = entry
    return [found[k] for k in sorted(found)]


def source_table_input(value: Any) -> Any:
    """Accept a `sources:` table whose entries are one line of text, or mappings in the catalog's form
    (a model's BeforeValidator for its `sources` field)."""
    if not isinstance(value, dict):
        return value
    return {
        str(k): Source.from_text(str(k), v)
        if isinstance(v, str)
        else {**v, "key": str(k)}
        if isinstance(v, dict)
        else v
        for k, v in value.items()
    }
