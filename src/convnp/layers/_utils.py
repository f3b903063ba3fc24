"""Small helpers shared by the layer modules: argument checks, casting, config values.

Kept private: the public surface of `convnp.layers` is the layer classes and the registry.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convnp._checks import check_number
from convnp.ops import elementwise
from convnp.ops.padding import as_pair


def positive_int(value, name: str, layer: str, wrong_type: type = TypeError) -> int:
    """Return ``value`` as an int >= 1 or raise naming the argument.

    A value that is no int raises ``wrong_type``: TypeError, or ValueError where Keras 3
    checks the argument as a value (``Dense(units="3")``, ``Embedding(input_dim=2.5)``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise wrong_type(f"{layer}: {name} must be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")
    return int(value)


def pair(value, name: str, layer: str, minimum: int = 1) -> tuple[int, int]:
    """An int or an ``(h, w)`` pair of ints, each at least ``minimum`` (Keras' tuples)."""
    try:
        return as_pair(value, name, minimum=minimum)
    except ValueError as error:
        raise ValueError(f"{layer}: {error}") from None


def single_int(value, name: str, layer: str, minimum: int = 1) -> int:
    """Keras' 1-D size arguments: an int or a one-item tuple/list, at least ``minimum``."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{layer}: {name} must be an int or a one-item tuple of ints, "
                        f"got {value!r}")
    if value < minimum:
        raise ValueError(f"{layer}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def sequence_as_image(x: np.ndarray) -> np.ndarray:
    """A sequence batch ``(m, steps, C)`` as an image batch one pixel high, ``(m, 1, steps,
    C)`` (a view), so that 1-D layers run the 2-D kernels."""
    return x.reshape(x.shape[0], 1, x.shape[1], x.shape[2])


def sequence_op_rule(layer, dy, t_dx, t_weights: dict, x_image, saved, run_image,
                     backward_image):
    """`convnp.layers.second_order.cached_op_rule` for a 1-D kernel layer that runs a 2-D op
    on its sequences as images one pixel high: ``run_image(image, kernel_2d) -> (z, cache)``
    and ``backward_image(dz, cache, need_dx) -> (dx, dkernel_2d, ...)`` in image form,
    ``x_image`` the call's input as an image; ``dy``, the tangents and the rule's results in
    the layer's sequence form (its kernel ``(k, ...)`` is the 2-D op's ``(1, k, ...)``)."""
    from convnp.layers import second_order

    def run(inputs, kernel):
        z, cache = run_image(sequence_as_image(inputs), kernel[None])
        return image_as_sequence(z), cache

    def run_backward(dz, cache, need_dx):
        dx, dkernel = backward_image(sequence_as_image(dz), cache, need_dx)[:2]
        return (None if dx is None else image_as_sequence(dx)), dkernel[0]

    return second_order.cached_op_rule(
        layer, dy, t_dx, t_weights, image_as_sequence(x_image), saved, run, run_backward,
        lambda g: activate_backward(layer.activation, g, saved))


def image_as_sequence(y: np.ndarray) -> np.ndarray:
    """The inverse of `sequence_as_image`: ``(m, 1, steps, C)`` -> ``(m, steps, C)``."""
    return y.reshape(y.shape[0], y.shape[2], y.shape[3])


def padding_mode(value, layer: str) -> str:
    """Keras' ``padding`` argument of conv and pooling layers: ``"valid"`` or ``"same"``."""
    if not isinstance(value, str) or value.lower() not in ("valid", "same"):
        raise ValueError(f"{layer}: padding must be 'valid' or 'same', got {value!r}")
    return value.lower()


def channels_last(data_format, layer: str) -> str:
    """convnp is NHWC only; refuse ``channels_first`` up front rather than compute nonsense."""
    if data_format is None or data_format == "channels_last":
        return "channels_last"
    raise ValueError(
        f"{layer}: only data_format='channels_last' (NHWC) is supported, got {data_format!r}"
    )


