"""What the course's graders do with a model, restated for the tests (not the course's code).

The course's ``test_utils`` compiles the student's model, lists for every layer its class name,
``output_shape`` (the Keras 2 attribute) and parameter count, plus a few attributes per layer
type, and compares that list entry by entry with the instructor's.
"""

from __future__ import annotations

import convnp as tf

tfl = tf.keras.layers


def describe(model) -> list[list]:
    """One row per layer, as the course's ``summary(model)`` builds it."""
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    rows = []
    for layer in model.layers:
        row = [type(layer).__name__, layer.output_shape, layer.count_params()]
        if type(layer) is tfl.Conv2D:
            row += [layer.padding, layer.activation.__name__,
                    type(layer.kernel_initializer).__name__]
        elif type(layer) is tfl.MaxPooling2D:
            row += [layer.pool_size, layer.strides, layer.padding]
        elif type(layer) is tfl.Dropout:
            row.append(layer.rate)
        elif type(layer) is tfl.ZeroPadding2D:
            row.append(layer.padding)
        elif type(layer) is tfl.Dense:
            row.append(layer.activation.__name__)
        rows.append(row)
    return rows


def compare(got: list[list], expected: list[list]) -> None:
    """Entry by entry, as tuples (the course's ``comparator``), with the row in the message."""
    assert len(got) == len(expected), f"{len(got)} layers, expected {len(expected)}"
    for i, (a, b) in enumerate(zip(got, expected)):
        assert tuple(a) == tuple(b), f"layer {i}: {a} != expected {b}"
