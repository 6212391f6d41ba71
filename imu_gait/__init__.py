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
    "load_session",
    "save_session",
]
