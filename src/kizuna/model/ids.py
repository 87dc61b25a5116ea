"""Typed identifiers. Ids are lower-case kebab-case strings defined in the data, never in the engines."""

from __future__ import annotations

import re
from typing import Annotated, NewType

from pydantic import StringConstraints

ID_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
ID_RE = re.compile(ID_PATTERN)

NationId = NewType("NationId", str)
OrgId = NewType("OrgId", str)
SiteId = NewType("SiteId", str)
StructureId = NewType("StructureId", str)
ApprovalId = NewType("ApprovalId", str)
SourceKey = NewType("SourceKey", str)

#: A kebab-case identifier as pydantic validates it in data files.
Ident = Annotated[str, StringConstraints(pattern=ID_PATTERN, min_length=1, max_length=80)]

#: The nation value of an organization that belongs to both nations (the ACM bodies).
BILATERAL = "bilateral"
