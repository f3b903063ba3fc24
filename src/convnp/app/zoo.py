"""The course's two Week-1 models, built with `convnp.keras` exactly as the notebooks build them.

* `happy_model`: the Happy House binary classifier (Sequential API),
  ``ZEROPAD2D -> CONV2D -> BATCHNORM -> RELU -> MAXPOOL -> FLATTEN -> DENSE``, 37,633 parameters
  for 64x64x3 inputs; compiled with adam / binary_crossentropy / accuracy.
* `signs_model`: the SIGNS 6-class classifier (functional API),
  ``CONV2D -> RELU -> MAXPOOL -> CONV2D -> RELU -> MAXPOOL -> FLATTEN -> DENSE``, 1,310 parameters
  for 64x64x3 inputs and 6 classes; compiled with adam / categorical_crossentropy / accuracy.

``build(name)`` returns either, compiled, by name (``"happy"`` or ``"signs"``); the ``convnp``
command uses it.
"""

from __future__ import annotations

from collections.abc import Sequence

from convnp import keras
from convnp.models import Model

__all__ = ["MODELS", "build", "happy_model", "signs_model"]

tfl = keras.layers

#: names accepted by `build`, with a one-line description each
MODELS: dict[str, str] = {
    "happy": "Happy House binary classifier (Sequential, 37,633 params): smiling or not",
    "signs": "SIGNS 6-class classifier (functional, 1,310 params): hand signs 0-5",
}


def _shape(input_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                                  for d in shape):
        raise ValueError(f"input_shape must be three positive ints (height, width, channels), "
                         f"got {input_shape!r}")
    return shape  # type: ignore[return-value]


def happy_model(input_shape: Sequence[int] = (64, 64, 3)) -> Model:
    """The course's ``happyModel()``: a Sequential binary classifier (not compiled).

    Args:
        input_shape: shape of one image ``(n_H, n_W, n_C)``.

    Returns:
        ``ZeroPadding2D(3) -> Conv2D(32, 7) -> BatchNormalization(axis=3) -> ReLU ->
        MaxPool2D() -> Flatten -> Dense(1, sigmoid)``.

    Raises:
        ValueError: ``input_shape`` is not three positive ints.
    """
    return keras.Sequential([
        tfl.ZeroPadding2D(padding=3, input_shape=_shape(input_shape)),
        tfl.Conv2D(filters=32, kernel_size=7, strides=1),
        tfl.BatchNormalization(axis=3),
        tfl.ReLU(),
        tfl.MaxPool2D(),
        tfl.Flatten(),
        tfl.Dense(units=1, activation="sigmoid"),
    ])


def signs_model(input_shape: Sequence[int] = (64, 64, 3), classes: int = 6) -> Model:
    """The course's ``convolutional_model(input_shape)``: a functional classifier (not compiled).

    Args:
        input_shape: shape of one image ``(n_H, n_W, n_C)``.
        classes: number of output classes (softmax units); the course uses 6.

    Returns:
        ``Conv2D(8, 4, same) -> ReLU -> MaxPool2D(8, 8, same) -> Conv2D(16, 2, same) -> ReLU ->
        MaxPool2D(4, 4, same) -> Flatten -> Dense(classes, softmax)``.

    Raises:
        ValueError: bad ``input_shape`` or ``classes`` < 2.
    """
    if isinstance(classes, bool) or not isinstance(classes, int) or classes < 2:
        raise ValueError(f"classes must be an int >= 2, got {classes!r}")
    input_img = keras.Input(shape=_shape(input_shape))
    z1 = tfl.Conv2D(filters=8, kernel_size=4, strides=1, padding="same")(input_img)
    a1 = tfl.ReLU()(z1)
    p1 = tfl.MaxPool2D(pool_size=(8, 8), strides=8, padding="same")(a1)
    z2 = tfl.Conv2D(filters=16, kernel_size=2, strides=1, padding="same")(p1)
    a2 = tfl.ReLU()(z2)
    p2 = tfl.MaxPool2D(pool_size=(4, 4), strides=4, padding="same")(a2)
    f = tfl.Flatten()(p2)
    outputs = tfl.Dense(units=classes, activation="softmax")(f)
    return keras.Model(inputs=input_img, outputs=outputs)


def build(name: str, input_shape: Sequence[int] = (64, 64, 3), classes: int = 6,
          compile: bool = True) -> Model:
    """One of the spec models by name, compiled as the course compiles it.

    Args:
        name: ``"happy"`` or ``"signs"`` (case-insensitive).
        input_shape: shape of one image.
        classes: output classes of the signs model (ignored for happy, which is binary).
        compile: compile with ``adam`` and the course's loss and ``["accuracy"]``.

    Raises:
        ValueError: unknown name (the message lists the known ones) or bad shapes.
    """
    key = name.strip().lower() if isinstance(name, str) else name
    if key == "happy":
        model = happy_model(input_shape)
        loss = "binary_crossentropy"
    elif key == "signs":
        model = signs_model(input_shape, classes)
        loss = "categorical_crossentropy"
    else:
        raise ValueError(f"unknown model {name!r}; expected one of {sorted(MODELS)}")
    if compile:
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model