def number(value, name: str, layer: str, *, at_least: float | None = None,
           above: float | None = None, at_most: float | None = None,
           below: float | None = None, allow_none: bool = False) -> float | None:
    """A real-number constructor argument of a layer as a float, checked before any work
    (`convnp._checks.check_number`, named ``"<layer>: <name>"``).

    It must be finite and within the given bounds (``at_least``/``at_most`` inclusive,
    ``above``/``below`` exclusive); ``None`` passes when ``allow_none``. Raises `TypeError`
    (not a number) or `ValueError` (NaN, infinite or out of range) naming the layer, the
    argument, what is expected and what was received:

    >>> number(float("inf"), "epsilon", "BatchNormalization", above=0)
    Traceback (most recent call last):
    ...
    ValueError: BatchNormalization: epsilon must be a finite number > 0, got inf
    """
    if value is None and allow_none:
        return None
    low = at_least if above is None else above
    high = at_most if below is None else below
    return check_number(f"{layer}: {name}", value, low, high, low_open=above is not None,
                        high_open=below is not None)


def not_supported(layer: str, **arguments: Any) -> None:
    """Accept Keras arguments convnp does not implement only at their neutral value.

    They are accepted at all so that configs written by Keras (which list every argument,
    mostly as ``None``) load unchanged.
    """
    for name, value in arguments.items():
        if value is not None and value is not False:
            raise ValueError(f"{layer}: {name} is not supported by convnp; expected None, "
                             f"got {value!r}")


def refuse_strided_dilation(layer: str, strides: tuple, dilation_rate: tuple, *,
                            as_given: tuple | None = None) -> None:
    """Refuse strides and dilation above 1 together, as Keras and TensorFlow do for their
    convolutions. The message shows ``as_given`` (the arguments as the user wrote them), or
    else the tuples read from them."""
    if max(strides) > 1 and max(dilation_rate) > 1:
        shown_strides, shown_dilation = as_given or (strides, dilation_rate)
        raise ValueError(f"{layer}: strides > 1 is not supported together with "
                         f"dilation_rate > 1, got strides={shown_strides!r} and "
                         f"dilation_rate={shown_dilation!r}")


def window_arguments(layer, kernel_size, strides, padding, data_format, dilation_rate) -> None:
    """Validate and store the sliding-window arguments conv-like layers share (Keras names:
    ``kernel_size``, ``strides``, ``padding``, ``data_format``, ``dilation_rate``) and the
    ``hparameters`` dict their op takes. Strides and dilation above 1 together are refused,
    as Keras and TensorFlow do."""
    cls = type(layer).__name__
    layer.kernel_size = pair(kernel_size, "kernel_size", cls)
    layer.strides = pair(strides, "strides", cls)
    layer.padding = padding_mode(padding, cls)
    layer.data_format = channels_last(data_format, cls)
    layer.dilation_rate = pair(dilation_rate, "dilation_rate", cls)
    refuse_strided_dilation(cls, layer.strides, layer.dilation_rate)
    layer._hparameters = {"stride": layer.strides, "pad": layer.padding,
                          "dilation": layer.dilation_rate}


def window_output_shape(layer, input_shape, channels: int) -> tuple:
    """``(batch, n_H, n_W, channels)`` for a conv-like layer set up by `window_arguments`."""
    from convnp.ops import padding as geometry

    check_rank(input_shape, 4, type(layer).__name__, "(batch, height, width, channels)")
    try:
        out_hw = geometry.layer_output_hw(input_shape[1:3], layer.kernel_size, layer.strides,
                                          layer.padding, layer.dilation_rate)
    except ValueError as err:
        raise ValueError(f"{type(layer).__name__} '{layer.name}': {err}") from None
    return (input_shape[0], *out_hw, channels)


def window_config(layer) -> dict:
    """The `get_config` entries stored by `window_arguments`."""
    return {
        "kernel_size": layer.kernel_size,
        "strides": layer.strides,
        "padding": layer.padding,
        "data_format": layer.data_format,
        "dilation_rate": layer.dilation_rate,
    }


def check_rank(input_shape, rank: int, layer: str, layout: str) -> None:
    """Refuse an input whose rank is not ``rank`` (``layout`` names the axes, for the message)."""
    if isinstance(input_shape, list):
        raise TypeError(f"{layer} takes a single input {layout}, got a list of "
                        f"{len(input_shape)} inputs")
    if len(input_shape) != rank:
        raise ValueError(f"{layer} expects input of rank {rank} {layout}, "
                         f"got shape {tuple(input_shape)}")


_SIDES = {"depth": "(front, back)", "height": "(top, bottom)", "width": "(left, right)"}


