"""`model.summary()` of keras.io's attention-pooling convnets (PatchConvNet's last layer
returns the logits and the attention map; models output an intermediate tensor too).

Keras prints the "Connected to" column unless the graph is "sequential-like": one call at
each depth (the longest path to an output), each reading one tensor, no layer called twice.
The expected tables are TensorFlow 2.21's for the same models (run side by side).
"""

import pytest

import convnp as tf

keras = tf.keras
layers = keras.layers


class TwoOutputs(layers.Layer):
    """A user's layer returning two tensors, as PatchConvNet's attention pooling does."""

    def call(self, x):
        return x * 2.0, x + 1.0


def _table(model) -> str:
    lines = []
    model.summary(print_fn=lambda line, **kwargs: lines.append(line))
    return "\n".join(lines)


def _intermediate_output():
    inputs = keras.Input((4,))
    hidden = layers.Dense(3)(inputs)
    return inputs, [hidden, layers.Dense(2)(hidden)]


def _two_outputs_of_one_call():
    inputs = keras.Input((4,))
    return inputs, list(TwoOutputs()(inputs))


def _two_outputs_then_dense():
    inputs = keras.Input((4,))
    first, second = TwoOutputs()(inputs)
    return inputs, [layers.Dense(2)(first), second]


def _input_as_output():
    inputs = keras.Input((4,))
    return inputs, [layers.Dense(3)(inputs), inputs]


def _one_layer_twice():
    inputs = keras.Input((4,))
    dense = layers.Dense(4)
    return inputs, dense(dense(inputs))


def _two_branches():
    inputs = keras.Input((4,))
    hidden = layers.Dense(3)(inputs)
    return inputs, [layers.Dense(2)(hidden), layers.Dense(2)(hidden)]


@pytest.mark.parametrize("build, connected", [
    # TF 2.21: sequential-like, no "Connected to" column
    (_intermediate_output, False),
    (_two_outputs_of_one_call, False),
    (_two_outputs_then_dense, False),
    (_input_as_output, False),
    # TF 2.21: "Connected to" (two calls of one layer; two calls at one depth)
    (_one_layer_twice, True),
    (_two_branches, True),
])
def test_connected_to_column_follows_kerass_depth_rule(build, connected):
    keras.backend.clear_session()
    inputs, outputs = build()
    table = _table(keras.Model(inputs, outputs))
    assert ("Connected to" in table) is connected


def test_attention_pooling_model_prints_three_columns():
    keras.backend.clear_session()
    inputs = keras.Input((2, 2, 8))
    x = layers.Conv2D(8, 1)(inputs)
    x = layers.Reshape((-1, 8))(x)
    logits, scores = TwoOutputs(name="attention_pooling")(x)
    table = _table(keras.Model(inputs, [logits, scores]))
    # TF 2.21's rows for the two-output layer, in the 88-column table
    assert ("│ attention_pooling (TwoOutputs)  │ [(None, 4, 8), (None,  │             0 │\n"
            "│                                 │ 4, 8)]                 │               │") in table
    assert "Connected to" not in table
