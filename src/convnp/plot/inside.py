"""Pictures of what a CNN learned and looks at: filters, feature maps, saliency, Grad-CAM,
the confusion matrix and the misclassified examples.

Every function returns the matplotlib ``Figure`` and, given ``save=path``, also writes it
(whole or not at all). The numbers come from `convnp.plot.probe`, which runs the model's own
layers; ``return_values=True`` on `saliency` and `gradcam` returns them beside the figure.
"""

from __future__ import annotations

import os

import numpy as np

from convnp.plot import probe
from convnp.plot._canvas import display_image, finish, grid_shape, hide_axes, new_figure, unit_range
from convnp.plot.tiles import filter_images

PathLike = str | os.PathLike


def filters(model, layer=None, *, max_filters: int = 64, save: PathLike | None = None,
            dpi: int = 100):
    """The kernels of a convolutional layer as a grid of small images.

    Args:
        model: a built model.
        layer: the conv layer (name, index or Layer); the first one by default.
        max_filters: draw at most this many filters (the first ones).
        save: optional path to write the figure to (PNG by default).

    The first layer of an RGB network is drawn in colour, each filter stretched to the full
    range; deeper layers show each filter averaged over its input channels on one shared,
    centred colour scale (blue negative, red positive) with a colour bar.
    """
    convs = probe.conv_layers(model)
    if layer is None:
        if not convs:
            raise ValueError("the model has no convolutional layer to draw")
        target = convs[0]
    else:
        target = probe.find_layer(model, layer)
        if target not in convs:
            raise ValueError(f"layer '{target.name}' has no 4-D conv kernel to draw")
    kernel = np.asarray(target.kernel.value if hasattr(target.kernel, "value")
                        else target.kernel)
    images, rgb = filter_images(kernel, max_filters)
    rows, cols = grid_shape(len(images))
    fig = new_figure((1.2 * cols + (1.0 if not rgb else 0.0), 1.2 * rows + 0.6), dpi, "filters")
    axes = fig.subplots(rows, cols, squeeze=False)
    limit = float(np.abs(images).max()) or 1.0
    shown = None
    for i, ax in enumerate(axes.flat):
        hide_axes(ax)
        if i >= len(images):
            ax.axis("off")
            continue
        if rgb:
            ax.imshow(images[i], interpolation="nearest")
        else:
            shown = ax.imshow(images[i], cmap="coolwarm", vmin=-limit, vmax=limit,
                              interpolation="nearest")
        ax.set_title(str(i), fontsize=7)
    what = "RGB, each filter scaled" if rgb else "mean over input channels"
    fig.suptitle(f"{target.name}: {kernel.shape[-1]} filters "
                 f"{kernel.shape[0]}x{kernel.shape[1]} ({what})", fontsize=9)
    if shown is not None:
        # a colour bar spanning several axes does not go with tight_layout
        fig.colorbar(shown, ax=axes.ravel().tolist(), shrink=0.8)
    return finish(fig, save, dpi, tight=shown is None)


