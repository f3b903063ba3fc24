"""``tf.keras.visualization``: Keras 3.15's pictures of detection and segmentation data.

* ``draw_bounding_boxes``: box outlines (and class names) drawn into a batch of images;
  returns ``uint8`` images. The outlines are pixel for pixel what Keras draws with OpenCV
  (`convnp.keras._box_drawing`), without needing OpenCV. Class names are written with
  Pillow's default font when Pillow is installed (Keras uses OpenCV's Hershey font, so the
  letters' pixels differ) and left out otherwise.
* ``draw_segmentation_masks``: each class's pixels painted in its colour, blended with the
  image (``uint8``), or the painted float32 images with ``blend=False``.
* ``plot_image_gallery``, ``plot_bounding_box_gallery``, ``plot_segmentation_mask_gallery``:
  a grid of those images in a matplotlib figure made with ``pyplot``, shown (``show``) or
  saved (``path``), as Keras does; they return None, and with ``show=False`` the figure stays
  open as ``plt.gcf()``. matplotlib is an optional extra (``pip install convnp[plot]``).

Arguments, defaults, value-range handling, colours and the exceptions of misuse follow Keras
3.15 on TensorFlow 2.21, including ``draw_segmentation_masks`` with
``data_format="channels_first"`` returning channels-last images. Where Keras stops on its own
bug (``draw_bounding_boxes`` and ``plot_image_gallery`` on channels-first images, a gallery
with more cells than images) convnp draws the expected picture instead.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from convnp.keras import _box_drawing
from convnp.keras.bounding_boxes import convert_format

__all__ = ["draw_bounding_boxes", "draw_segmentation_masks", "plot_bounding_box_gallery",
           "plot_image_gallery", "plot_segmentation_mask_gallery"]


def _data_format(data_format) -> str:
    if data_format is None:
        from convnp.keras.backend import image_data_format

        data_format = image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be 'channels_last' or 'channels_first', got "
                         f"{data_format!r}")
    return data_format


def _batched(images, who: str) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"{who}: images must be a batch, a 4-D array (batch, height, width, "
                         f"channels), got shape {images.shape}")
    return images


def _pyplot(who: str):
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"keras.visualization.{who} needs matplotlib: pip install "
                          "matplotlib  (or pip install 'convnp[plot]')") from exc
    return plt


def _as_uint8(images: np.ndarray) -> np.ndarray:
    """Images as Keras hands them to OpenCV: floats up to 1 are scaled by 255, other floats
    clipped to [0, 255], and everything cast (truncated) to uint8."""
    if images.dtype.kind == "f" and images.size > 0:
        if images.max() <= 1.0:
            images = np.clip(images, 0, 1) * 255
        else:
            images = np.clip(images, 0, 255)
    return images.astype("uint8")  # a copy: the caller's images are not drawn on


def _channel_values(color, channels: int) -> np.ndarray:
    """A colour tuple as one uint8 per channel, as OpenCV reads it: missing channels are 0,
    values are rounded and clipped."""
    values = np.zeros(channels)
    color = np.ravel(np.asarray(color, dtype=np.float64))[:channels]
    values[:len(color)] = color
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _text_location(x: int, y: int, font_scale: float, thickness: int) -> tuple[int, int]:
    """Where Keras writes a class name: above the box when there is room, else inside it."""
    font_height = int(font_scale * 12)
    if y - 8 - 2 * font_height > 0:
        return x, y - 8
    return x + 3, y + 2 * font_height + thickness + 3


def _write_text(image: np.ndarray, text: str, origin, color: np.ndarray, font_scale: float):
    """``text`` with its baseline's left end at ``origin``, with Pillow when it is installed
    (skipped otherwise: the boxes are the point of the picture)."""
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:  # pragma: no cover - depends on the environment
        return
    channels = image.shape[-1]
    picture = Image.fromarray(image[..., 0] if channels == 1 else image[..., :3])
    draw = ImageDraw.Draw(picture)
    size = max(1, round(30 * font_scale))  # a cap height near OpenCV simplex font (22 px)
    try:
        font = ImageFont.load_default(size=size)
        draw.text(origin, text, fill=tuple(int(v) for v in color[:min(channels, 3)]),
                  font=font, anchor="ls")
    except (TypeError, ValueError, OSError):  # an old Pillow's bitmap font
        font = ImageFont.load_default()
        draw.text((origin[0], origin[1] - 11), text,
                  fill=tuple(int(v) for v in color[:min(channels, 3)]), font=font)
    drawn = np.asarray(picture)
    if channels == 1:
        image[..., 0] = drawn
    else:
        image[..., :3] = drawn


def draw_bounding_boxes(images, bounding_boxes, bounding_box_format, class_mapping=None,
                        color=(128, 128, 128), line_thickness=2, text_thickness=1,
                        font_scale=1.0, data_format=None):
    """``images`` (a batch) with the boxes of ``bounding_boxes`` (a dict: ``"boxes"``
    ``(batch, N, 4)`` in ``bounding_box_format``, ``"labels"`` ``(batch, N)``, optional
    ``"confidences"``) outlined in ``color`` (RGB 0-255), ``line_thickness`` pixels wide; a
    box labelled -1 is skipped. With ``class_mapping`` ``{label: name}`` the names (and
    confidences) are written by the boxes. Returns a ``uint8`` NumPy array shaped like
    ``images``: floats up to 1 are taken as [0, 1], other floats as [0, 255]."""
    class_mapping = class_mapping or {}
    text_thickness = text_thickness or line_thickness
    data_format = _data_format(data_format)
    images = _batched(images, "draw_bounding_boxes")
    if not isinstance(bounding_boxes, dict):
        raise TypeError(f"draw_bounding_boxes: bounding_boxes must be a dict with 'boxes' and "
                        f"'labels', got {type(bounding_boxes).__name__}")
    if "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError(f"draw_bounding_boxes: bounding_boxes needs 'boxes' and 'labels' "
                         f"entries, got the keys {sorted(bounding_boxes)}")
    first = data_format == "channels_first"
    if first:
        images = np.transpose(images, (0, 2, 3, 1))
    height, width = images.shape[1], images.shape[2]
    boxes = np.asarray(convert_format(dict(bounding_boxes), bounding_box_format, "xyxy",
                                      height, width)["boxes"])
    labels = np.asarray(bounding_boxes["labels"])
    confidences = bounding_boxes.get("confidences")
    confidences = None if confidences is None else np.asarray(confidences)
    drawn = _as_uint8(images)
    paint = _channel_values(color, drawn.shape[-1])
    for i, image in enumerate(drawn):
        for j, box in enumerate(boxes[i]):
            label = int(np.asarray(labels[i][j]).astype("int32"))
            if label == -1:
                continue
            x1, y1, x2, y2 = (int(v) for v in box.astype("int32"))
            mask = _box_drawing.rectangle_mask(height, width, x1, y1, x2, y2,
                                               int(line_thickness))
            image[mask] = paint
            if label in class_mapping:
                text = str(class_mapping[label])
                if confidences is not None:
                    text = f"{text} | {float(confidences[i][j]):.2f}"
                origin = _text_location(x1, y1, font_scale, text_thickness)
                _write_text(image, text, origin, paint, font_scale)
    return np.transpose(drawn, (0, 3, 1, 2)) if first else drawn


def _palette(num_classes: int) -> list:
    """Keras' default class colours: class ``i`` gets ``i * (2**25-1, 2**15-1, 2**21-1)``
    modulo 255."""
    base = np.array([2 ** 25 - 1, 2 ** 15 - 1, 2 ** 21 - 1])
    return [((i * base) % 255).tolist() for i in range(num_classes)]


def draw_segmentation_masks(images, segmentation_masks, num_classes=None, color_mapping=None,
                            alpha=0.8, blend=True, ignore_index=-1, data_format=None):
    """``images`` (a batch) with the pixels of each class of ``segmentation_masks`` (integers,
    ``(batch, height, width, 1)``) painted in the class's colour (``color_mapping``
    ``{class: (r, g, b)}``, or Keras' palette); ``num_classes`` defaults to the largest class
    in the masks (as in Keras, that class itself then gets no colour). ``blend`` mixes the
    paint in with weight ``alpha`` and leaves ``ignore_index`` pixels as they were, giving
    ``uint8`` NumPy images; ``blend=False`` gives the painted float32 images (a tensor).

    Channels-first input comes back channels-last, as in Keras."""
    from convnp.tensor.ops import constant

    data_format = _data_format(data_format)
    images = _batched(images, "draw_segmentation_masks")
    masks = np.asarray(segmentation_masks)
    if data_format == "channels_first":
        images = np.transpose(images, (0, 2, 3, 1))
        masks = np.transpose(masks, (0, 2, 3, 1))
    images = images.astype("float32")
    if masks.dtype.kind not in "iu":
        raise TypeError(f"draw_segmentation_masks: segmentation_masks must be integers, got "
                        f"dtype {masks.dtype}")
    if num_classes is None:
        num_classes = int(masks.max())
    if color_mapping is None:
        colors = _palette(num_classes)
    else:
        colors = [color_mapping[i] for i in range(num_classes)]
    if masks.shape[-1] != 1:
        raise ValueError(f"draw_segmentation_masks: segmentation_masks must end in an axis of "
                         f"size 1 (batch, height, width, 1), got shape {masks.shape}")
    classes = masks[..., 0]
    valid = classes != ignore_index
    painted = images.copy()
    for k, paint in enumerate(colors):
        painted[classes == k, ...] = np.array(paint, dtype="float32")[None, :]
    if not blend:
        return constant(painted)
    mixed = images * (1 - alpha) + painted * alpha
    return np.where(valid[..., None], mixed, images).astype("uint8")


def plot_image_gallery(images, y_true=None, y_pred=None, label_map=None, rows=None, cols=None,
                       value_range=(0, 255), scale=2, path=None, show=None, transparent=True,
                       dpi=60, legend_handles=None, data_format=None):
    """A ``rows`` x ``cols`` grid of ``images`` (a batch in ``value_range``) drawn with
    matplotlib's pyplot, titled with ``label_map[y_true[i]]`` / ``label_map[y_pred[i]]`` when
    given. Saved to ``path``, or shown (``show``, the default without ``path``) and closed;
    with ``show=False`` the figure stays open (``plt.gcf()``). Returns None, as in Keras.

    The default grid is Keras': ``ceil(sqrt(batch))`` rows and ``batch // rows`` columns (so
    some images may be left out); a cell with no image left is blank."""
    plt = _pyplot("plot_image_gallery")
    if path is not None and show:
        raise ValueError("plot_image_gallery: give either path (to save the figure) or "
                         "show=True, not both")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError("plot_image_gallery: y_true or y_pred needs a label_map to name "
                         "the classes")
    show = show if show is not None else path is None
    data_format = _data_format(data_format)
    images = np.asarray(images)
    batch_size = images.shape[0] if images.ndim == 4 else 1
    rows = rows or math.ceil(math.sqrt(batch_size))
    cols = cols or batch_size // rows
    images = _batched(images, "plot_image_gallery")[:min(rows * cols, batch_size)]
    if data_format == "channels_first":
        images = np.transpose(images, (0, 2, 3, 1))

    fig, axes = plt.subplots(nrows=rows, ncols=cols, figsize=(cols * scale, rows * scale),
                             frameon=False, layout="tight", squeeze=True, sharex="row",
                             sharey="col")
    fig.subplots_adjust(wspace=0, hspace=0)
    axes = np.asarray(axes).reshape(rows, cols)
    if legend_handles is not None:
        fig.legend(handles=legend_handles, loc="lower center")
    low, high = (float(v) for v in value_range)
    if (low, high) != (0.0, 255.0):
        images = (images.astype("float32") - np.float32(low)) / (np.float32(high)
                                                                  - np.float32(low)) * 255
    y_true = None if y_true is None else np.asarray(y_true)
    y_pred = None if y_pred is None else np.asarray(y_pred)
    for row in range(rows):
        for col in range(cols):
            index = row * cols + col
            axis = axes[row, col]
            if index < len(images):
                axis.imshow(images[index].astype("uint8"))
            axis.margins(x=0, y=0)
            axis.axis("off")
            parts = []
            if y_true is not None and index < len(y_true):
                parts.append(f"Label: {label_map.get(_key(y_true[index]), 'Unknown')}")
            if y_pred is not None and index < len(y_pred):
                parts.append(f"Pred: {label_map.get(_key(y_pred[index]), 'Unknown')}")
            if parts:
                axis.set_title("  ".join(parts), fontsize=8)
    if path is not None:
        plt.savefig(fname=path, pad_inches=0, bbox_inches="tight", transparent=transparent,
                    dpi=dpi)
        plt.close()
    elif show:
        plt.show()
        plt.close()


def _key(value):
    """A NumPy scalar label as the Python number a ``label_map`` is keyed by."""
    return value.item() if isinstance(value, np.generic) else value


def plot_bounding_box_gallery(images, bounding_box_format, y_true=None, y_pred=None,
                              value_range=(0, 255), true_color=(0, 188, 212),
                              pred_color=(255, 235, 59), line_thickness=2, font_scale=1.0,
                              text_thickness=None, class_mapping=None,
                              ground_truth_mapping=None, prediction_mapping=None, legend=False,
                              legend_handles=None, rows=None, cols=None, data_format=None,
                              **kwargs):
    """`plot_image_gallery` of ``images`` with the true boxes (``y_true``, a
    `draw_bounding_boxes` dict) drawn in ``true_color`` and the predicted ones in
    ``pred_color``; ``legend=True`` adds a legend of the two colours. Other keyword arguments
    go to `plot_image_gallery`."""
    _pyplot("plot_bounding_box_gallery")  # fails early, with the install hint
    prediction_mapping = prediction_mapping or class_mapping
    ground_truth_mapping = ground_truth_mapping or class_mapping
    data_format = _data_format(data_format)
    images = _batched(images, "plot_bounding_box_gallery")
    if data_format == "channels_first":
        images = np.transpose(images, (0, 2, 3, 1))
    draw = functools.partial(draw_bounding_boxes, bounding_box_format=bounding_box_format,
                             line_thickness=line_thickness, text_thickness=text_thickness,
                             font_scale=font_scale, data_format="channels_last")
    plotted = images
    if y_true is not None:
        plotted = draw(plotted, y_true, color=true_color, class_mapping=ground_truth_mapping)
    if y_pred is not None:
        plotted = draw(plotted, y_pred, color=pred_color, class_mapping=prediction_mapping)
    if legend:
        if legend_handles:
            raise ValueError("plot_bounding_box_gallery: give legend=True or legend_handles, "
                             "not both")
        from matplotlib import patches

        legend_handles = [
            patches.Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
            patches.Patch(color=np.array(pred_color) / 255.0, label="Prediction"),
        ]
    return plot_image_gallery(plotted, value_range=value_range, legend_handles=legend_handles,
                              rows=rows, cols=cols, data_format="channels_last", **kwargs)


def plot_segmentation_mask_gallery(images, num_classes, value_range=(0, 255), y_true=None,
                                   y_pred=None, color_mapping=None, blend=True, alpha=0.8,
                                   ignore_index=-1, data_format=None, **kwargs):
    """`plot_image_gallery` with one row per image: the image, then (when given) its true
    and predicted masks drawn by `draw_segmentation_masks`. Other keyword arguments go to
    `plot_image_gallery`."""
    _pyplot("plot_segmentation_mask_gallery")  # fails early, with the install hint
    data_format = _data_format(data_format)
    images = _batched(images, "plot_segmentation_mask_gallery")
    if data_format == "channels_first":
        images = np.transpose(images, (0, 2, 3, 1))
    rows = images.shape[0]
    cols = 1 + (y_true is not None) + (y_pred is not None)
    draw = functools.partial(draw_segmentation_masks, num_classes=num_classes,
                             color_mapping=color_mapping, alpha=alpha,
                             ignore_index=ignore_index, blend=blend)
    drawn = []
    for masks in (y_true, y_pred):
        if masks is None:
            continue
        masks = np.asarray(masks)
        if data_format == "channels_first":
            masks = np.transpose(masks, (0, 2, 3, 1))
        drawn.append(np.asarray(draw(images, masks.astype("int32"))))
    cells = []
    for i in range(rows):
        cells.append(images[i])
        cells.extend(pictures[i] for pictures in drawn)
    return plot_image_gallery(np.stack(cells, axis=0), value_range=value_range, rows=rows,
                              cols=cols, data_format="channels_last", **kwargs)
