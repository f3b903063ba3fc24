"""Keras 3's batch-mixing augmentations: `MixUp` and `CutMix`.

Each image is mixed with another image of the same batch (a random permutation): `MixUp`
blends the two, `CutMix` pastes a rectangle of the other. Called on an image batch they mix
the images only (inside a model: training only, the identity at inference); called on a dict
``{"images": ..., "labels": ...}``, as Keras 3 does in a data pipeline (``dataset.map``), they
also mix the labels with the same weights (the share of the image each label's image holds)
and return a new dict. Arguments, defaults and draws as Keras 3.15; NHWC only. Both pass an
exact input gradient (for the image form).
"""

from __future__ import annotations

import numpy as np

from convnp.layers import _utils
from convnp.layers.augmentation_color import keras_factor
from convnp.layers.augmentation_geometry import erase_masks
from convnp.layers.preprocessing import _RandomLayer, check_dict_keys
from convnp.layers.registry import register


class _MixLayer(_RandomLayer):
    """Mixing within the batch by a drawn permutation (`draw`, then `apply`)."""

    def _call_dict(self, data: dict, training):
        from convnp.tensor.eager import to_eager, to_numpy

        cls = type(self).__name__
        check_dict_keys(data, cls)
        raw = np.asarray(to_numpy(data["images"]))
        images = _utils.as_dtype(raw, self.dtype)
        if images.ndim not in (3, 4):
            raise ValueError(f"{cls} expects images (batch, height, width, channels) or one "
                             f"image, got shape {images.shape}")
        labels = None
        if "labels" in data:
            # floats in the layer's dtype, as Keras casts them (float64 labels come back
            # float32, mixed or not)
            labels = np.asarray(self._as_keras_returns(data["labels"]))
            if images.ndim == 4 and (labels.ndim == 0 or labels.shape[0] != images.shape[0]):
                raise ValueError(f"{cls}: labels must have one row per image ({images.shape[0]}"
                                 f"), got shape {labels.shape}")
        out = dict(data)
        if labels is not None:
            out["labels"] = labels
        if training is None or training:
            single = images.ndim == 3
            batch = images[None] if single else images
            transformation = self.draw(batch.shape)
            mixed, _ = self.apply(batch, transformation)
            out["images"] = mixed[0] if single else mixed
            if labels is not None:
                out["labels"] = self.mix_labels(labels[None] if single else labels,
                                                transformation)
                if single:
                    out["labels"] = out["labels"][0]
        elif self._integers_pass_at_inference and raw.dtype.kind in "iu":
            out["images"] = raw  # untouched, as the array call gives them (MixUp)
        else:
            out["images"] = images
        return {key: to_eager(value) for key, value in out.items()}

    def draw(self, shape) -> dict:
        raise NotImplementedError

    def apply(self, x, transformation: dict):
        raise NotImplementedError

    def _augment(self, x):
        return self.apply(x, self.draw(x.shape))

    @staticmethod
    def mix_labels(labels, transformation: dict):
        """``w * labels + (1 - w) * labels[permutation]`` row by row (float labels)."""
        labels = np.asarray(labels)
        if labels.dtype.kind != "f":
            labels = labels.astype(np.float32)
        order = np.asarray(transformation["permutation_order"], dtype=np.int64)
        weight = np.asarray(transformation["mix_weight"], dtype=labels.dtype).reshape(
            (-1,) + (1,) * (labels.ndim - 1))
        return weight * labels + (1 - weight) * labels[order]


@register
class MixUp(_MixLayer):
    """Blend each image with the image the permutation pairs it with: ``w x + (1 - w)
    x[order]``, ``w`` drawn per image from ``Beta(alpha, alpha)`` (default ``alpha=0.2``).
    Labels of a dict input are blended with the same ``w``. Training only."""

    _integers_pass_at_inference = True  # as Keras (uint8 stays uint8)

    config_keys = _RandomLayer.config_keys + ("alpha",)

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.alpha = _utils.number(alpha, "alpha", type(self).__name__)
        if not self.alpha > 0:
            raise ValueError(f"MixUp: alpha must be > 0 (a Beta distribution's parameter), "
                             f"got {alpha!r}")

    def draw(self, shape):
        m = shape[0]
        rng = self.rng()
        order = rng.permutation(m)
        return {"permutation_order": order, "mix_weight": rng.beta(self.alpha, self.alpha, m)}

    def apply(self, x, transformation):
        m = x.shape[0]
        order = np.asarray(transformation["permutation_order"], dtype=np.int64)
        w = np.asarray(transformation["mix_weight"], dtype=x.dtype).reshape(m, 1, 1, 1)
        y = w * x + (1 - w) * x[order]

        def backward(dy):
            dx = w * dy
            np.add.at(dx, order, (1 - w) * dy)
            return dx

        return y, backward


@register
class CutMix(_MixLayer):
    """Paste into each image a rectangle of the image the permutation pairs it with. A
    ``lambda`` drawn per image from ``Beta(a, a)``, ``a`` drawn once per batch from ``factor``
    (``(0, f)`` within [0, 1], plus 1e-6), sets the rectangle's sides to ``sqrt(1 - lambda)``
    of the width and height, at a uniform position. Labels of a dict input are mixed by the
    share of the image left unpasted. Training only."""

    config_list_keys = ("factor",)

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = keras_factor(factor, (0.0, 1.0), type(self).__name__)

    def draw(self, shape):
        m, n_H, n_W, _ = shape
        rng = self.rng()
        a = rng.uniform(*self.factor) + 1e-6
        ratio = np.sqrt(1.0 - rng.beta(a, a, m))

        def bounds(length):
            size = ratio * length
            start = rng.random(m) * (length - size)
            return start, start + size

        x0, x1 = bounds(n_W)
        y0, y1 = bounds(n_H)
        return {"permutation_order": rng.permutation(m),
                "batch_masks": erase_masks(shape, x0, x1, y0, y1),
                "mix_weight": 1.0 - (x1 - x0) * (y1 - y0) / (n_W * n_H)}

    def apply(self, x, transformation):
        order = np.asarray(transformation["permutation_order"], dtype=np.int64)
        pasted = np.broadcast_to(np.asarray(transformation["batch_masks"], bool), x.shape)
        y = np.where(pasted, x[order], x)

        def backward(dy):
            dx = np.where(pasted, 0, dy).astype(dy.dtype, copy=False)
            np.add.at(dx, order, np.where(pasted, dy, 0))
            return dx

        return y, backward


MIX_LAYERS = (MixUp, CutMix)