def border_pads(value, axes: tuple[str, ...], layer: str, argument: str
                ) -> tuple[tuple[int, int], ...]:
    """Keras' three forms of the ZeroPadding/Cropping ``padding``/``cropping`` argument over
    the spatial ``axes`` (named from "depth", "height", "width"): an int (every side), one int
    per axis (symmetric), or one ``(before, after)`` pair per axis. Returns the pairs."""
    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))

    count = {2: "pair", 3: "triple"}[len(axes)]
    bad = ValueError(f"{layer}: {argument} must be an int, a {count} (symmetric "
                     f"{', '.join(axes)}) or ({', '.join(_SIDES[a] for a in axes)}) of "
                     f"non-negative ints, got {value!r}")
    if is_int(value):
        pads = ((value, value),) * len(axes)
    elif isinstance(value, (tuple, list)) and len(value) == len(axes):
        if all(is_int(p) for p in value):
            pads = tuple((p, p) for p in value)
        elif all(isinstance(p, (tuple, list)) and len(p) == 2 and all(is_int(v) for v in p)
                 for p in value):
            pads = tuple(tuple(p) for p in value)
        else:
            raise bad
    else:
        raise bad
    if min(min(p) for p in pads) < 0:
        raise bad
    return tuple(tuple(int(v) for v in p) for p in pads)


def cropped_shape(layer, input_shape) -> tuple:
    """``input_shape`` (rank already checked) with each spatial axis shortened by
    ``layer.cropping``; refuses a cropping that leaves nothing of an axis."""
    out = []
    for n, (before, after) in zip(input_shape[1:-1], layer.cropping):
        if n is not None and n - before - after < 1:
            raise ValueError(f"{type(layer).__name__} '{layer.name}': cropping "
                             f"{layer.cropping} leaves nothing of an input of shape "
                             f"{tuple(input_shape)}")
        out.append(None if n is None else n - before - after)
    return (input_shape[0], *out, input_shape[-1])


def known_dim(input_shape, axis: int, layer: str, what: str) -> int:
    """The size of ``axis``, which must be known to create weights."""
    dim = input_shape[axis]
    if dim is None:
        raise ValueError(f"{layer}: the {what} dimension (axis {axis}) of the input must be "
                         f"known to build the layer, got shape {tuple(input_shape)}")
    return int(dim)


def as_dtype(x, dtype: np.dtype) -> np.ndarray:
    """``x`` as an array of ``dtype``; no copy when it already is one."""
    x = np.asarray(x)
    if x.dtype != dtype:
        x = x.astype(dtype)
    return x


def activation_name(activation):
    """How Keras writes an activation in a config: its string name (None is ``"linear"``); a
    user's function as `convnp.activations.SavedFunction` (itself in memory, its registered
    name in a file)."""
    config = getattr(activation, "config", None)
    if callable(config):
        return config()
    return getattr(activation, "name", None) or "linear"


def initializer_config(identifier, resolved) -> Any:
    """An initializer as a config value: the string it was given by; for an object, its
    snake-case name when it has no settings (``GlorotUniform()`` -> ``"glorot_uniform"``),
    else Keras' ``{"class_name", "config"}`` dict. A plain callable is returned as is (it
    round-trips in memory but cannot be written to a file)."""
    from convnp import initializers
    from convnp.layers.base import snake_case

    if isinstance(identifier, (str, dict)):
        return identifier
    try:
        config = initializers.serialize(resolved)
    except TypeError:
        return identifier
    if not any(v is not None for v in config["config"].values()):
        name = snake_case(config["class_name"])
        try:
            if type(initializers.get(name)) is type(resolved):
                return name
        except ValueError:
            pass
    return config


def activate(activation, z: np.ndarray) -> tuple[np.ndarray, tuple | None]:
    """Apply a layer's fused activation to ``z``, a fresh array the layer owns.

    Returns ``(y, saved)`` where ``saved`` is what `activate_backward` needs. ReLU, the
    common case, is applied in place and only its output is kept: ``z > 0`` is ``y > 0``,
    so one array serves forward and backward instead of two.
    """
    from convnp import activations

    if activation is activations.get("linear"):
        return z, None
    if activation is activations.get("relu"):
        elementwise.relu(z, out=z)
        return z, (z,)
    y = activation.forward(z)
    return y, (z, y)


def activate_backward(activation, dy: np.ndarray, saved: tuple | None) -> np.ndarray:
    """The gradient through `activate`'s activation: ``dL/dz`` from ``dL/dy``."""
    if saved is None:
        return dy
    if len(saved) == 1:
        (y,) = saved
        return elementwise.relu_gradient(dy, y)
    z, y = saved
    return activation.backward(dy, z, y)


