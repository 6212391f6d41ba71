"""imu-gait: wearable IMU gait analysis (foot pronation, knee frontal-plane motion).

Public API: :func:`load_session`, :func:`save_session`, :func:`analyze`, :func:`compare`, :class:`Session`,
:class:`ImuData`.
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


def compare(pre, post, settings=None):
    """Compare analyses before and after -> :class:`imu_gait.compare.Comparison` (statistics, SPM, symmetry).

    ``pre``/``post``: one or several analysis folders, session folders or Analysis objects; imported lazily,
    see :func:`imu_gait.compare.compare`.
    """
    from imu_gait.compare import compare as _compare

    return _compare(pre, post, settings)


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
    "compare",
    "load_session",
    "save_session",
]