def feature_maps(model, x, layers=None, *, max_maps: int = 16, save: PathLike | None = None,
                 dpi: int = 100):
    """The activations of chosen layers for one image, ``max_maps`` channels per layer.

    Args:
        model: a built model.
        x: one image ``(H, W, C)`` (or a batch of one).
        layers: layer names, indices or Layers; by default every layer with a feature-map
            output (4-D), up to 6 of them.
        max_maps: channels drawn per layer (the first ones).
        save: optional path to write the figure to.

    Each row is a layer; each map has its own grey scale (black = lowest, white = highest).
    """
    if max_maps < 1:
        raise ValueError(f"max_maps must be at least 1, got {max_maps}")
    batch = probe.as_batch(model, x)
    if len(batch) != 1:
        raise ValueError(f"feature_maps draws one image, got a batch of {len(batch)}")
    if layers is None:
        chosen = probe.spatial_layers(model)[:6]
        if not chosen:
            raise ValueError("the model has no layer with a feature-map output")
    else:
        chosen = [probe.find_layer(model, layer) for layer in
                  (layers if isinstance(layers, (list, tuple)) else [layers])]
    outputs = probe.layer_outputs(model, batch, chosen)
    for layer, out in zip(chosen, outputs):
        if out.ndim != 4:
            raise ValueError(f"layer '{layer.name}' outputs shape {out.shape}, not feature "
                             "maps (m, H, W, C)")
    cols = min(max_maps, max(out.shape[-1] for out in outputs))
    fig = new_figure((1.3 * cols + 1.2, 1.4 * len(chosen) + 0.4), dpi, "feature_maps")
    axes = fig.subplots(len(chosen), cols, squeeze=False)
    for row, (layer, out) in enumerate(zip(chosen, outputs)):
        for col in range(cols):
            ax = axes[row, col]
            hide_axes(ax)
            if col >= out.shape[-1]:
                ax.axis("off")
                continue
            ax.imshow(unit_range(out[0, :, :, col]), cmap="gray", vmin=0, vmax=1,
                      interpolation="nearest")
            if col == 0:
                ax.set_ylabel(f"{layer.name}\n{out.shape[1]}x{out.shape[2]}x{out.shape[3]}",
                              fontsize=7)
    fig.suptitle("feature maps (each scaled to its own range)", fontsize=9)
    return finish(fig, save, dpi)


def _heatmap_figure(image: np.ndarray, heat: np.ndarray, title: str, what: str, dpi: int,
                    alpha: float):
    fig = new_figure((9.0, 3.4), dpi, what)
    axes = fig.subplots(1, 3)
    shown = display_image(image)
    grey = shown.ndim == 2
    axes[0].imshow(shown, cmap="gray" if grey else None)
    axes[0].set_title("image", fontsize=9)
    axes[1].imshow(heat, cmap="inferno")
    axes[1].set_title(what, fontsize=9)
    axes[2].imshow(shown, cmap="gray" if grey else None)
    axes[2].imshow(unit_range(heat), cmap="jet", alpha=alpha)
    axes[2].set_title("overlay", fontsize=9)
    for ax in axes:
        hide_axes(ax)
    fig.suptitle(title, fontsize=9)
    return fig


def _describe(model, result_class: int, output: np.ndarray) -> str:
    flat = np.asarray(output).reshape(-1)
    if flat.size == 1:
        return f"{model.name}: score of the positive class (output {flat[0]:.3f})"
    return f"{model.name}: class {result_class} (probability {flat[result_class]:.3f})"


def saliency(model, x, class_index: int | None = None, *, save: PathLike | None = None,
             return_values: bool = False, dpi: int = 100):
    """Saliency map: ``|d score / d pixel|`` (maximum over the colour channels) for one image.

    The score is the class's logit (before a softmax or sigmoid output activation); by
    default the predicted class. With ``return_values=True`` returns ``(figure, values)``,
    values being the ``(H, W)`` map.
    """
    batch = probe.as_batch(model, x)
    if len(batch) != 1:
        raise ValueError(f"saliency draws one image, got a batch of {len(batch)}")
    result = probe.score_gradient(model, batch, None, class_index)
    values = np.abs(result.gradient).max(axis=-1)[0]
    fig = _heatmap_figure(batch[0], values,
                          _describe(model, int(result.class_index[0]), result.output[0]),
                          "saliency", dpi, alpha=0.5)
    finish(fig, save, dpi)
    return (fig, values) if return_values else fig


def gradcam(model, x, layer=None, class_index: int | None = None, *,
            save: PathLike | None = None, return_values: bool = False, dpi: int = 100):
    """Grad-CAM of a convolutional layer (the last one by default) over one image.

    See `convnp.plot.probe.gradcam_values` for the computation. With ``return_values=True``
    returns ``(figure, values)``, values being the ``(H, W)`` map before normalisation.
    """
    batch = probe.as_batch(model, x)
    if len(batch) != 1:
        raise ValueError(f"gradcam draws one image, got a batch of {len(batch)}")
    maps, classes = probe.gradcam_values(model, batch, layer, class_index)
    output = model.predict(batch, verbose=0)[0]
    fig = _heatmap_figure(batch[0], maps[0], _describe(model, int(classes[0]), output),
                          "Grad-CAM", dpi, alpha=0.45)
    finish(fig, save, dpi)
    return (fig, maps[0]) if return_values else fig