def check_feature_dims(layer, input_shape, axes: dict[int, int], rank: int | None = None,
                       min_rank: int | None = None) -> None:
    """Keras' ``InputSpec`` check for a built layer: the rank, and the sizes of the axes its
    weights depend on (e.g. Conv2D's input channels). Other sizes may change between calls,
    as in Keras (a convolution runs on any image size)."""
    cls = type(layer).__name__
    if isinstance(input_shape, list):
        raise TypeError(f"{cls} '{layer.name}' takes a single input, got a list of "
                        f"{len(input_shape)}")
    shape = tuple(input_shape)
    if (rank is not None and len(shape) != rank) or (min_rank is not None
                                                     and len(shape) < min_rank):
        expected = f"rank {rank}" if rank is not None else f"rank >= {min_rank}"
        raise ValueError(f"{cls} '{layer.name}' expects input of {expected}, "
                         f"got shape {shape}")
    for axis, size in axes.items():
        if shape[axis] is not None and shape[axis] != size:
            raise ValueError(f"{cls} '{layer.name}' was built for inputs with {size} "
                             f"features on axis {axis} (input shape {layer.input_shape}), "
                             f"got shape {shape}")


class ActivationAttribute:
    """A layer's ``activation``, always an activation object: assigning a name, a function,
    an `Activation` or None (linear) converts it, as Keras code expects when it writes
    ``model.layers[-1].activation = None`` to get logits."""

    def __set_name__(self, owner, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, layer, owner=None):
        return self if layer is None else layer.__dict__[self.slot]

    def __set__(self, layer, value) -> None:
        from convnp import activations

        layer.__dict__[self.slot] = activations.get(value)


def setup_kernel_layer(layer, activation, use_bias, kernel_initializer, bias_initializer,
                       **unsupported) -> None:
    """The constructor part Conv2D and Dense share: refuse unsupported Keras options (given
    by keyword), resolve the activation and initializers, and start unbuilt."""
    from convnp import activations, constraints, initializers, regularizers

    for key in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
        setattr(layer, key, regularizers.get(unsupported.pop(key, None)))
    for key in ("kernel_constraint", "bias_constraint"):
        setattr(layer, key, constraints.get(unsupported.pop(key, None)))
    not_supported(type(layer).__name__, **unsupported)
    layer.activation = activations.get(activation)
    layer.use_bias = bool(use_bias)
    layer._kernel_initializer = kernel_initializer  # as given, for get_config
    layer._bias_initializer = bias_initializer
    layer.kernel_initializer = initializers.get(kernel_initializer)
    layer.bias_initializer = initializers.get(bias_initializer)
    layer.kernel = None
    layer.bias = None


def setup_kernel_layer_from(layer, arguments: dict, kernel: str = "kernel") -> None:
    """`setup_kernel_layer` from a constructor's ``locals()``: its ``activation``,
    ``use_bias``, ``{kernel}_initializer`` and ``bias_initializer``, and every
    ``*_regularizer``, ``*_constraint`` and ``lora_rank`` argument it declares (refused by
    `setup_kernel_layer` unless supported or neutral). ``{kernel}_regularizer`` and
    ``{kernel}_constraint`` become the layer's ``kernel_regularizer`` and
    ``kernel_constraint`` (a depthwise layer's ``depthwise_*`` are its kernel's)."""
    options = {name: value for name, value in arguments.items()
               if name.endswith(("_regularizer", "_constraint")) or name == "lora_rank"}
    if kernel != "kernel":  # e.g. ``depthwise_regularizer`` is the kernel's regularizer
        for what in ("regularizer", "constraint"):
            options[f"kernel_{what}"] = options.pop(f"{kernel}_{what}", None)
    setup_kernel_layer(layer, arguments["activation"], arguments["use_bias"],
                       arguments[f"{kernel}_initializer"], arguments["bias_initializer"],
                       **options)


