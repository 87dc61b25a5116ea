"""Designation procedures: which approvals recognize a situation (a basic plan, a basic response plan).

A designation holds, for the acts that rest on it, once the last approval before it is obtained: that
step is both the decision and the effect of a designation request (acts filed `after:` it wait for it).

A framework says which approvals an *act* needs. Designating a situation is not an act of a force but a
decision of the government, made by adopting a plan that recognizes the situation; this table says which
approvals that takes, in the framework's terms. It is data (`data/procedures/*.yaml`, one file per
framework it completes), read with the same line-aware loader as the other data files.

Example::

    id: japan-2015
    framework: japan-2015
    sources: {DOJ16: ...}
    designations:
      - situation: survival-threatening
        approvals: [nsc-deliberation, basic-response-plan, diet-prior-approval]
        source: DOJ16 Fig II-3-2-4
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kizuna.errors import DataError, Problem, UnknownId
from kizuna.model.ids import Ident
from kizuna.model.provenance import Provenanced
from kizuna.model.sources import Source, read_source_table, resolve_references
from kizuna.model.yamlfile import line_of, plain, read_yaml


class Designation(Provenanced):
    """How a situation is designated: the approvals it takes, in the law's order."""

    situation: Ident
    label: str = Field(default="", description="The act of designation, in words.")
    approvals: tuple[Ident, ...] = Field(min_length=1, description="Approvals before the designation holds.")
    urgent_after: tuple[Ident, ...] = Field(
        default=(),
        description="Approvals of `approvals` the law lets come after the designation in special urgency "
        "(the request carries the `urgent` flag).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Designation:
        stray = [a for a in self.urgent_after if a not in self.approvals]
        if stray:
            raise ValueError(f"urgent_after names {stray[0]!r}, which is not one of the approvals")
        if set(self.urgent_after) == set(self.approvals):
            raise ValueError("at least one approval must come before the designation holds")
        return self


class Procedures(BaseModel):
    """The designation procedures that complete one framework."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Ident
    framework: Ident = Field(description="The framework whose situations and approvals this uses.")
    name: str = ""
    sources: dict[str, Source] = Field(default_factory=dict, description="The documents cited, by key.")
    designations: tuple[Designation, ...] = ()
    file: str = Field(default="", exclude=True)

    def designation(self, situation: str) -> Designation | None:
        """Return the designation procedure of a situation, if the law has one."""
        for d in self.designations:
            if d.situation == situation:
                return d
        return None


def bundled_procedures_dir() -> Path:
    """Return the folder of the bundled procedure files."""
    return Path(str(resources.files("kizuna") / "data" / "procedures"))


def load_procedures(path: str | Path) -> Procedures:
    """Load and validate one procedures file.

    Raises:
        DataError: the file is invalid (every problem with file, line, field and value).
    """
    file = str(path)
    root = read_yaml(path)
    if not isinstance(root, dict):
        raise DataError.single(file, "(top level)", "a procedures file is a mapping", line=1)
    problems: list[Problem] = []
    local = read_source_table(file, root, problems)
    data = {k: v for k, v in plain(root).items() if k != "sources"}
    try:
        procedures = Procedures.model_validate({**data, "file": file})
    except ValidationError as err:
        for e in err.errors():
            loc = list(e["loc"])
            node: Any = root
            line = 1
            for part in loc:
                if isinstance(node, dict) and part in node:
                    line = line_of(node, str(part)) or line
                    node = node[part]
                elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                    line = line_of(node, part) or line
                    node = node[part]
            fld = ".".join(str(p) for p in loc) or "(top level)"
            problems.append(Problem(file, line, fld, e["msg"].removeprefix("Value error, "), None))
        raise DataError(problems) from err
    listed = root.get("designations")
    nodes: list[Any] = listed if isinstance(listed, list) else []
    refs = [
        (f"designations[{d.situation}].source", line_of(nodes[i], "source") if i < len(nodes) else None, ref)
        for i, d in enumerate(procedures.designations)
        for ref in d.source
    ]
    cited = resolve_references(file, refs, local, problems)
    if problems:
        raise DataError(problems)
    return procedures.model_copy(update={"sources": {**local, **dict(sorted(cited.items()))}})


@lru_cache(maxsize=8)
def bundled_procedures() -> tuple[Procedures, ...]:
    """Return every bundled procedures file, sorted by id."""
    directory = bundled_procedures_dir()
    return tuple(load_procedures(p) for p in sorted(directory.glob("*.yaml")))


def find_designation(situation: str, frameworks: tuple[str, ...]) -> Designation:
    """Return the designation procedure of `situation` from the procedures of the frameworks in force.

    Raises:
        UnknownId: no procedures file of these frameworks designates that situation.
    """
    known: list[str] = []
    for procedures in bundled_procedures():
        if procedures.framework not in frameworks:
            continue
        found = procedures.designation(situation)
        if found is not None:
            return found
        known.extend(d.situation for d in procedures.designations)
    raise UnknownId("designable situation", situation, known)
