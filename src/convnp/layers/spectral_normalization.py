"""`SpectralNormalization`: a wrapper that keeps the largest singular value of a layer's kernel
at 1 (SN-GAN discriminators: ``SpectralNormalization(Conv2D(64, 4, strides=2))``).

Keras 3's rule, followed here: on each *training* call the wrapped layer's kernel is replaced
by itself divided by an estimate of its spectral norm ``sigma``, found by power iterations on
the kernel reshaped to ``(-1, filters)`` from a vector ``u`` the wrapper keeps (a
non-trainable weight, updated by the call). The wrapped layer then runs as usual, so its own
``call``/``backward`` give the output and the kernel's gradient; the optimizer updates the
normalized kernel, and the next training call normalizes it again. Inference calls use the
kernel as it is.
"""

from __future__ import annotations

import numpy as np

from convnp import _settings, initializers
from convnp.layers.registry import register
from convnp.layers.wrapper import Wrapper


def _unit(x: np.ndarray) -> np.ndarray:
    """``x`` scaled to unit L2 norm over all its entries (by at most ``1 / epsilon``, as
    Keras's ``ops.normalize``; epsilon is ``tf.keras.config.epsilon()``)."""
    square_sum = np.sum(np.square(x, dtype=np.float64))
    most = 1.0 / _settings.epsilon()
    scale = min(1.0 / np.sqrt(square_sum) if square_sum > 0 else np.inf, most)
    return (x * x.dtype.type(scale)).astype(x.dtype, copy=False)


@register
class SpectralNormalization(Wrapper):
    """The wrapped layer with its kernel divided by its spectral norm in training calls.

    Args:
        layer: a `Layer` instance with a ``kernel`` (Conv2D, Dense, Conv2DTranspose...).
        power_iterations: power-iteration steps per training call (>= 1).

    Weights (Keras's order): the wrapped kernel, ``vector_u`` (non-trainable, shape
    ``(1, kernel.shape[-1])``), then the wrapped layer's other weights.
    """

    config_keys = ("power_iterations",)

    def __init__(self, layer, power_iterations: int = 1, **kwargs):
        if isinstance(power_iterations, bool) or not isinstance(
                power_iterations, (int, np.integer)) or power_iterations <= 0:
            raise ValueError(f"`power_iterations` should be greater than zero. Received: "
                             f"`power_iterations={power_iterations!r}`")
        super().__init__(layer, **kwargs)
        self.power_iterations = int(power_iterations)
        self.kernel = None  # the wrapped layer's kernel Variable, once built

    def build(self, input_shape) -> None:
        self.layer.ensure_built(input_shape)
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None or not hasattr(kernel, "value"):
            raise ValueError(f"{type(self.layer).__name__} object has no attribute 'kernel' "
                             "to normalize")
        self.kernel = kernel
        self.vector_u = self.add_weight(
            name="vector_u", shape=(1, kernel.value.shape[-1]), trainable=False,
            initializer=initializers.TruncatedNormal(stddev=0.02))
        self.built = True

    # Keras lists the kernel as the wrapper's own weight (before vector_u), then the rest
    def _own(self) -> list:
        return [self.kernel, self.vector_u] if self.kernel is not None else []

    def keras_own_variables(self) -> list:
        """What Keras stores as this wrapper's variables (the layer's go in ``layer``)."""
        return self._own()

    @property
    def weights(self) -> list:
        own = self._own()
        return own + [v for v in self.layer.weights if all(v is not o for o in own)]

    @property
    def trainable_weights(self) -> list:
        return self.layer.trainable_weights if self.trainable else []

    @property
    def non_trainable_weights(self) -> list:
        if not self.trainable:
            return self.weights
        return [self.vector_u, *self.layer.non_trainable_weights] if self.built else []

    def check_input_shape(self, input_shape) -> None:
        self.layer.check_input_shape(input_shape)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def normalized_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """``(new vector_u, kernel / sigma)`` by `power_iterations` power-iteration steps."""
        kernel = self.kernel.value
        w = kernel.reshape(-1, kernel.shape[-1])
        u = self.vector_u.value
        for _ in range(self.power_iterations):
            v = _unit(u @ w.T)
            u = _unit(v @ w)
        sigma = (v @ w) @ u.T  # (1, 1): the estimate of the largest singular value
        return u, (kernel / sigma[0, 0]).astype(kernel.dtype, copy=False)

    def call(self, inputs, training: bool = False):
        if training and np.any(self.kernel.value != 0):  # Keras leaves a zero kernel alone
            u, kernel = self.normalized_weights()
            self.vector_u.assign(u)
            self.kernel.assign(kernel)
        out = self.layer.call(inputs, training=training)
        self._cache = self.layer.capture_call_state()
        return out

    def backward(self, dy):
        self.layer.restore_call_state(self.take_cache())
        self.layer.needs_input_gradient = self.needs_input_gradient
        return self.layer.backward(dy)