def setup_recurrent_weights(layer, kernel_initializer, recurrent_initializer, bias_initializer,
                            kernel_regularizer, recurrent_regularizer, bias_regularizer,
                            kernel_constraint, recurrent_constraint, bias_constraint) -> None:
    """The constructor part the recurrent layers share (LSTM and the others, ConvLSTM): the
    initializers, regularizers and constraints of their kernel, recurrent kernel and bias,
    resolved, and the initializers as given (``layer._initializer_args``, for get_config)."""
    from convnp import constraints, initializers, regularizers

    layer._initializer_args = {"kernel_initializer": kernel_initializer,
                               "recurrent_initializer": recurrent_initializer,
                               "bias_initializer": bias_initializer}
    for name, given in layer._initializer_args.items():
        setattr(layer, name, initializers.get(given))
    for role, regularizer, constraint in (
            ("kernel", kernel_regularizer, kernel_constraint),
            ("recurrent", recurrent_regularizer, recurrent_constraint),
            ("bias", bias_regularizer, bias_constraint)):
        setattr(layer, f"{role}_regularizer", regularizers.get(regularizer))
        setattr(layer, f"{role}_constraint", constraints.get(constraint))


def kernel_layer_config(layer) -> dict:
    """The `get_config` entries Conv2D and Dense share (the inverse of `setup_kernel_layer`)."""
    from convnp import constraints, regularizers

    return {
        "activation": activation_name(layer.activation),
        "use_bias": layer.use_bias,
        "kernel_initializer": initializer_config(layer._kernel_initializer,
                                                 layer.kernel_initializer),
        "bias_initializer": initializer_config(layer._bias_initializer, layer.bias_initializer),
        "kernel_regularizer": regularizers.serialize(layer.kernel_regularizer),
        "bias_regularizer": regularizers.serialize(layer.bias_regularizer),
        "activity_regularizer": regularizers.serialize(layer.activity_regularizer),
        "kernel_constraint": constraints.serialize(layer.kernel_constraint),
        "bias_constraint": constraints.serialize(layer.bias_constraint),
    }


def activated_forward(layer, z_and_cache: tuple, rectified: bool = False) -> np.ndarray:
    """The end of a kernel layer's `call`: apply its fused activation to the op's output
    ``z`` and keep the op's cache with what the activation's derivative needs.
    ``rectified``: the op already applied the layer's ReLU (see `is_relu`)."""
    z, op_cache = z_and_cache
    if rectified:
        layer._cache = (op_cache, (z,))  # what `activate` keeps for a ReLU
        return z
    y, saved = activate(layer.activation, z)
    layer._cache = (op_cache, saved)
    return y


def is_relu(activation) -> bool:
    """Whether ``activation`` is the plain ReLU (which ops can apply in their last pass)."""
    from convnp import activations

    return activation is activations.get("relu")


def activated_backward(layer, dy: np.ndarray, op_backward) -> np.ndarray | None:
    """A kernel layer's `backward`: through the activation, then ``op_backward(dz, op_cache)
    -> (dx, dW, db)``; sets ``kernel.grad`` (and ``bias.grad``) and returns ``dx``."""
    op_cache, saved = layer.take_cache()
    dz = activate_backward(layer.activation, as_dtype(dy, layer.dtype), saved)
    dx, dW, db = op_backward(dz, op_cache)
    layer.kernel.grad = dW
    if layer.bias is not None:
        layer.bias.grad = db.reshape(layer.bias.shape)
    return dx


def add_kernel_and_bias(layer, kernel_shape: tuple) -> None:
    """Create ``layer.kernel`` (and ``layer.bias`` of ``(filters,)`` when ``use_bias``)."""
    layer.kernel = layer.add_weight("kernel", tuple(kernel_shape), layer.kernel_initializer,
                                    constraint=layer.kernel_constraint)
    if layer.use_bias:
        layer.bias = layer.add_weight("bias", (layer.filters,), layer.bias_initializer,
                                      constraint=layer.bias_constraint)


def int_or_ints(value, name: str, layer: str) -> int | list[int]:
    """An axis argument: an int, or a non-empty list of ints (kept as a list, as Keras)."""
    def is_int(v):
        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
    if is_int(value):
        return int(value)
    if isinstance(value, (list, tuple)) and value and all(is_int(a) for a in value):
        return [int(a) for a in value]
    raise TypeError(f"{layer}: {name} must be an int or a list of ints, got {value!r}")


def seeded(layer, seed) -> None:
    """Validate a random layer's ``seed`` and give it ``seed`` and ``_generator`` (its own
    generator when seeded; ``None`` means draw from `convnp.random.generator()`)."""
    if seed is not None and (isinstance(seed, (bool, np.bool_))
                             or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"{type(layer).__name__}: seed must be an int or None, got {seed!r}")
    layer.seed = None if seed is None else int(seed)
    layer._generator = None if seed is None else np.random.default_rng(layer.seed)


