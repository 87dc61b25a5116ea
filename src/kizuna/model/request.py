"""A request as data: who asks, for which act, in which situation; planning compiles it into a DecisionPath.

The act is an authority query in plain fields (the model layer knows no authority types); ids are checked
against the frameworks when the request is compiled, not here.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from kizuna.model.ids import Ident


class RequestSpec(BaseModel):
    """A request to act (or to designate a situation), as scenarios and the live service file it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Ident
    name: str = ""
    requester: Ident | None = Field(
        default=None,
        description="The organization that files the request. Default: the operational commander of "
        "the executor in the structure the request is compiled against.",
    )
    executor: Ident | None = Field(default=None, description="The unit or body that carries out the act.")
    situation: Ident | tuple[Ident, ...] = Field(
        description="The designation in force, or several in force together (the act is ruled on their "
        "union); with `designates`, the situation sought."
    )
    actor: Ident | None = Field(default=None, description="Who acts: jsdf, gsdf, msdf, asdf, jcg, us-forces.")
    activity: Ident | None = None
    supported: Ident | None = Field(
        default=None,
        description="Whose forces the act supports or protects. Left out, the request is refused where "
        "the law depends on it (no default decides the law).",
    )
    location: Ident | None = Field(
        default=None,
        description="Where the act takes place. Left out, the request is refused where the law depends "
        "on it.",
    )
    flags: tuple[Ident, ...] = ()
    granted: tuple[Ident, ...] = Field(default=(), description="Approvals already obtained.")
    designates: Ident | None = Field(
        default=None, description="Set for a request to designate (recognize) a situation: its id."
    )
    deadline_h: float | None = Field(default=None, gt=0, description="Hours from filing to the deadline.")
    note: str | None = None

    @field_validator("flags", "granted", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator("situation", mode="before")
    @classmethod
    def _designations(cls, value: object) -> object:
        """One designation stays an id; several become a sorted tuple without repeats."""
        if isinstance(value, list | tuple | set | frozenset):
            ids = sorted({str(v) for v in value})
            if not ids:
                raise ValueError("name at least one designation in force")
            return ids[0] if len(ids) == 1 else tuple(ids)
        return value

    @property
    def situations(self) -> tuple[str, ...]:
        """The designations in force, as a tuple (one or several)."""
        return (self.situation,) if isinstance(self.situation, str) else self.situation

    @model_validator(mode="after")
    def _act_or_designation(self) -> RequestSpec:
        if self.designates is None and (self.actor is None or self.activity is None):
            raise ValueError("a request names `actor` and `activity`, or `designates` a situation")
        return self
