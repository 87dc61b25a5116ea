"""Feeding a synthetic picture into the live desk: its sensors registered, its scans filed as they fall due.

`PictureFeed` registers the picture's sensors in a crisis, each by a user of the sensor's nation, and
then files every scan at the moment it is due, the picture's time shifted to start now (`speed` > 1
plays it faster). It plays the picture again and again (each round later by the picture's duration,
with the next seed) until stopped. Everything goes through the desk, so every scan is an event in the
log like a real sensor's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from kizuna.access import User
from kizuna.errors import KizunaError, NotFound
from kizuna.intel.desk import IntelDesk
from kizuna.intel.synthetic import PictureFile, SyntheticPicture

#: Called with each error a filing raised (the feed goes on).
ErrorSink = Callable[[Exception], None]


def register_sensors(desk: IntelDesk, picture: PictureFile, crisis: str, users: Mapping[str, User]) -> None:
    """Register the picture's sensors in a crisis (once), each by the user given for its nation."""
    for spec in picture.sensors:
        user = users[spec.nation]
        try:
            desk.sensor(user, spec.id)
        except NotFound:
            desk.register_sensor(
                user,
                crisis,
                sensor_id=spec.id,
                name=spec.name,
                kind=spec.kind,
                marking=spec.to_marking(),
                description=spec.assumption or "",
                idempotency_key=f"picture-sensor-{crisis}-{spec.id}",
            )


class PictureFeed:
    """Plays a picture's scans into a crisis in (scaled) real time, on a thread of its own."""

    def __init__(
        self,
        desk: IntelDesk,
        picture: PictureFile,
        crisis: str,
        users: Mapping[str, User],
        *,
        now: Callable[[], datetime],
        speed: float = 1.0,
        rounds: int | None = None,
        on_error: ErrorSink | None = None,
    ) -> None:
        """Prepare the feed; `now` is the wall clock the scans are timed by."""
        self.desk, self.picture, self.crisis, self.users = desk, picture, crisis, users
        self.now, self.speed, self.rounds = now, speed, rounds
        self.on_error = on_error or (lambda _error: None)
        self.filed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._play, name="kizuna-picture-feed", daemon=True)

    def start(self) -> PictureFeed:
        """Register the sensors and start playing."""
        register_sensors(self.desk, self.picture, self.crisis, self.users)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        """Tell whether the feed is still playing."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop playing (returns when the thread has ended)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _play(self) -> None:
        origin = self.now()
        round_number = 0
        while not self._stop.is_set() and (self.rounds is None or round_number < self.rounds):
            offset = timedelta(seconds=round_number * self.picture.duration_s)
            generator = SyntheticPicture(self.picture, seed=self.picture.seed + round_number)
            for scan in generator.scans():
                picture_s = (scan.time - self.picture.start + offset).total_seconds()
                due = origin + timedelta(seconds=picture_s / self.speed)
                wait = (due - self.now()).total_seconds()
                if wait > 0 and self._stop.wait(wait):
                    return
                if self._stop.is_set():
                    return
                try:
                    self.desk.report_tracks(
                        self.users[scan.sensor.nation],
                        scan.sensor.id,
                        time=origin + timedelta(seconds=picture_s),
                        reports=scan.reports(),
                    )
                    self.filed += 1
                except KizunaError as error:
                    self.on_error(error)
            round_number += 1
