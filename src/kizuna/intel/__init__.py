"""Intelligence sharing and fusion, releasable by construction.

Sensors of each nation report positions (`IntelDesk.report_tracks`); `FusionEngine` fuses them into
tracks with Kalman filters and global-nearest-neighbour assignment, once per releasability `Audience`,
from the scans that audience may see and nothing else (`PictureBook`). Intelligence reports carry the
Admiralty grading. Information crosses to another nation only through a release decision of a
disclosure officer: a tearline of a report, or a sensor widened from a time on. `synthetic` generates
ground truth and sensor scans from a picture file; `scoring` measures fusion against the truth with
GOSPA; `reference` is Stone Soup's own tracker configured the same way.
"""

from kizuna.intel.audience import Audience, audiences_of
from kizuna.intel.desk import CrisisLookup, IntelDesk, ScanReceipt, filer_of
from kizuna.intel.events import (
    INTEL_EVENT_TYPES,
    Credibility,
    Filer,
    Place,
    PositionReport,
    Reliability,
    ReportFiled,
    SensorKind,
    SensorRegistered,
    SensorReleased,
    TearlineReleased,
    TracksReported,
    intel_event_from_data,
    intel_event_to_data,
)
from kizuna.intel.fusion import Band, FusionEngine, FusionParams, Scan, TrackEstimate
from kizuna.intel.geo import Frame
from kizuna.intel.picture import Contribution, FusedTrack, Picture, PictureBook, TrailPoint
from kizuna.intel.view import IntelReport, IntelView, ReleaseDecision, SensorRelease, SensorState

__all__ = [
    "Audience",
    "Band",
    "Contribution",
    "Credibility",
    "CrisisLookup",
    "Filer",
    "Frame",
    "FusedTrack",
    "FusionEngine",
    "FusionParams",
    "INTEL_EVENT_TYPES",
    "IntelDesk",
    "IntelReport",
    "IntelView",
    "Picture",
    "PictureBook",
    "Place",
    "PositionReport",
    "ReleaseDecision",
    "Reliability",
    "ReportFiled",
    "Scan",
    "ScanReceipt",
    "SensorKind",
    "SensorRegistered",
    "SensorRelease",
    "SensorReleased",
    "SensorState",
    "TearlineReleased",
    "TrackEstimate",
    "TracksReported",
    "TrailPoint",
    "audiences_of",
    "filer_of",
    "intel_event_from_data",
    "intel_event_to_data",
]
