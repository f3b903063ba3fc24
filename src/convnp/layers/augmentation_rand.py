"""Keras 3's `RandAugment` and `AugMix`: augmentations picked at random from a fixed list
(`keras_ops`), made at one shared strength ``factor``."""

from __future__ import annotations

import numpy as np

from convnp.layers import _utils
from convnp.layers.augmentation import RandomBrightness, _value_range
from convnp.layers.augmentation_color import (
    AutoContrast,
    Equalization,
    RandomColorDegeneration,
    RandomPosterization,
    RandomSharpness,
    Solarization,
    keras_factor,
)
from convnp.layers.augmentation_geometry import RandomShear
from convnp.layers.preprocessing import (
    RandomContrast,
    RandomRotation,
    RandomTranslation,
    _RandomLayer,
    _resampling_interpolation,
)
from convnp.layers.registry import register

#: RandAugment's operations, in Keras' order (the indices of `RandAugment.picks`)
RAND_AUGMENT_OPS = ("random_shear", "random_translation", "random_rotation",
                    "random_brightness", "random_color_degeneration", "random_contrast",
                    "random_sharpness", "random_posterization", "solarization",
                    "auto_contrast", "equalization")


def _int_at_least(value, low: int, name: str, layer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{layer}: {name} must be an int >= {low}, got {value!r}")
    return int(value)


def keras_ops(factor, value_range, interpolation: str, dtype: str) -> dict:
    """The augmentation layers RandAugment and AugMix pick from, by Keras' attribute names,
    made as Keras makes them from one ``factor`` pair ``(0, f)``: shear, translation and
    rotation with ``interpolation``, posterization keeping ``max(1, int(8 f))`` bits at
    most, the colour layers with ``value_range``."""
    geometry = {"interpolation": interpolation, "dtype": dtype}
    colour = {"value_range": value_range, "dtype": dtype}
    return {
        "random_shear": RandomShear(x_factor=factor, y_factor=factor, **geometry),
        "random_translation": RandomTranslation(height_factor=factor, width_factor=factor,
                                                **geometry),
        "random_rotation": RandomRotation(factor=factor, **geometry),
        "random_brightness": RandomBrightness(factor=factor, **colour),
        "random_color_degeneration": RandomColorDegeneration(factor=factor, **colour),
        "random_contrast": RandomContrast(factor=factor, **colour),
        "random_sharpness": RandomSharpness(factor=factor, **colour),
        "random_posterization": RandomPosterization(factor=max(1, int(8 * factor[1])),
                                                    **colour),
        "solarization": Solarization(addition_factor=factor, threshold_factor=factor,
                                     **colour),
        "auto_contrast": AutoContrast(value_range=value_range, dtype=dtype),
        "equalization": Equalization(value_range=value_range, dtype=dtype),
    }


def run_layers(layers, x, generator):
    """Apply ``layers`` in turn to the batch ``x`` as in training, each drawing from
    ``generator`` (None: the global one); returns ``(y, backward)`` of the whole chain."""
    backwards = []
    for layer in layers:
        if isinstance(layer, _RandomLayer):
            layer._generator = generator
        x, backward = layer._transform(x, True)
        backwards.append(backward)

    def backward(dy):
        for step in reversed(backwards):
            dy = step(dy)
        return dy

    return x, backward



@register
class RandAugment(_RandomLayer):
    """Apply ``num_ops`` augmentations (default 2) to the whole batch, each picked uniformly
    (with repeats) per batch from Keras' list, in its order: `RandomShear`,
    `RandomTranslation`, `RandomRotation`, `RandomBrightness`, `RandomColorDegeneration`,
    `RandomContrast`, `RandomSharpness`, `RandomPosterization`, `Solarization`,
    `AutoContrast`, `Equalization`. Every one is made as Keras makes it from ``factor``
    (``(0, f)`` within [0, 1], default 0.5), ``value_range`` and ``interpolation``
    (posterization keeps ``max(1, int(8 * upper))`` bits at most), and draws its own
    parameters per image (a layer picked twice draws twice; Keras reuses one draw).
    Training only. The gradient is exact when the picked layers have one; posterization or
    equalization make it unavailable (`LookupError`)."""

    config_keys = _RandomLayer.config_keys + ("num_ops", "interpolation")
    config_list_keys = ("value_range", "factor")

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear",
                 seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        cls = type(self).__name__
        self.value_range = _value_range(value_range, cls)
        self.num_ops = _int_at_least(num_ops, 0, "num_ops", cls)
        self.factor = keras_factor(factor, (0.0, 1.0), cls)
        self.interpolation = _resampling_interpolation(interpolation, cls)
        ops = keras_ops(self.factor, self.value_range, self.interpolation, self.dtype.name)
        self._choices = [ops[name] for name in RAND_AUGMENT_OPS]

    def build(self, input_shape) -> None:
        super().build(input_shape)
        for layer in self._choices:
            layer.build(input_shape)

    def picks(self) -> np.ndarray:
        """The indices (into Keras' list) of this batch's augmentations."""
        return self.rng().integers(0, len(self._choices), self.num_ops)

    def _augment(self, x):
        y, backward = run_layers([self._choices[i] for i in self.picks()], x,
                                 self._generator)
        return _utils.as_dtype(y, self.dtype), backward


#: AugMix's operations (Keras' order); ``all_ops=False`` keeps the first seven
AUGMIX_OPS = ("random_shear", "random_translation", "random_rotation", "random_posterization",
              "solarization", "auto_contrast", "equalization", "random_brightness",
              "random_color_degeneration", "random_contrast", "random_sharpness")


@register
class AugMix(_RandomLayer):
    """Keras 3's AugMix: ``num_chains`` chains (default 3) each apply up to ``chain_depth``
    operations (default 3; each of the ``chain_depth`` slots picks one of the operations or
    nothing, uniformly, per batch) to the whole batch; the chains' outputs are mixed with
    weights drawn from ``Dirichlet(alpha)``, and the mixture blended with the input by a
    weight ``w`` drawn from ``Beta(alpha, alpha)`` (one per batch, default ``alpha=1``):
    ``clip(w x + (1 - w) sum_i c_i chain_i(x), value_range)``. The operations are Keras':
    shear, translation, rotation, posterization, solarization, auto contrast, equalization
    and, with ``all_ops`` (default True), brightness, colour degeneration, contrast and
    sharpness, all made from ``factor`` (``(0, f)`` within [0, 1], default 0.3) as
    `RandAugment` makes them, each drawing its own parameters per image. Training only. The
    gradient is exact when the picked operations have one; posterization or equalization
    make it unavailable (`LookupError`)."""

    config_keys = _RandomLayer.config_keys + ("num_chains", "chain_depth", "alpha", "all_ops",
                                              "interpolation")
    config_list_keys = ("value_range", "factor")

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3,
                 alpha=1.0, all_ops=True, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        cls = type(self).__name__
        self.value_range = _value_range(value_range, cls)
        self.num_chains = _int_at_least(num_chains, 1, "num_chains", cls)
        self.chain_depth = _int_at_least(chain_depth, 0, "chain_depth", cls)
        self.factor = keras_factor(factor, (0.0, 1.0), cls)
        self.alpha = _utils.number(alpha, "alpha", cls)
        if not self.alpha > 0:
            raise ValueError(f"{cls}: alpha must be > 0 (a Beta and Dirichlet parameter), "
                             f"got {alpha!r}")
        if not isinstance(all_ops, (bool, np.bool_)):
            raise TypeError(f"{cls}: all_ops must be True or False, got {all_ops!r}")
        self.all_ops = bool(all_ops)
        self.interpolation = _resampling_interpolation(interpolation, cls)
        names = AUGMIX_OPS if self.all_ops else AUGMIX_OPS[:7]
        ops = keras_ops(self.factor, self.value_range, self.interpolation, self.dtype.name)
        self._ops = {name: ops[name] for name in names}

    def build(self, input_shape) -> None:
        super().build(input_shape)
        for layer in self._ops.values():
            layer.build(input_shape)

    def draw(self) -> dict:
        """The batch's mixing weights and chains (lists of operation names)."""
        rng = self.rng()
        options = list(self._ops) + [None]
        chains = []
        for _ in range(self.num_chains):
            picks = rng.integers(0, len(options), self.chain_depth)
            chains.append([options[i] for i in picks if options[i] is not None])
        return {"chain_mixing_weights": rng.dirichlet([self.alpha] * self.num_chains),
                "weight_sample": rng.beta(self.alpha, self.alpha), "chains": chains}

    def apply(self, x, transformation: dict):
        """``(y, backward)`` for the batch ``x`` under a given ``transformation``."""
        weights = np.asarray(transformation["chain_mixing_weights"], x.dtype)
        w = x.dtype.type(transformation["weight_sample"])
        mixed = np.zeros_like(x)
        backwards = []
        for weight, chain in zip(weights, transformation["chains"]):
            unknown = [name for name in chain if name not in self._ops]
            if unknown:
                raise ValueError(f"AugMix: unknown operations {unknown}; this layer's are "
                                 f"{list(self._ops)}")
            y, backward = run_layers([self._ops[name] for name in chain], x, self._generator)
            mixed += _utils.as_dtype(y, self.dtype) * weight
            backwards.append((weight, backward))
        low, high = self.value_range
        raw = w * x + (1 - w) * mixed
        inside = (raw >= low) & (raw <= high)

        def backward(dy):
            g = dy * inside
            dx = w * g
            for weight, step in backwards:
                dx = dx + step((1 - w) * weight * g)
            return dx

        return np.clip(raw, low, high).astype(x.dtype, copy=False), backward

    def _augment(self, x):
        return self.apply(x, self.draw())
