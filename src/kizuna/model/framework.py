"""The law as data: a Framework holds vocabularies, approvals and rules read from one YAML file.

A framework file (`data/frameworks/*.yaml`) has these top-level keys::

    id, name, description, jurisdiction, sources          metadata and the source table
    situations, actors, activities, locations, flags, supported
                                                          vocabularies: lists of terms (id, name, description)
    approvals                                             approvals in the order the law obtains them
    rules                                                 conditions over a query and their effect

Every term, approval and rule keeps the file and line it was read from, so that later checks (the
conflict check in `kizuna.authority`) can point at the data. This module only reads and validates one
file; evaluating rules is `kizuna.authority`'s job.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kizuna.errors import DataError, Problem
from kizuna.model.ids import Ident
from kizuna.model.loading import bundled_dir, bundled_ids, load_checked, read_sources, resolve
from kizuna.model.provenance import Provenanced
from kizuna.model.sources import Source, resolve_references
from kizuna.model.yamlfile import line_of, plain, read_yaml

#: The vocabulary sections of a framework file, in the order a query names them.
VOCABULARIES = ("situations", "actors", "activities", "locations", "flags", "supported")
#: The query field each vocabulary answers (a rule condition uses the field name).
FIELD_OF = {
    "situations": "situation",
    "actors": "actor",
    "activities": "activity",
    "locations": "location",
    "flags": "flags",
    "supported": "supported",
}
#: Rule condition keys that take one id from a vocabulary, with the vocabulary they draw on.
SINGLE_FIELDS = {
    "situation": "situations",
    "actor": "actors",
    "activity": "activities",
    "supported": "supported",
    "location": "locations",
}
TOP_KEYS = ("id", "name", "description", "jurisdiction", "sources", *VOCABULARIES, "approvals", "rules")


class Effect(StrEnum):
    """What a rule does when its conditions hold."""

    ALLOW = "allow"  # a legal basis for the act; lists the approvals it needs (maybe none)
    REQUIRE = "require"  # adds approvals where some other rule gives the legal basis; no basis itself
    PROHIBIT = "prohibit"  # the act is unlawful here; prohibitions win over every allow
    DEFER = "defer"  # these approvals may come after acting (only if another rule requires them)
    NOTE = "note"  # adds an explanation, changes nothing


class Citation(BaseModel):
    """Where a rule or approval is written: the law, its article, and the source that says so."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    law: str = Field(min_length=1, description="The statute or instrument, e.g. 'SDF Act'.")
    article: str = Field(default="", description="Article or section, e.g. '82-3'; empty for the whole.")
    source: str = Field(min_length=1, description="A source reference: 'KEY locator' or a URL.")

    def __str__(self) -> str:
        art = f" Art. {self.article}" if self.article else ""
        return f"{self.law}{art} [{self.source}]"


