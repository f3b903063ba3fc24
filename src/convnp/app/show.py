"""``convnp show``: the pictures of `convnp.plot` for a model, written as PNG files.

Every figure is drawn first and written after, each file atomically; if writing one fails,
the files this call already wrote are removed, so a run leaves all its pictures or none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from convnp import plot

# --what choices that need an image, in the order `all` draws them
IMAGE_PICTURES = ("maps", "saliency", "gradcam")
CHOICES = ("filters", *IMAGE_PICTURES, "all")


def draw(model: Any, what: str, image: np.ndarray | None = None, layer=None,
         class_index: int | None = None) -> dict[str, Any]:
    """Figures by file stem (``filters``, ``feature_maps``, ``saliency``, ``gradcam``).

    Raises:
        ValueError: an unknown ``what``, or a picture that needs an image without one.
    """
    if what not in CHOICES:
        raise ValueError(f"--what must be one of {', '.join(CHOICES)}, got {what!r}")
    wanted = ("filters", *IMAGE_PICTURES) if what == "all" else (what,)
    if image is None and any(w in IMAGE_PICTURES for w in wanted):
        if what != "all":
            raise ValueError(f"--what {what} needs an IMAGE")
        wanted = ("filters",)
    figures: dict[str, Any] = {}
    for name in wanted:
        if name == "filters":
            figures["filters"] = plot.filters(model, layer=_conv_or_none(model, layer))
        elif name == "maps":
            figures["feature_maps"] = plot.feature_maps(
                model, image, layers=None if layer is None else [layer])
        elif name == "saliency":
            figures["saliency"] = plot.saliency(model, image, class_index=class_index)
        else:
            figures["gradcam"] = plot.gradcam(model, image, layer=_conv_or_none(model, layer),
                                              class_index=class_index)
    return figures


def _conv_or_none(model: Any, layer):
    """A --layer that names a conv layer is used for filters and Grad-CAM; another kind of
    layer (given for the feature maps) leaves them on their defaults."""
    if layer is None:
        return None
    found = plot.probe.find_layer(model, layer)
    return found if found in plot.probe.conv_layers(model) else None


def draw_evaluation(model: Any, x: np.ndarray, y: np.ndarray, class_names) -> dict[str, Any]:
    """The confusion matrix and the grid of misclassified examples."""
    return {"confusion_matrix": plot.confusion_matrix(model, x, y, class_names=class_names),
            "misclassified": plot.misclassified(model, x, y, class_names=class_names)}


def write(figures: dict[str, Any], out_dir: str | Path, prefix: str = "") -> list[Path]:
    """Write each figure as ``out_dir/<prefix><stem>.png``; all of them or none."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a directory")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for stem, fig in figures.items():
            target = out / f"{prefix}{stem}.png"
            existed = target.exists()
            plot._canvas.save_figure(fig, target)
            if not existed:
                written.append(target)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        if created:
            try:
                out.rmdir()
            except OSError:
                pass
        raise
    return [out / f"{prefix}{stem}.png" for stem in figures]
