"""What every picture in `convnp.plot` shares: an Agg figure, an atomic save, image scaling.

Figures are made with ``matplotlib.figure.Figure`` on an Agg canvas directly, so pyplot's
global backend and figure list are never touched (safe in a server thread or a notebook).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from convnp.io._files import atomic_write


def new_figure(figsize: tuple[float, float], dpi: int, what: str):
    """An empty matplotlib Figure attached to an Agg canvas.

    Raises:
        ImportError: matplotlib is not installed (the message says how to install it).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"convnp.plot.{what} needs matplotlib: pip install matplotlib  "
            "(or pip install 'convnp[plot]')") from exc
    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)  # attaches itself to fig
    return fig


def save_figure(fig, path: str | os.PathLike, dpi: int | None = None) -> Path:
    """Write ``fig`` whole or not at all; the format follows the suffix (PNG by default)."""
    target = Path(path)
    fmt = target.suffix.lstrip(".").lower() or "png"
    atomic_write(target, lambda f: fig.savefig(f, format=fmt, dpi=dpi or fig.dpi))
    return target


def finish(fig, save: str | os.PathLike | None, dpi: int, tight: bool = True):
    """Lay the figure out, save it when asked, and return it."""
    if tight:
        fig.tight_layout()
    if save is not None:
        save_figure(fig, save, dpi)
    return fig


def grid_shape(count: int, max_columns: int = 8) -> tuple[int, int]:
    """Rows and columns of a near-square grid holding ``count`` panels."""
    if count < 1:
        raise ValueError(f"a grid needs at least one panel, got {count}")
    columns = min(max_columns, math.ceil(math.sqrt(count)))
    return math.ceil(count / columns), columns


def unit_range(values: np.ndarray) -> np.ndarray:
    """``values`` scaled linearly to [0, 1] (a constant array becomes all zeros)."""
    values = np.asarray(values, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("cannot draw values that are NaN or infinite")
    if high - low <= 0:
        return np.zeros_like(values)
    return (values - low) / (high - low)


def display_image(image: np.ndarray) -> np.ndarray:
    """One input image (H, W, C) as something ``imshow`` draws: RGB or grey in [0, 1]."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 3:
        raise ValueError(f"expected one image of shape (height, width, channels), "
                         f"got shape {image.shape}")
    if image.shape[-1] == 1:
        return unit_range(image[..., 0])
    if image.shape[-1] == 3:
        return unit_range(image)
    return unit_range(image.mean(axis=-1))


def hide_axes(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
