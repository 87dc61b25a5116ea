"""Access control: markings and who may see them; users, roles and clearances; credentials.

`Marking` and `combine()` say who may see an object (a derived object takes the most restrictive
marking of its parts); `can_see(user, marking)` is the one visibility rule and `visible()` the filter
every list, stream and export applies. `UserDirectory` keeps local accounts, API tokens and browser
sessions (with CSRF tokens) in the store's database; `Passwords` hashes with argon2id and
`check_password` is the password policy; `LoginThrottle` backs off failed logins per account and
address; `Separation` says which steps a request's filer may not act on.
"""

from kizuna.access.credentials import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    TOKEN_PREFIX,
    Passwords,
    check_password,
    common_passwords,
    csrf_matches,
    digest,
    new_api_token,
    new_csrf_token,
    new_session_id,
)
from kizuna.access.directory import BrowserSession, TokenInfo, UserDirectory
from kizuna.access.duties import DEFAULT_FILER_EXCLUDED, Separation
from kizuna.access.marking import Classification, Feed, Marking, NationCode, check_feed, combine, filed_into
from kizuna.access.preferences import LANGUAGES, Preferences, PreferenceStore
from kizuna.access.throttle import LoginThrottle
from kizuna.access.users import Role, User, can_see, visible

__all__ = [
    "BrowserSession",
    "Classification",
    "DEFAULT_FILER_EXCLUDED",
    "Feed",
    "LANGUAGES",
    "LoginThrottle",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "Marking",
    "NationCode",
    "Passwords",
    "PreferenceStore",
    "Preferences",
    "Role",
    "Separation",
    "TOKEN_PREFIX",
    "TokenInfo",
    "User",
    "UserDirectory",
    "can_see",
    "check_feed",
    "check_password",
    "combine",
    "common_passwords",
    "csrf_matches",
    "digest",
    "filed_into",
    "new_api_token",
    "new_csrf_token",
    "new_session_id",
    "visible",
]