class Located(BaseModel):
    """A data entity that remembers the file and line it was read from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str = Field(default="", exclude=True, description="Set by the loader.")
    line: int | None = Field(default=None, exclude=True, description="Set by the loader.")


class Term(Provenanced):
    """One word of a vocabulary: a situation, actor, activity, location, flag or supported party."""

    id: Ident
    name: str = Field(min_length=1)
    name_ja: str | None = None
    description: str = Field(min_length=1, description="What the word means, in the law's terms.")
    part_of: Ident | None = Field(
        default=None, description="For actors: the actor this one is part of (msdf is part of jsdf)."
    )
    group: str | None = Field(default=None, description="For activities: a heading for tables.")
    replaces: tuple[Ident, ...] = Field(
        default=(),
        description="For situations: the designations that end when this one is made (armed-attack "
        "replaces anticipated-armed-attack); the others stay in force beside it.",
    )
    file: str = Field(default="", exclude=True)
    line: int | None = Field(default=None, exclude=True)


class Approval(Provenanced):
    """An approval the law asks for, with its place in the law's order.

    `prerequisites` are the approvals that come before this one whenever both are needed (Diet approval of
    a defense operation comes after the basic response plan). `needs` are approvals this one can never be
    obtained without (a basic response plan needs NSC deliberation); they are part of `prerequisites`.
    `may_follow` is False for approvals the law never lets come after acting.

    `amends` names the approval this one amends (a plan's amendment amends the plan): it is asked for
    only once the amended approval is held, because a plan still to be made will list the act itself;
    it needs the amended approval. `satisfied_by` lists approvals whose grant settles this one too (an
    order given under a plan shows the plan covers the act; a Coast Guard commander's request serves
    where a governor's would).
    """

    id: Ident
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    prerequisites: tuple[Ident, ...] = ()
    needs: tuple[Ident, ...] = ()
    amends: Ident | None = None
    satisfied_by: tuple[Ident, ...] = ()
    may_follow: bool = True
    citations: tuple[Citation, ...] = Field(min_length=1)
    file: str = Field(default="", exclude=True)
    line: int | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _needs_are_prerequisites(self) -> Approval:
        if self.amends is not None and self.amends == self.id:
            raise ValueError("an approval cannot amend itself")
        if self.id in self.satisfied_by:
            raise ValueError("an approval is not satisfied by itself; list the others that settle it")
        needs = self.needs
        if self.amends is not None and self.amends not in needs:
            needs = (*needs, self.amends)  # an amendment cannot be had without what it amends
        missing = [n for n in needs if n not in self.prerequisites]
        if missing or needs != self.needs:
            return self.model_copy(update={"needs": needs, "prerequisites": (*self.prerequisites, *missing)})
        return self

    @property
    def citation(self) -> Citation:
        """The first (principal) citation."""
        return self.citations[0]


class Match(BaseModel):
    """A condition on one query field: the value is one of `ids`, or (negated) none of them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ids: tuple[Ident, ...] = Field(min_length=1)
    negated: bool = False

    def expand(self, vocabulary: tuple[str, ...] | list[str]) -> frozenset[str]:
        """Return the values of `vocabulary` this condition accepts."""
        chosen = set(self.ids)
        return frozenset(v for v in vocabulary if (v in chosen) != self.negated)


class FlagMatch(BaseModel):
    """A condition on the query's flags: all of `all`, at least one of `any` (if given), none of `none`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    all: tuple[Ident, ...] = ()
    any: tuple[Ident, ...] = ()
    none: tuple[Ident, ...] = ()


class When(BaseModel):
    """The conditions of a rule; a field left out matches every value.

    `situation` is the designation whose legal basis is being read; `designated` looks at every
    designation in force together (all / any / none of these situations), so that a rule can say
    "survival-threatening, and not also an armed attack situation".
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    situation: Match | None = None
    actor: Match | None = None
    activity: Match | None = None
    supported: Match | None = None
    location: Match | None = None
    flags: FlagMatch = FlagMatch()
    designated: FlagMatch = FlagMatch()

    @field_validator("situation", "actor", "activity", "supported", "location", mode="before")
    @classmethod
    def _list_or_not(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"ids": (value,)}
        if isinstance(value, list | tuple):
            return {"ids": tuple(value)}
        if isinstance(value, dict) and set(value) == {"not"}:
            inner = value["not"]
            return {"ids": (inner,) if isinstance(inner, str) else tuple(inner), "negated": True}
        if isinstance(value, dict):
            raise ValueError("a condition is an id, a list of ids, or {not: [ids]}")
        return value

    @field_validator("flags", "designated", mode="before")
    @classmethod
    def _flag_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"all": (value,)}
        if isinstance(value, list | tuple):
            return {"all": tuple(value)}
        return value

    def field(self, name: str) -> Match | None:
        """Return the condition on a single-valued query field (situation, actor, ...)."""
        match: Match | None = getattr(self, name)
        return match


class Rule(BaseModel):
    """One rule: when the query matches, the effect applies, for the reason given, as the law says."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Ident
    effect: Effect
    when: When = When()
    default: bool = Field(
        default=False,
        description="A fallback: fires only when no other allow or prohibit rule fires for the query.",
    )
    approvals: tuple[Ident, ...] = Field(
        default=(), description="allow: approvals the act needs; defer: approvals that may come after."
    )
    lawful_under: tuple[Ident, ...] = Field(
        default=(), description="prohibit: situations in which the act would be lawful."
    )
    prior: tuple[Ident, ...] = Field(
        default=(),
        description="allow: approvals that must come before acting without exception; a defer rule "
        "that could fire together with this one is a conflict.",
    )
    overrides: tuple[Ident, ...] = Field(
        default=(), description="Rules this one takes precedence over when both fire (they are dropped)."
    )
    reason: str = Field(min_length=1, description="The rule in words, as a ruling shows it.")
    citations: tuple[Citation, ...] = Field(min_length=1)
    assumption: str | None = Field(
        default=None, description="Why this reading is assumed (an unconfirmed [U] reading)."
    )
    file: str = Field(default="", exclude=True)
    line: int | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _effect_fields(self) -> Rule:
        if self.effect is Effect.PROHIBIT and self.approvals:
            raise ValueError("a prohibit rule lists no approvals")
        if self.effect is Effect.DEFER and not self.approvals:
            raise ValueError("a defer rule lists the approvals that may come after acting")
        if self.effect is not Effect.PROHIBIT and self.lawful_under:
            raise ValueError("lawful_under belongs to prohibit rules")
        if self.prior and self.effect not in (Effect.ALLOW, Effect.REQUIRE):
            raise ValueError("prior belongs to allow and require rules")
        if self.effect is Effect.REQUIRE and not self.approvals:
            raise ValueError("a require rule lists the approvals it adds")
        if not set(self.prior) <= set(self.approvals):
            raise ValueError("prior lists approvals the rule also requires under approvals")
        if self.effect in (Effect.DEFER, Effect.NOTE, Effect.REQUIRE) and self.default:
            raise ValueError("only allow and prohibit rules can be defaults")
        return self

    @property
    def where(self) -> str:
        """The file and line the rule was read from."""
        return f"{self.file}:{self.line}" if self.line is not None else self.file


class Framework(BaseModel):
    """A body of law as data: its vocabularies, its approvals (in the law's order) and its rules."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Ident
    name: str
    description: str = ""
    jurisdiction: str = ""
    file: str = ""
    sources: dict[str, Source] = Field(default_factory=dict, description="The documents cited, by key.")
    situations: tuple[Term, ...] = ()
    actors: tuple[Term, ...] = ()
    activities: tuple[Term, ...] = ()
    locations: tuple[Term, ...] = ()
    flags: tuple[Term, ...] = ()
    supported: tuple[Term, ...] = ()
    approvals: tuple[Approval, ...] = ()
    rules: tuple[Rule, ...] = ()

    def vocabulary(self, section: str) -> tuple[Term, ...]:
        """Return the terms of one vocabulary section (see VOCABULARIES)."""
        terms: tuple[Term, ...] = getattr(self, section)
        return terms


# -- loading ------------------------------------------------------------------------------------------


def bundled_frameworks_dir() -> Path:
    """Return the folder of the bundled framework files."""
    return bundled_dir("frameworks")


def bundled_framework_ids() -> list[str]:
    """Return the ids of the bundled frameworks, sorted."""
    return bundled_ids("frameworks")


def resolve_framework(ref: str | Path) -> Path:
    """Resolve a framework reference: a file path, or the id of a bundled framework.

    Raises:
        UnknownId: `ref` is neither an existing file nor a bundled framework id.
    """
    return resolve(ref, kind="frameworks")


def load_framework(ref: str | Path) -> Framework:
    """Load and validate one framework by bundled id or file path.

    Raises:
        DataError: the file is invalid; every problem is listed with file, line, field and value.
        UnknownId: `ref` is not a file and not a bundled framework id.
    """
    return load_checked(ref, kind="frameworks", check=check_framework_file)


def check_framework_file(path: str | Path) -> tuple[Framework | None, list[Problem]]:
    """Validate one framework file; return the framework (None when invalid) and every problem found."""
    file = str(path)
    try:
        root = read_yaml(path)
    except DataError as err:
        return None, list(err.problems)
    problems: list[Problem] = []
    if not isinstance(root, dict):
        return None, [
            Problem(file, 1, "(top level)", "a framework file is a mapping", expected=", ".join(TOP_KEYS))
        ]
    for key in root:
        if key not in TOP_KEYS:
            problems.append(
                Problem(
                    file,
                    line_of(root, key),
                    str(key),
                    "unknown key",
                    expected="one of " + ", ".join(TOP_KEYS),
                )
            )
    for key in ("id", "name"):
        if key not in root:
            problems.append(Problem(file, 1, key, "missing required key"))
    sources = read_sources(file, root, problems)

    vocab: dict[str, list[Term]] = {}
    for section in VOCABULARIES:
        vocab[section] = [t for t in _entries(file, root, section, Term, problems) if isinstance(t, Term)]
    approvals = [a for a in _entries(file, root, "approvals", Approval, problems) if isinstance(a, Approval)]
    rules = [r for r in _entries(file, root, "rules", Rule, problems) if isinstance(r, Rule)]

    _check_duplicates(file, vocab, approvals, rules, problems)
    cited = _check_provenance(
        file=file, sources=sources, vocab=vocab, approvals=approvals, rules=rules, problems=problems
    )
    _check_references(file, vocab, approvals, rules, problems)
    if problems:
        return None, sorted(problems, key=lambda p: p.line or 0)
    try:
        framework = Framework(
            id=root["id"],
            name=str(root["name"]),
            description=str(root.get("description", "") or ""),
            jurisdiction=str(root.get("jurisdiction", "") or ""),
            file=file,
            sources=cited,
            approvals=tuple(approvals),
            rules=tuple(rules),
            **{s: tuple(vocab[s]) for s in VOCABULARIES},
        )
    except ValidationError as err:
        for e in err.errors():
            key = str(e["loc"][0]) if e["loc"] else "id"
            problems.append(Problem(file, line_of(root, key), key, e["msg"], e.get("input")))
        return None, problems
    return framework, []


def _entries(
    file: str, root: Any, section: str, model: type[BaseModel], problems: list[Problem]
) -> list[Any]:
    node = root.get(section)
    if node is None:
        return []
    if not isinstance(node, list):
        problems.append(
            Problem(
                file,
                line_of(root, section),
                section,
                "must be a list",
                type(node).__name__,
                f"a list of {section}",
            )
        )
        return []
    out: list[Any] = []
    for i, item in enumerate(node):
        if not isinstance(item, dict):
            problems.append(
                Problem(file, line_of(node, i), f"{section}[{i}]", "must be a mapping", plain(item))
            )
            continue
        data = plain(item)
        where = f"{section}[{data.get('id', i)}]"
        try:
            out.append(model.model_validate({**data, "file": file, "line": line_of(item)}))
        except ValidationError as err:
            for e in err.errors():
                loc = [str(p) for p in e["loc"]]
                top = loc[0] if loc else None
                line = line_of(item, top) if top in item else line_of(item)
                line = _deep_line(item, loc) or line
                fld = ".".join([where, *loc]) if loc else where
                if e["type"] == "extra_forbidden":
                    allowed = _allowed_keys(model, loc)
                    problems.append(
                        Problem(file, line, fld, "unknown key", expected="one of " + ", ".join(allowed))
                    )
                elif e["type"] == "missing":
                    problems.append(Problem(file, line, fld, "missing required key"))
                else:
                    problems.append(
                        Problem(file, line, fld, e["msg"].removeprefix("Value error, "), e.get("input"))
                    )
    return out


def _deep_line(node: Any, loc: list[str]) -> int | None:
    """Return the line of the innermost YAML key on the path `loc`, where it can be followed."""
    line = None
    for part in loc:
        if isinstance(node, dict) and part in node:
            line = line_of(node, part)
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            line = line_of(node, int(part))
            node = node[int(part)]
        else:
            break
    return line


def _allowed_keys(model: type[BaseModel], loc: list[str]) -> list[str]:
    nested: dict[str, type[BaseModel]] = {
        "when": When,
        "citations": Citation,
        "flags": FlagMatch,
        "designated": FlagMatch,
    }
    target = model
    for part in loc[:-1]:
        if part in nested:
            target = nested[part]
    if loc[:-1] and loc[-2] in {"situation", "actor", "activity", "supported", "location"}:
        return ["not"]
    return [name for name in target.model_fields if name not in {"file", "line"}]


def _check_duplicates(
    file: str,
    vocab: dict[str, list[Term]],
    approvals: list[Approval],
    rules: list[Rule],
    problems: list[Problem],
) -> None:
    groups: list[tuple[str, list[Any]]] = [*vocab.items(), ("approvals", approvals), ("rules", rules)]
    for section, items in groups:
        seen: dict[str, int | None] = {}
        for item in items:
            if item.id in seen:
                problems.append(
                    Problem(
                        file,
                        item.line,
                        f"{section}[{item.id}]",
                        "duplicate id",
                        item.id,
                        f"each id once (first at line {seen[item.id]})",
                    )
                )
            else:
                seen[item.id] = item.line


def _check_provenance(
    *,
    file: str,
    sources: dict[str, Source],
    vocab: dict[str, list[Term]],
    approvals: list[Approval],
    rules: list[Rule],
    problems: list[Problem],
) -> dict[str, Source]:
    """Resolve every source reference against the file's table and the catalog; return those cited."""
    refs: list[tuple[str, int | None, str]] = []

    def check(where: str, line: int | None, ref: str) -> None:
        refs.append((where, line, ref))

    for section, terms in vocab.items():
        for term in terms:
            for ref in term.source:
                check(f"{section}[{term.id}].source", term.line, ref)
    for approval in approvals:
        for ref in approval.source:
            check(f"approvals[{approval.id}].source", approval.line, ref)
        for c in approval.citations:
            check(f"approvals[{approval.id}].citations", approval.line, c.source)
    for rule in rules:
        for c in rule.citations:
            check(f"rules[{rule.id}].citations", rule.line, c.source)
    return dict(sorted(resolve_references(file, refs, sources, problems).items()))


def _check_references(
    file: str,
    vocab: dict[str, list[Term]],
    approvals: list[Approval],
    rules: list[Rule],
    problems: list[Problem],
) -> None:
    ids = {section: [t.id for t in terms] for section, terms in vocab.items()}
    approval_ids = [a.id for a in approvals]
    rule_ids = [r.id for r in rules]

    def ref(where: str, line: int | None, value: str, known: list[str], what: str) -> None:
        if value not in known:
            sample = ", ".join(sorted(known)) or "(none defined)"
            problems.append(Problem(file, line, where, f"unknown {what} id", value, f"one of {sample}"))

    for actor in vocab["actors"]:
        if actor.part_of is not None:
            ref(f"actors[{actor.id}].part_of", actor.line, actor.part_of, ids["actors"], "actor")
    for section, terms in vocab.items():
        for term in terms:
            if term.replaces and section != "situations":
                problems.append(
                    Problem(
                        file, term.line, f"{section}[{term.id}].replaces", "only situations replace others"
                    )
                )
            for value in term.replaces:
                ref(f"situations[{term.id}].replaces", term.line, value, ids["situations"], "situation")
    position = {a.id: i for i, a in enumerate(approvals)}
    for approval in approvals:
        if approval.amends is not None:
            ref(f"approvals[{approval.id}].amends", approval.line, approval.amends, approval_ids, "approval")
        for other in approval.satisfied_by:
            ref(f"approvals[{approval.id}].satisfied_by", approval.line, other, approval_ids, "approval")
        for pre in approval.prerequisites:
            ref(f"approvals[{approval.id}].prerequisites", approval.line, pre, approval_ids, "approval")
            if pre in position and position[pre] >= position[approval.id]:
                problems.append(
                    Problem(
                        file,
                        approval.line,
                        f"approvals[{approval.id}].prerequisites",
                        "a prerequisite is listed after the approval that needs it",
                        pre,
                        "approvals listed in the order the law obtains them (prerequisites first)",
                    )
                )
    for rule in rules:
        base = f"rules[{rule.id}]"
        for fld, section in SINGLE_FIELDS.items():
            match = rule.when.field(fld)
            if match is not None:
                for value in match.ids:
                    ref(f"{base}.when.{fld}", rule.line, value, ids[section], FIELD_OF[section])
        for part in ("all", "any", "none"):
            for value in getattr(rule.when.flags, part):
                ref(f"{base}.when.flags.{part}", rule.line, value, ids["flags"], "flag")
            for value in getattr(rule.when.designated, part):
                ref(f"{base}.when.designated.{part}", rule.line, value, ids["situations"], "situation")
        for value in (*rule.approvals, *rule.prior):
            ref(f"{base}.approvals", rule.line, value, approval_ids, "approval")
        for value in rule.lawful_under:
            ref(f"{base}.lawful_under", rule.line, value, ids["situations"], "situation")
        for value in rule.overrides:
            ref(f"{base}.overrides", rule.line, value, rule_ids, "rule")
        if rule.effect is Effect.DEFER:
            by_id = {a.id: a for a in approvals}
            for value in rule.approvals:
                if value in by_id and not by_id[value].may_follow:
                    problems.append(
                        Problem(
                            file,
                            rule.line,
                            f"{base}.approvals",
                            "the law never lets this approval come after acting (may_follow: false)",
                            value,
                            "approvals whose definition allows them after the fact",
                        )
                    )
