"""`EinsumDense`: Keras 3's dense layer described by an einsum equation (the projections of
`MultiHeadAttention` are four of them; keras.io programs use it directly, e.g.
``EinsumDense("abc,cd->abd", output_shape=(None, 64), bias_axes="d")``).

``y = activation(einsum(equation, x, kernel) + bias)``. The equation has one of Keras's three
forms: ``"ab,bc->ac"`` (every input axis named), ``"...b,bc->...c"`` (leading axes left to
the ellipsis) or ``"ab...,bc->ac..."`` (trailing ones). The kernel's shape comes from the
letters it shares with the input (their sizes) and with the output (``output_shape``); the
bias covers the output axes from the first letter of ``bias_axes`` on, with size 1 on the
axes between that are not in ``bias_axes`` (Keras's broadcast layout).

The call is written in tensor ops, so the tape differentiates it (`convnp.layers.taped`).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from convnp import activations, initializers
from convnp.layers import _utils, taped
from convnp.layers.base import Layer
from convnp.layers.registry import register

_LETTERS = "[a-zA-Z]+"


def _parse(equation: str, cls: str) -> tuple[str, str, str, str]:
    """``(input_spec, kernel_spec, output_spec, where)``: ``where`` tells where the input's
    unnamed axes are: ``""`` (none), ``"left"`` or ``"right"``."""
    if not isinstance(equation, str):
        raise TypeError(f"{cls}: equation must be a string, got {equation!r}")
    eq = equation.replace(" ", "")
    forms = ((rf"({_LETTERS}),({_LETTERS})->({_LETTERS})", ""),
             (rf"\.\.\.({_LETTERS}),({_LETTERS})->\.\.\.({_LETTERS})", "left"),
             (rf"([a-zA-Z]{{2,}})\.\.\.,({_LETTERS})->({_LETTERS})\.\.\.", "right"))
    for pattern, where in forms:
        match = re.fullmatch(pattern, eq)
        if match:
            return (*match.groups(), where)
    raise ValueError(f"{cls}: invalid einsum equation {equation!r}; expected the form "
                     "'ab,bc->ac', '...b,bc->...c' or 'ab...,bc->ac...'")


def analyze(equation: str, bias_axes: str | None, input_shape, output_shape,
            cls: str = "EinsumDense") -> dict[str, Any]:
    """The shapes an `EinsumDense` of ``equation`` has on inputs of ``input_shape`` (batch
    axis included): ``kernel`` and ``bias`` (None without ``bias_axes``) shapes, the full
    ``output`` shape, and the kernel's ``input_axes`` / ``output_axes`` (its fans).

    Raises:
        ValueError: the equation, ``output_shape`` or ``bias_axes`` do not fit the input.
    """
    x_spec, k_spec, y_spec, where = _parse(equation, cls)
    input_shape = tuple(input_shape)
    free = len(input_shape) - len(x_spec)  # the axes the ellipsis stands for
    if free < 0 or (free and not where):
        raise ValueError(f"{cls}: equation {equation!r} names {len(x_spec)} input axes, the "
                         f"input has shape {input_shape}")
    if where == "left" and free < 1:
        raise ValueError(f"{cls}: the '...' of {equation!r} must stand for the batch axis at "
                         f"least; the input has shape {input_shape}")
    partial = list(output_shape)
    # the letters of the output are given by output_shape, except the first when it is the
    # batch axis (no leading ellipsis)
    named = len(y_spec) if where == "left" else len(y_spec) - 1
    if len(partial) != named:
        raise ValueError(f"{cls}: output_shape {tuple(output_shape)} must give {named} "
                         f"sizes for the output axes '{y_spec}' of {equation!r}")
    if where == "left":  # the batch and free axes first
        full = [*input_shape[:free], *partial]
        offset = free
    else:  # the batch axis first, the free axes last
        full = [input_shape[0], *partial, *input_shape[len(input_shape) - free:]]
        offset = 0
    in_size = {c: input_shape[(i + free - len(input_shape)) if where == "left" else i]
               for i, c in enumerate(x_spec)}
    out_pos = {c: i + offset for i, c in enumerate(y_spec)}
    for c, size in in_size.items():
        given = full[out_pos[c]] if c in out_pos else None
        if c in out_pos and given is not None and size is not None and given != size:
            raise ValueError(f"{cls}: axis '{c}' has size {size} in the input but "
                             f"{given} in output_shape")
        if c in out_pos:
            full[out_pos[c]] = size if size is not None else given
    for c in y_spec:
        if c not in x_spec and c not in k_spec:
            raise ValueError(f"{cls}: output axis '{c}' of {equation!r} is in neither the "
                             "input nor the kernel")
    kernel, input_axes, output_axes = [], [], []
    for i, c in enumerate(k_spec):
        if c in out_pos:
            kernel.append(full[out_pos[c]])
            output_axes.append(i)
        elif c in in_size:
            kernel.append(in_size[c])
            input_axes.append(i)
        else:
            raise ValueError(f"{cls}: kernel axis '{c}' of {equation!r} is in neither the "
                             "input nor the output")
        if kernel[-1] is None:
            raise ValueError(f"{cls}: the size of kernel axis '{c}' is unknown (input shape "
                             f"{input_shape}, output_shape {tuple(output_shape)})")
    bias = None
    if bias_axes is not None:
        if not isinstance(bias_axes, str):
            raise TypeError(f"{cls}: bias_axes must be a string of output letters, got "
                            f"{bias_axes!r}")
        for c in bias_axes:
            if c not in y_spec:
                raise ValueError(f"{cls}: bias axis '{c}' is not an output axis of "
                                 f"'{y_spec}'")
        first = min(y_spec.index(c) for c in bias_axes)
        bias = [full[out_pos[c]] if c in bias_axes else 1 for c in y_spec[first:]]
        if where == "right":
            bias += [1] * free
        if any(b is None for b in bias):
            raise ValueError(f"{cls}: the bias over '{bias_axes}' has an axis of unknown "
                             f"size (output shape {tuple(full)})")
    return {"kernel": tuple(kernel), "bias": None if bias is None else tuple(bias),
            "output": tuple(full), "input_axes": input_axes, "output_axes": output_axes}


@register
class EinsumDense(Layer):
    """Keras 3's ``EinsumDense``.

    Args:
        equation: the einsum of the input and the kernel (``"ab,bc->ac"``,
            ``"...b,bc->...c"`` or ``"ab...,bc->ac..."``).
        output_shape: the output's sizes after the batch axis, without the axes the
            ellipsis stands for (an int for one axis; ``None`` where the input decides).
        activation: applied last (``None``: linear).
        bias_axes: the output letters the bias varies along (``None``: no bias).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
            activity_regularizer, kernel_constraint, bias_constraint: as `Dense`'s. A
            variance-scaling initializer (the default Glorot uniform) counts its fans on the
            kernel's input and output axes, as Keras 3.15 does.
        lora_rank, lora_alpha: Keras's low-rank adaptation; only ``None`` is supported.

    Weights: ``kernel`` and ``bias`` (see the module docstring for their shapes).

    >>> import numpy as np
    >>> layer = EinsumDense("abc,cd->abd", output_shape=(None, 4), bias_axes="d")
    >>> tuple(layer(np.ones((2, 3, 5), dtype="float32")).shape)
    (2, 3, 4)
    """

    _autodiff = True  # its ops are recorded on a caller's tape
    activation = _utils.ActivationAttribute()

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None,
                 lora_alpha=None, gptq_unpacked_column_size=None, quantization_config=None,
                 **kwargs):
        cls = type(self).__name__
        _utils.not_supported(cls, lora_alpha=lora_alpha,
                             gptq_unpacked_column_size=gptq_unpacked_column_size,
                             quantization_config=quantization_config)
        super().__init__(**kwargs)
        _parse(equation, cls)
        self.equation = equation
        if isinstance(output_shape, (int, np.integer)) and not isinstance(output_shape, bool):
            output_shape = (int(output_shape),)
        try:
            output_shape = tuple(output_shape)
        except TypeError:
            raise TypeError(f"{cls}: output_shape must be an int or a tuple of ints and "
                            f"None, got {output_shape!r}") from None
        for size in output_shape:
            if size is not None and (isinstance(size, bool) or not isinstance(
                    size, (int, np.integer)) or size < 1):
                raise ValueError(f"{cls}: output_shape entries must be positive ints or "
                                 f"None, got {output_shape!r}")
        self.partial_output_shape = tuple(None if s is None else int(s) for s in output_shape)
        if bias_axes is not None and not isinstance(bias_axes, str):
            raise TypeError(f"{cls}: bias_axes must be a string of output letters or None, "
                            f"got {bias_axes!r}")
        self.bias_axes = bias_axes
        _utils.setup_kernel_layer(self, activation, bias_axes is not None, kernel_initializer,
                                  bias_initializer, kernel_regularizer=kernel_regularizer,
                                  bias_regularizer=bias_regularizer,
                                  activity_regularizer=activity_regularizer,
                                  kernel_constraint=kernel_constraint,
                                  bias_constraint=bias_constraint, lora_rank=lora_rank)

    def build(self, input_shape) -> None:
        cls = type(self).__name__
        if isinstance(input_shape, list):
            raise TypeError(f"{cls} takes a single input, got a list of {len(input_shape)}")
        shapes = analyze(self.equation, self.bias_axes, input_shape,
                         self.partial_output_shape, cls)
        init = self.kernel_initializer
        if isinstance(init, initializers.VarianceScaling) and init.input_axes is None:
            init = init.with_axes(shapes["input_axes"], shapes["output_axes"])
        self.kernel = self.add_weight("kernel", shapes["kernel"], init,
                                      constraint=self.kernel_constraint)
        if shapes["bias"] is not None:
            self.bias = self.add_weight("bias", shapes["bias"], self.bias_initializer,
                                        constraint=self.bias_constraint)
        self._input_rank = len(input_shape)
        self.built = True

    def check_input_shape(self, input_shape) -> None:
        _utils.check_feature_dims(self, input_shape, {}, rank=self._input_rank)
        kernel = analyze(self.equation, self.bias_axes, input_shape, self.partial_output_shape,
                         type(self).__name__)["kernel"]
        if kernel != tuple(self.kernel.shape):
            raise ValueError(f"{type(self).__name__} '{self.name}' was built with a kernel of "
                             f"shape {tuple(self.kernel.shape)}; an input of shape "
                             f"{tuple(input_shape)} needs {kernel}")

    def compute_output_shape(self, input_shape):
        return analyze(self.equation, self.bias_axes, input_shape, self.partial_output_shape,
                       type(self).__name__)["output"]

    def apply(self, x):
        """The layer's arithmetic in tensor ops (`MultiHeadAttention` runs its projections
        with it, inside its own recorded call)."""
        from convnp.tensor.ops import einsum

        y = einsum(self.equation, x, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        if self.activation is not activations.get("linear"):
            y = self.activation(y)
        return y

    def call(self, inputs, training: bool = False):
        return taped.run_taped(self, self.apply, inputs)

    backward = taped.taped_backward

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"output_shape": list(self.partial_output_shape),
                       "equation": self.equation, "bias_axes": self.bias_axes})
        config.update(_utils.kernel_layer_config(self))
        del config["use_bias"]
        config["quantization_config"] = None
        return config
