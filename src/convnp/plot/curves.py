"""Training curves from a ``History``: the course's loss and accuracy figures, as files.

The course plots ``pd.DataFrame(history.history)`` twice: loss (train vs validation) and
accuracy (train vs validation) per epoch. :func:`history` draws both as two panels of one
image; :func:`history_csv` writes the same numbers as a CSV table.

matplotlib is an optional extra (``pip install convnp[plot]``), imported inside
:func:`history`. The figure is drawn with ``matplotlib.figure.Figure`` on an Agg canvas
directly, so pyplot's global backend and figure list are never touched. Both functions
write to a temporary file in the target directory and rename it into place, so a reader
never sees a half-written file.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from convnp.io._files import atomic_write
from convnp.plot._canvas import new_figure, save_figure

__all__ = ["history", "history_csv"]

# Keras 2 used "acc"; Keras 3 and the course use "accuracy".
_ACCURACY_KEYS = ("accuracy", "acc", "binary_accuracy", "categorical_accuracy",
                  "sparse_categorical_accuracy")


def history(history: Any, path: str | os.PathLike, title: str | None = None, *,
            figsize: tuple[float, float] = (12.0, 5.0), dpi: int = 100) -> Path:
    """Draw loss and accuracy curves (train vs validation, per epoch) into one image file.

    Args:
        history: a ``History`` (anything with a ``.history`` dict, as ``model.fit`` returns) or
            a plain ``{"loss": [...], "val_loss": [...], "accuracy": [...], ...}`` dict.
        path: output file; the format follows the suffix (``.png`` by default, also ``.svg``,
            ``.pdf``, ``.jpg``).
        title: optional title above both panels.
        figsize: figure size in inches; the PNG is ``figsize * dpi`` pixels (1200×500 by default).
        dpi: dots per inch.

    The left panel is "Model loss" (``loss`` and ``val_loss``), the right one "Model accuracy"
    (``accuracy``/``acc`` and its ``val_`` twin). Validation curves are drawn when present. If no
    accuracy was recorded, the right panel shows the first other metric instead, and if there is
    no metric at all the image has the loss panel only. x is the epoch index from 0, as in the
    course's ``DataFrame.plot``.

    Returns:
        The path written.

    Raises:
        TypeError: ``history`` is neither a History nor a mapping.
        ValueError: no (or an empty) ``loss`` series, or series that are not sequences of
            numbers.
        ImportError: matplotlib is not installed.
    """
    logs = _logs(history)
    if "loss" not in logs:
        raise ValueError(f"history has no 'loss' series; keys: {sorted(logs)}")
    if not logs["loss"]:
        raise ValueError("history['loss'] is empty: no epoch to plot")
    metric = _metric_name(logs)
    fig = new_figure(figsize, dpi, "history")
    from matplotlib.ticker import MaxNLocator
    panels = [("loss", "Model loss", "Loss")]
    if metric is not None:
        label = "Accuracy" if metric in _ACCURACY_KEYS else metric.replace("_", " ").capitalize()
        panels.append((metric, f"Model {label.lower()}", label))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (key, panel_title, ylabel) in zip(axes, panels):
        for name, series, style in ((key, logs[key], "-"),
                                    (f"val_{key}", logs.get(f"val_{key}"), "--")):
            if series is None or not series:
                continue
            ax.plot(range(len(series)), series, style, marker="o", markersize=3,
                    label="validation" if name.startswith("val_") else "train")
        ax.set_title(panel_title)
        ax.set_xlabel("Epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()

    return save_figure(fig, path, dpi)


def history_csv(history: Any, path: str | os.PathLike) -> Path:
    """Write the per-epoch table of a History as CSV.

    Columns: ``epoch`` (from 0, or ``History.epoch`` when present, as Keras's ``CSVLogger``
    writes it), then the training series in their recorded order, then the ``val_*`` series.
    A series shorter than the others (e.g. validation every few epochs) leaves empty cells at
    its end. Floats are written with ``repr`` so they read back exactly.

    Args:
        history: a ``History`` (with ``.history``) or a plain dict of lists.
        path: output ``.csv`` file.

    Returns:
        The path written.

    Raises:
        TypeError: ``history`` is neither a History nor a mapping.
        ValueError: the history is empty or a series is not a sequence of numbers.
    """
    logs = _logs(history)
    if not any(logs.values()):
        raise ValueError("history is empty: nothing to write")
    columns = ([k for k in logs if not k.startswith("val_")]
               + [k for k in logs if k.startswith("val_")])
    rows = max(len(v) for v in logs.values())
    epochs = getattr(history, "epoch", None)
    if not (isinstance(epochs, (list, tuple)) and len(epochs) == rows):
        epochs = list(range(rows))

    def write(f) -> None:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["epoch", *columns])
        for i in range(rows):
            writer.writerow([int(epochs[i]), *(repr(logs[c][i]) if i < len(logs[c]) else ""
                                               for c in columns)])

    target = Path(path)
    atomic_write(target, write, text=True)
    return target


def _logs(history: Any) -> dict[str, list[float]]:
    """History or mapping → ``{name: [float, ...]}`` in the recorded key order."""
    logs = history.history if hasattr(history, "history") else history
    if not isinstance(logs, Mapping):
        raise TypeError(
            f"expected a History (with a .history dict) or a dict, got {type(history).__name__}")
    out: dict[str, list[float]] = {}
    for key, values in logs.items():
        try:
            out[str(key)] = [float(v) for v in values]
        except (TypeError, ValueError):
            raise ValueError(f"history[{key!r}] must be a sequence of numbers") from None
    return out


def _metric_name(logs: Mapping[str, list[float]]) -> str | None:
    for key in _ACCURACY_KEYS:
        if key in logs:
            return key
    others = [k for k in logs if k != "loss" and not k.startswith("val_")]
    return others[0] if others else None




def model_graph(model: Any, to_file: str | os.PathLike = "model.png", show_shapes: bool = False,
                show_dtype: bool = False, show_layer_names: bool = True, rankdir: str = "TB",
                expand_nested: bool = False, dpi: int = 200,
                show_layer_activations: bool = False, show_trainable: bool = False,
                **kwargs: Any) -> Path:
    """Draw a model's layers and connections to an image (``tf.keras.utils.plot_model``),
    with matplotlib only (no graphviz).

    One box per layer (a shared layer once, with an arrow from each call's inputs); layers
    are placed by depth, top to bottom (``rankdir="TB"``) or left to right (``"LR"``).

    Raises:
        ValueError: an unbuilt model, a bad ``rankdir``, or ``expand_nested=True`` (not
            drawn by convnp).
        TypeError: unknown keyword arguments.
    """
    if kwargs:
        raise TypeError(f"plot_model got unexpected arguments {sorted(kwargs)}")
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"rankdir must be 'TB' or 'LR', got {rankdir!r}")
    if expand_nested:
        raise ValueError("plot_model(expand_nested=True) is not supported by convnp; nested "
                         "models are drawn as one box")
    graph = getattr(model, "_graph", None)
    if graph is None:
        model.build()
        graph = model._graph
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plot_model needs matplotlib: pip install matplotlib") from exc

    layers: dict[int, Any] = {id(t.layer): t.layer for t in graph.inputs}
    level = {key: 0 for key in layers}
    edges: list[tuple[int, int]] = []
    for node in graph.calls:  # in execution order: producers are placed first
        key = id(node.layer)
        layers.setdefault(key, node.layer)
        sources = [id(graph.ref(s)[0]) for s in node.inputs]
        level[key] = max([level.get(key, 0)] + [level[s] + 1 for s in sources])
        edges.extend((s, key) for s in sources if (s, key) not in edges)
    rows: dict[int, list[int]] = {}
    for key in layers:
        rows.setdefault(level[key], []).append(key)

    def label(layer) -> str:
        kind = type(layer).__name__
        lines = [f"{layer.name} ({kind})" if show_layer_names else kind]
        activation = getattr(getattr(layer, "activation", None), "name", None)
        if show_layer_activations and activation:
            lines.append(f"activation: {activation}")
        if show_shapes:
            calls = [n for n in graph.calls if n.layer is layer]
            if calls:
                made = graph.tensors[calls[0].out]
                out = made.shape if made.outputs is None else [t.shape for t in made.outputs]
                shown = ", ".join(str(graph.tensors[s].shape) for s in calls[0].inputs)
            else:  # an input layer
                out = shown = next(t.shape for t in graph.inputs if t.layer is layer)
            lines.append(f"in: {shown}   out: {out}")
        if show_dtype:
            lines.append(f"dtype: {getattr(layer, 'dtype', 'float32')}")
        if show_trainable:
            lines.append(f"trainable: {getattr(layer, 'trainable', True)}")
        return "\n".join(lines)

    depth, width = len(rows), max(len(r) for r in rows.values())
    text_lines = max(label(layer).count("\n") + 1 for layer in layers.values())
    box_h = 0.3 + 0.25 * text_lines
    if rankdir == "TB":
        figsize = (max(4.0, 3.6 * width), max(2.0, (box_h + 0.6) * depth))
    else:
        figsize = (max(4.0, 3.8 * depth), max(2.0, (box_h + 0.6) * width))
    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_axis_off()
    position: dict[int, tuple[float, float]] = {}
    for lev, keys in rows.items():
        for i, key in enumerate(keys):
            across = (i + 0.5) / len(keys)
            along = 1 - (lev + 0.5) / depth
            position[key] = (across, along) if rankdir == "TB" else (1 - along, 1 - across)
    boxes = {}
    for key, (x, y) in position.items():
        boxes[key] = ax.text(x, y, label(layers[key]), ha="center", va="center", fontsize=8,
                             transform=ax.transAxes, zorder=2,
                             bbox={"boxstyle": "round,pad=0.4", "facecolor": "#eef3fb",
                                   "edgecolor": "#34558b"})
    for src, dst in edges:
        ax.annotate("", xy=position[dst], xytext=position[src], xycoords=ax.transAxes,
                    textcoords=ax.transAxes, zorder=3,
                    arrowprops={"arrowstyle": "-|>", "color": "#555555",
                                "patchA": boxes[src].get_bbox_patch(),
                                "patchB": boxes[dst].get_bbox_patch(),
                                "shrinkA": 2, "shrinkB": 2})
    target = Path(to_file)
    fmt = target.suffix.lstrip(".").lower() or "png"
    atomic_write(target, lambda f: fig.savefig(f, format=fmt, dpi=dpi))
    return target
