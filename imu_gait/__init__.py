"""imu-gait: wearable IMU gait analysis (foot pronation, knee frontal-plane motion).

Public API: :func:`load_session`, :func:`save_session`, :class:`Session`, :class:`ImuData`.
"""

from imu_gait.errors import FormatError, ImuGaitError, SessionError, UsageError
from imu_gait.session import (
    PLACEMENTS,
    SCHEMA_VERSION,
    ImuData,
    SensorInfo,
    Session,
    load_session,
    save_session,
)

__version__ = "0.1.0"


def analyze(session, **kwargs):
    """Analyse a session -> :class:`imu_gait.pipeline.analysis.Analysis` (strides, curves, summary, quality).

    Imported lazily so that ``import imu_gait`` stays light; see :func:`imu_gait.pipeline.analysis.analyze`.
    """
    from imu_gait.pipeline.analysis import analyze as _analyze

    return _analyze(session, **kwargs)


__all__ = [
    "PLACEMENTS",
    "SCHEMA_VERSION",
    "FormatError",
    "ImuData",
    "ImuGaitError",
    "SensorInfo",
    "Session",
    "SessionError",
    "UsageError",
    "__version__",
    "analyze",
    "load_session",
    "save_session",
]
