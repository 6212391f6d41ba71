"""Pre/post comparison of analysed sessions: statistics (stats), waveform SPM (spm), the comparison (core).

``compare(pre, post) -> Comparison``; pre/post are analysis folders, session folders or Analysis objects.
"""

from imu_gait.compare.core import CompareSettings, Comparison, CurveComparison, compare
from imu_gait.compare.inputs import AnalysisInput, as_input, from_analysis, load_input

__all__ = [
    "AnalysisInput",
    "CompareSettings",
    "Comparison",
    "CurveComparison",
    "as_input",
    "compare",
    "from_analysis",
    "load_input",
]
