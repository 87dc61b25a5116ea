"""The demo's live picture: sensors of both nations around the Nansei islands, fused per audience.

`start_demo_picture(runtime, desk)` adds a disclosure officer of each nation, registers the sensors of
the bundled `senkaku-picture` in the demo crisis — Japanese ones by the Ministry of Defense approver,
U.S. ones by the USFJ operator, each with its own marking (a U.S. radar NOFORN, a JASDF radar
Japan-only, the others releasable) — and plays the picture's scans in real time, over and over. A U.S.
user then sees tracks fused with the U.S.-only radar that a Japanese user does not, and the other way
round, until a disclosure officer releases a sensor.
"""

from __future__ import annotations

from kizuna.access import User
from kizuna.intel import IntelDesk
from kizuna.intel.feed import PictureFeed
from kizuna.intel.synthetic import load_picture
from kizuna.service.demo import CRISIS, _add
from kizuna.service.runtime import Runtime

PICTURE = "senkaku-picture"
#: The disclosure officers the demo adds: (id, name, nation, organization).
OFFICERS: tuple[tuple[str, str, str, str], ...] = (
    ("us-disclosure", "Foreign disclosure officer, USFJ", "USA", "usfj"),
    ("jp-disclosure", "Disclosure officer, Ministry of Defense", "JPN", "jp-mod"),
)
#: Who files each nation's scans.
FILERS = {"USA": "us-operator", "JPN": "jp-mod-approver"}


def start_demo_picture(runtime: Runtime, desk: IntelDesk, *, speed: float = 1.0) -> PictureFeed:
    """Add the officers, register the picture's sensors in the demo crisis and start the live feed."""
    for user_id, name, nation, org in OFFICERS:
        _add(runtime, user_id, name=name, nation=nation, org=org, role="disclosure-officer")
    users: dict[str, User] = {nation: runtime.directory.get(user_id) for nation, user_id in FILERS.items()}
    return PictureFeed(desk, load_picture(PICTURE), CRISIS, users, now=runtime.clock, speed=speed).start()
