"""`MaxNumBoundingBoxes`: Keras 3's preprocessing layer giving every image of an object
detection batch the same number of boxes: ``{"images", "bounding_boxes": {"boxes",
"labels"}}`` comes back with the boxes ``(batch, max_number, 4)`` and labels ``(batch,
max_number)``, cut to the first ``max_number`` or padded with ``fill_value``; images, a
``"labels"`` and ``"segmentation_masks"`` entry are passed through. Called on images alone it
returns them unchanged.

A data-pipeline layer (use it on arrays, in a ``Dataset.map``): it has no weights and no
gradient, and it does not go into a functional model. As in Keras 3.15, ``fill_value`` is not
part of its config (Keras's ``get_config`` leaves it out, so a reloaded layer pads with -1),
and a ``bounding_box_format`` is needed before it takes boxes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp.layers.base import KerasTensor, Layer
from convnp.layers.registry import register

BOX_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx",
               "rel_xywh", "rel_center_xywh")


@register
class MaxNumBoundingBoxes(Layer):
    """Keras 3's ``MaxNumBoundingBoxes``.

    Args:
        max_number: the number of boxes per image in the output.
        fill_value: the value of padded boxes' coordinates and labels (default -1).
        bounding_box_format: the boxes' format name (``"xyxy"``, ...; kept, the boxes are
            not converted).
        data_format: ``"channels_last"`` or ``"channels_first"`` (kept, images pass through).

    Call: ``layer({"images": images, "bounding_boxes": {"boxes": boxes, "labels": labels}})``
    with batched ``images`` (rank 4: boxes ``(batch, n, 4)``, labels ``(batch, n)``) or one
    image (rank 3: boxes ``(n, 4)``, labels ``(n,)``); returns a new dict.
    """

    def __init__(self, max_number: int, fill_value: int = -1, bounding_box_format=None,
                 data_format=None, **kwargs):
        cls = type(self).__name__
        if isinstance(max_number, (bool, np.bool_)) or not isinstance(
                max_number, (int, np.integer, float, np.floating)) or int(max_number) < 1 \
                or int(max_number) != max_number:
            raise ValueError(f"{cls}: max_number must be a positive int, got {max_number!r}")
        if isinstance(fill_value, (bool, np.bool_)) or not isinstance(
                fill_value, (int, np.integer, float, np.floating)):
            raise TypeError(f"{cls}: fill_value must be a number, got {fill_value!r}")
        if bounding_box_format is not None and bounding_box_format not in BOX_FORMATS:
            raise ValueError(f"{cls}: bounding_box_format must be None or one of "
                             f"{', '.join(BOX_FORMATS)}, got {bounding_box_format!r}")
        if data_format is None:
            data_format = "channels_last"
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{cls}: data_format must be 'channels_last' or "
                             f"'channels_first', got {data_format!r}")
        super().__init__(**kwargs)
        self.max_number = int(max_number)
        self.fill_value = int(fill_value)  # Keras keeps an int
        self.bounding_box_format = bounding_box_format
        self.data_format = data_format
        self.built = True

    def _fit(self, values: np.ndarray, axis: int) -> np.ndarray:
        """``values`` cut or padded with ``fill_value`` to ``max_number`` along ``axis``."""
        count = values.shape[axis]
        index = [slice(None)] * values.ndim
        index[axis] = slice(0, self.max_number)
        values = values[tuple(index)]
        if count >= self.max_number:
            return values
        pads = [(0, 0)] * values.ndim
        pads[axis] = (0, self.max_number - count)
        return np.pad(values, pads, constant_values=np.asarray(self.fill_value).astype(
            values.dtype))

    def transform_bounding_boxes(self, bounding_boxes: dict, batched: bool = True) -> dict:
        """The ``{"boxes", "labels"}`` dict with ``max_number`` boxes per image."""
        cls = type(self).__name__
        if not isinstance(bounding_boxes, dict) or not {"boxes", "labels"} <= set(
                bounding_boxes):
            raise ValueError(f"{cls} '{self.name}': bounding_boxes must be a dict with keys "
                             f"'boxes' and 'labels', got {bounding_boxes!r:.120}")
        try:
            boxes = np.asarray(bounding_boxes["boxes"])
            labels = np.asarray(bounding_boxes["labels"])
        except ValueError:  # ragged lists
            raise ValueError(f"{cls} '{self.name}': boxes and labels must be rectangular "
                             "arrays (ragged lists are not supported)") from None
        rank = 3 if batched else 2
        if boxes.ndim != rank or boxes.shape[-1] != 4 or labels.shape != boxes.shape[:-1]:
            raise ValueError(f"{cls} '{self.name}': expected boxes of shape "
                             f"{'(batch, n, 4)' if batched else '(n, 4)'} and labels of their "
                             f"shape without the last axis, got {boxes.shape} and "
                             f"{labels.shape}")
        out = dict(bounding_boxes)
        out["boxes"] = self._fit(boxes, rank - 2)
        out["labels"] = self._fit(labels, rank - 2)
        return out

    def __call__(self, data, training=True, **kwargs):
        cls = type(self).__name__
        if kwargs:
            raise TypeError(f"{cls} '{self.name}' got unexpected arguments {sorted(kwargs)}")
        if isinstance(data, KerasTensor) or (isinstance(data, dict) and any(
                isinstance(v, KerasTensor) for v in data.values())):
            raise TypeError(f"{cls} '{self.name}' works on data (arrays, in a Dataset.map), "
                            "not on a model's symbolic tensors")
        if not isinstance(data, dict):
            return data  # images alone: unchanged
        if "images" not in data:
            raise ValueError(f"{cls} '{self.name}': a dict input needs an 'images' entry, got "
                             f"keys {sorted(data)}")
        out = dict(data)
        if "bounding_boxes" in data:
            if not self.bounding_box_format:
                raise ValueError(f"{cls} '{self.name}': the input has 'bounding_boxes' but the "
                                 "layer has no bounding_box_format; pass one, e.g. "
                                 "bounding_box_format='xyxy'")
            batched = np.ndim(data["images"]) == 4
            out["bounding_boxes"] = self.transform_bounding_boxes(data["bounding_boxes"],
                                                                  batched)
        return out

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict) and "bounding_boxes" in input_shape:
            shapes = dict(input_shape)
            boxes = dict(shapes["bounding_boxes"])
            extra = set(boxes) - {"boxes", "labels"}
            if extra:
                raise KeyError(f"unsupported keys in bounding_boxes: {sorted(extra)}; only "
                               "'boxes' and 'labels' are")
            boxes["boxes"] = [boxes["boxes"][0], self.max_number, *list(boxes["boxes"])[2:]]
            boxes["labels"] = [boxes["labels"][0], self.max_number]
            shapes["bounding_boxes"] = boxes
            return shapes
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["data_format"] = self.data_format
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        config["max_number"] = self.max_number
        return config
