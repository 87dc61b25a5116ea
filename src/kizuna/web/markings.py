"""Markings as the console shows them: the banner of a page and the portion mark of each object.

The page's banner carries the most restrictive marking of everything on the page (`combine`), so it is
never lower than any object shown; each object carries its own portion mark. Colours come from one
stylesheet variable set (`static/css/console.css`, `--marking-<level>`), chosen by the class this module
names. Nothing here decides who may see what: the egress has already filtered what reaches a page.
"""

from __future__ import annotations

from collections.abc import Iterable

from kizuna.access import Classification, Marking, combine

#: Portion-mark abbreviations of each level.
ABBREVIATION = {
    Classification.UNCLASSIFIED: "U",
    Classification.CONFIDENTIAL: "C",
    Classification.SECRET: "S",
    Classification.TOP_SECRET: "TS",
}
#: The marking of a page that shows no marked object (public reference data: structures, the law).
PUBLIC = Marking(level=Classification.UNCLASSIFIED, rel_to=frozenset(), owner=None)


def portion(marking: Marking) -> str:
    """Return the portion mark, e.g. `(S//REL TO USA, JPN)`, `(S//NF)`, `(U)`."""
    parts = [ABBREVIATION[marking.level]]
    if marking.noforn and marking.owner is not None:
        parts.append("NF")
    elif marking.owner is not None and marking.rel_to - {marking.owner}:
        parts.append("REL TO " + ", ".join([marking.owner, *sorted(marking.rel_to - {marking.owner})]))
    elif marking.owner is None and marking.rel_to:
        parts.append("REL TO " + ", ".join(sorted(marking.rel_to)))
    return "(" + "//".join(parts) + ")"


def level_class(marking: Marking) -> str:
    """Return the CSS class that colours a marking by its level (`marking-secret`)."""
    return f"marking-{marking.level.value}"


def page_marking(markings: Iterable[Marking]) -> Marking:
    """Return the marking of a page showing objects with these markings: the most restrictive of them.

    A page may list real and exercise objects side by side (the crisis list); the banner's level and
    release come from all of them, and the page is exercise traffic only when everything on it is (the
    banner leads with EXERCISE whenever an exercise is shown, see `banner`).
    """
    shown = list(markings)
    if not shown:
        return PUBLIC
    worlds = {m.exercise for m in shown}
    fused = combine(*(m.model_copy(update={"exercise": False}) for m in shown))
    return fused.model_copy(update={"exercise": worlds == {True}})


def banner(marking: Marking, nation: str, *, exercise_active: bool = False) -> str:
    """Return the banner line for a page; `EXERCISE` leads whenever an exercise is under way."""
    text = marking.level.display(nation) if marking is PUBLIC else marking.banner(nation)
    if exercise_active and not marking.exercise:
        text = f"EXERCISE//{text}"
    return text