def normalized_axes(layer, axis, rank: int) -> tuple[int, ...]:
    """The non-batch axes named by ``axis`` (an int or a list, negative allowed) for inputs
    of ``rank``, sorted; refuses the batch axis and axes out of range."""
    axes = axis if isinstance(axis, list) else [axis]
    for a in axes:
        if not -rank <= a < rank or a % rank == 0:
            raise ValueError(f"{type(layer).__name__} '{layer.name}': axis {a} is not a "
                             f"non-batch axis of inputs of rank {rank}")
    return tuple(sorted({a % rank for a in axes}))


def setup_weight_options(layer, arguments: dict, *weights: str) -> None:
    """Keep a constructor's ``{weight}_regularizer`` and ``{weight}_constraint`` arguments
    (from its ``locals()``), resolved, as the layer's attributes of those names; build gives
    them to `add_weight` through `add_weight_with_options`."""
    from convnp import constraints, regularizers

    for weight in weights:
        setattr(layer, f"{weight}_regularizer",
                regularizers.get(arguments[f"{weight}_regularizer"]))
        setattr(layer, f"{weight}_constraint",
                constraints.get(arguments[f"{weight}_constraint"]))


def add_weight_with_options(layer, name: str, shape, initializer, **kwargs):
    """``layer.add_weight`` with the regularizer and constraint `setup_weight_options` kept
    for the weight ``name`` (its penalty joins ``losses``; its projection follows updates)."""
    return layer.add_weight(name, shape, initializer,
                            regularizer=getattr(layer, f"{name}_regularizer"),
                            constraint=getattr(layer, f"{name}_constraint"), **kwargs)


def weight_options_config(layer, *weights: str) -> dict:
    """The `get_config` entries of `setup_weight_options`, in Keras's order: every
    regularizer, then every constraint."""
    from convnp import constraints, regularizers

    config = {f"{w}_regularizer": regularizers.serialize(getattr(layer, f"{w}_regularizer"))
              for w in weights}
    config.update({f"{w}_constraint": constraints.serialize(getattr(layer, f"{w}_constraint"))
                   for w in weights})
    return config


def center_scale_config(layer) -> dict:
    """The `get_config` entries of a normalization layer with ``beta``/``gamma`` (Keras
    names)."""
    return {
        "center": layer.center, "scale": layer.scale,
        "beta_initializer": initializer_config(layer._beta_initializer, layer.beta_initializer),
        "gamma_initializer": initializer_config(layer._gamma_initializer,
                                                layer.gamma_initializer),
        **weight_options_config(layer, "beta", "gamma"),
    }


def setup_center_scale(layer, epsilon, center, scale, beta_initializer,
                       gamma_initializer, arguments: dict) -> None:
    """The constructor part of normalization layers with ``beta``/``gamma``: validate
    ``epsilon``, store the flags, initializers (as given, for `center_scale_config`),
    regularizers and constraints (from ``arguments``, the constructor's ``locals()``), and
    start unbuilt."""
    from convnp import initializers

    setup_weight_options(layer, arguments, "beta", "gamma")
    layer.epsilon = number(epsilon, "epsilon", type(layer).__name__, above=0)
    layer.center, layer.scale = bool(center), bool(scale)
    layer._beta_initializer, layer._gamma_initializer = beta_initializer, gamma_initializer
    layer.beta_initializer = initializers.get(beta_initializer)
    layer.gamma_initializer = initializers.get(gamma_initializer)
    layer.gamma = layer.beta = None


def per_axes_weight_shape(layer, input_shape) -> tuple[int, ...]:
    """The shape of a weight with one value per index of ``layer._axes(rank)`` (the axes
    LayerNormalization and RMSNormalization normalize over); those sizes must be known.
    Refuses a list of inputs."""
    cls = type(layer).__name__
    if isinstance(input_shape, list):
        raise TypeError(f"{cls} takes a single input, got a list of {len(input_shape)}")
    return tuple(known_dim(input_shape, a, cls, "normalized")
                 for a in layer._axes(len(input_shape)))


def along_axes(weight: np.ndarray, ndim: int, axes: tuple[int, ...]) -> np.ndarray:
    """``weight`` (one value per index of ``axes``) reshaped to broadcast against a rank
    ``ndim`` array."""
    shape = [1] * ndim
    for a, d in zip(axes, weight.shape):
        shape[a] = d
    return weight.reshape(shape)