def predicted_classes(model, x, batch_size: int = 32) -> np.ndarray:
    """Class indices the model predicts (a single sigmoid unit: 1 where it is >= 0.5)."""
    out = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    out = out.reshape(len(out), -1)
    if out.shape[1] == 1:
        return (out[:, 0] >= 0.5).astype(np.intp)
    return out.argmax(axis=1)


def true_classes(y: np.ndarray) -> np.ndarray:
    """Labels as class indices: one-hot rows, ``(m, 1)`` or ``(m,)`` integers."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    y = y.reshape(len(y))
    if y.dtype.kind == "f" and not np.all(y == np.round(y)):
        raise ValueError("labels must be class indices or one-hot rows")
    return y.astype(np.intp)


def _check_pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x)
    y = np.asarray(y)
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"expected as many labels as images (at least one), got {len(x)} "
                         f"images and {len(y)} labels")
    return x, y


def confusion_matrix(model, x, y, class_names=None, *, save: PathLike | None = None,
                     return_values: bool = False, dpi: int = 100):
    """The confusion matrix (rows: true class, columns: predicted), counts in each cell."""
    x, y = _check_pair(x, y)
    truth, pred = true_classes(y), predicted_classes(model, x)
    n = int(max(truth.max(), pred.max()) + 1)
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        n = max(n, len(class_names))
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, (truth, pred), 1)
    names = class_names if class_names is not None and len(class_names) == n else \
        [str(i) for i in range(n)]
    size = 2.5 + 0.45 * n
    fig = new_figure((size + 1.0, size), dpi, "confusion_matrix")
    ax = fig.subplots()
    shown = ax.imshow(counts, cmap="Blues")
    ax.set_xticks(range(n), names, rotation=45 if n > 6 else 0, fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    middle = counts.max() / 2
    for (r, c), count in np.ndenumerate(counts):
        ax.text(c, r, str(count), ha="center", va="center", fontsize=8,
                color="white" if count > middle else "black")
    accuracy = float(np.trace(counts)) / max(1, counts.sum())
    ax.set_title(f"{model.name}: accuracy {accuracy:.3f} on {len(x)} examples", fontsize=9)
    fig.colorbar(shown, ax=ax, shrink=0.8)
    finish(fig, save, dpi)
    return (fig, counts) if return_values else fig


def misclassified(model, x, y, class_names=None, *, max_images: int = 16,
                  save: PathLike | None = None, dpi: int = 100):
    """A grid of the examples the model gets wrong, each titled "true -> predicted"."""
    x, y = _check_pair(x, y)
    truth, pred = true_classes(y), predicted_classes(model, x)
    wrong = np.flatnonzero(truth != pred)[:max_images]
    names = None if class_names is None else [str(c) for c in class_names]

    def label(i: int) -> str:
        return names[i] if names is not None and i < len(names) else str(i)

    count = max(1, len(wrong))
    rows, cols = grid_shape(count, max_columns=8)
    fig = new_figure((1.6 * cols, 1.8 * rows + 0.4), dpi, "misclassified")
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        hide_axes(ax)
        if k >= len(wrong):
            ax.axis("off")
            continue
        i = wrong[k]
        shown = display_image(np.asarray(x[i]))
        ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None)
        ax.set_title(f"{label(truth[i])} -> {label(pred[i])}", fontsize=8, color="tab:red")
    total = int((truth != pred).sum())
    fig.suptitle(f"{model.name}: {total} of {len(x)} misclassified"
                 + ("" if total else " (none)"), fontsize=9)
    return finish(fig, save, dpi)
