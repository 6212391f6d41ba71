"""Shared figure style: colours for left/right and activities, a figure factory without pyplot state."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# Okabe-Ito colour-blind safe palette
SIDE_COLOURS = {"left": "#0072B2", "right": "#D55E00"}
ACTIVITY_COLOURS = {
    "walk": "#009E73",
    "stairs_up": "#E69F00",
    "stairs_down": "#CC79A7",
    "run": "#56B4E9",
    "other": "#999999",
}
ACTIVITY_LABELS = {
    "walk": "level walking",
    "stairs_up": "stairs up",
    "stairs_down": "stairs down",
    "run": "running",
    "other": "other",
}
FLAG_COLOUR = "#000000"


def new_figure(width: float, height: float) -> Figure:
    """A Figure with an Agg canvas and constrained layout (no pyplot, no global state)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def style_axes(ax) -> None:
    """Clean axes: no top/right spines, light horizontal grid behind the data."""
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(True, axis="y", color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)


def save_figure(fig: Figure, path: Path, dpi: int = 110) -> Path:
    """Save as PNG (folders created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
