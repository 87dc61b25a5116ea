"""Access control: markings and who may see them; users, roles and clearances; credentials.

`Marking` and `combine()` say who may see an object (a derived object takes the most restrictive
marking of its parts); `can_see(user, marking)` is the one visibility rule and `visible()` the filter
every list, stream and export applies. `UserDirectory` keeps local accounts, API tokens and browser
sessions (with CSRF tokens) in the store's database; `Passwords` hashes with argon2id.
"""

from kizuna.access.credentials import (
    MIN_PASSWORD_LENGTH,
    TOKEN_PREFIX,
    Passwords,
    csrf_matches,
    digest,
    new_api_token,
    new_csrf_token,
    new_session_id,
)
from kizuna.access.directory import BrowserSession, TokenInfo, UserDirectory
from kizuna.access.marking import Classification, Feed, Marking, NationCode, check_feed, combine
from kizuna.access.users import Role, User, can_see, visible

__all__ = [
    "BrowserSession",
    "Classification",
    "Feed",
    "MIN_PASSWORD_LENGTH",
    "Marking",
    "NationCode",
    "Passwords",
    "Role",
    "TOKEN_PREFIX",
    "TokenInfo",
    "User",
    "UserDirectory",
    "can_see",
    "check_feed",
    "combine",
    "csrf_matches",
    "digest",
    "new_api_token",
    "new_csrf_token",
    "new_session_id",
    "visible",
]
