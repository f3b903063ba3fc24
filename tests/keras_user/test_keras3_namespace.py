"""Names TensorFlow 2.21's ``tf.keras`` has that Keras 3 code uses: the top-level base classes
(``class Block(keras.Layer)``), ``keras.tree``, the short loss names under ``keras.metrics``,
``keras.mixed_precision.dtype_policy`` and the ``ThresholdedReLU`` layer. Expected results
are TensorFlow 2.21's, read off the same calls there."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import convnp as tf

K = tf.keras


def test_top_level_names_are_the_classes_of_the_submodules():
    assert K.Layer is K.layers.Layer and K.Loss is K.losses.Loss
    assert K.Metric is K.metrics.Metric and K.Optimizer is K.optimizers.Optimizer
    assert K.Initializer is K.initializers.Initializer
    assert K.Regularizer is K.regularizers.Regularizer and K.InputSpec is K.layers.InputSpec
    # keras.Variable is Keras 3's constructor (initializer, shape, dtype, ...), its own
    # class as in TF 2.21 (test_parity_blocks_variables.py)
    assert float(K.Variable(1.0).numpy()) == 1.0 and isinstance(K.Input((3,)), K.KerasTensor)
    assert K.version() == K.__version__
    with K.name_scope("block"):
        pass


def test_a_keras3_style_custom_layer_loss_and_metric_train():
    class Scale(K.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")

        def call(self, x):
            return x * self.w

    class Squared(K.Loss):
        def call(self, y_true, y_pred):
            return tf.reduce_mean(tf.square(y_true - y_pred), axis=-1)

    class Count(K.Metric):
        def __init__(self, name="count", **kwargs):
            super().__init__(name=name, **kwargs)
            self.n = self.add_weight(name="n", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.n.assign_add(float(np.shape(y_true)[0]))

        def result(self):
            return self.n

    model = K.Sequential([K.Input((3,)), Scale(), K.layers.Dense(1)])
    model.compile(optimizer="sgd", loss=Squared(), metrics=[Count()])
    rng = np.random.default_rng(0)
    history = model.fit(rng.random((8, 3)), rng.random((8, 1)), batch_size=4, epochs=2,
                        verbose=0)
    assert history.history["count"] == [8.0, 8.0]
    assert np.isfinite(history.history["loss"]).all()


def test_metric_module_short_loss_names():
    y, p = np.array([[1.0, 2.0]]), np.array([[1.5, 1.0]])
    assert K.metrics.mae is K.metrics.MAE is K.metrics.mean_absolute_error
    assert float(np.asarray(K.metrics.mse(y, p))[0]) == pytest.approx(0.625)
    assert K.metrics.kld is K.metrics.KLD is K.metrics.kullback_leibler_divergence
    assert K.metrics.logcosh is K.metrics.log_cosh
    for name in ("MAPE", "MSLE", "mape", "msle"):
        assert callable(getattr(K.metrics, name))


def test_mixed_precision_keras3_names():
    assert K.mixed_precision.dtype_policy().name == "float32"
    K.mixed_precision.set_dtype_policy("float32")
    with pytest.raises(ValueError, match="not supported"):
        K.mixed_precision.set_dtype_policy("mixed_float16")
    assert K.FloatDTypePolicy("float32").name == "float32"


S = {"b": [1, (2, 3)], "a": None, "c": {"y": 4, "x": 5}}


def test_tree_flatten_pack_and_map_as_tensorflow():
    T = K.tree
    assert T.flatten(S) == [None, 1, 2, 3, 5, 4]
    assert T.flatten(None) == [None] and len(T.flatten(np.ones(3))) == 1
    assert T.map_structure(lambda v: None if v is None else v * 10, S) == {
        "b": [10, (20, 30)], "a": None, "c": {"y": 40, "x": 50}}
    assert T.map_structure(lambda a, b: a + b, [1, (2,)], [10, (20,)]) == [11, (22,)]
    packed = T.pack_sequence_as(S, list(range(6)))
    assert packed == {"b": [1, (2, 3)], "a": 0, "c": {"y": 5, "x": 4}}
    assert list(packed) == ["b", "a", "c"]  # the structure's own key order
    assert (T.is_nested([1]), T.is_nested(1), T.is_nested({}), T.is_nested(np.ones(2)),
            T.is_nested("ab")) == (True, False, True, False, False)
    point = collections.namedtuple("P", "x y")
    assert T.map_structure(lambda v: v + 1, point(1, 2)) == point(2, 3)
    # an OrderedDict keeps its order in keras.tree (tf.nest sorts its keys)
    ordered = collections.OrderedDict([("b", 1), ("a", 2)])
    assert T.flatten(ordered) == [1, 2] and tf.nest.flatten(ordered) == [2, 1]
    assert T.pack_sequence_as(ordered, [5, 6]) == collections.OrderedDict([("b", 5), ("a", 6)])


def test_tree_mismatches_are_value_errors():
    T = K.tree
    with pytest.raises(ValueError):
        T.map_structure(lambda a, b: a + b, [1, 2], [1])
    with pytest.raises(ValueError):
        T.pack_sequence_as(S, list(range(5)))
    with pytest.raises(ValueError):  # a tuple against a list (tf.nest: TypeError)
        T.assert_same_structure([1, (2, 3)], [4, [5, 6]])
    T.assert_same_structure([1, (2, 3)], [4, (5, 6)])
    with pytest.raises(ValueError, match="same paths"):
        T.assert_same_paths({"a": 1}, {"b": 3})
    T.assert_same_paths({"a": 1, "b": 2}, {"b": 3, "a": 4})


def test_tree_paths_traverse_and_friends():
    T = K.tree
    assert T.flatten_with_path(S) == [(("a",), None), (("b", 0), 1), (("b", 1, 0), 2),
                                      (("b", 1, 1), 3), (("c", "x"), 5), (("c", "y"), 4)]
    assert T.traverse(lambda x: None, [1, (2, 3)]) == [1, (2, 3)]
    assert T.traverse(lambda x: x * 2 if isinstance(x, int) else None, [1, (2, 3)]) == [
        2, (4, 6)]
    assert T.traverse(lambda x: (x,) if isinstance(x, int) else None, [1, (2, 3)],
                      top_down=False) == [(1,), ((2,), (3,))]
    assert T.traverse(lambda x: T.MAP_TO_NONE if x == 2 else None, [1, 2]) == [1, None]
    assert T.lists_to_tuples([1, [2, {"a": [3]}]]) == (1, (2, {"a": (3,)}))
    assert T.map_shape_structure(lambda s: s, [(2, 3), (None,)]) == [(2, 3), (None,)]
    assert T.map_shape_structure(len, {"x": (2, 3), "y": [(4,), (None, 1, 2)]}) == {
        "x": 2, "y": [1, 3]}
    assert T.map_structure_up_to([None, None], lambda a, b: (a, b), [1, (2, 3)], [4, 5]) == [
        (1, 4), ((2, 3), 5)]


def test_thresholded_relu_as_tensorflow():
    layer = K.layers.ThresholdedReLU(theta=0.5)
    y = np.asarray(layer(np.array([-1.0, 0.5, 0.6, 2.0], dtype=np.float32)))
    np.testing.assert_array_equal(y, np.array([0.0, 0.0, 0.6, 2.0], dtype=np.float32))
    assert np.signbit(y[0])  # TF 2.21 gives -0.0 there
    assert layer.get_config()["theta"] == 0.5 and layer.name.startswith("thresholded_re_lu")
    x = tf.Variable(np.array([-1.0, 0.5, 0.6, 2.0], dtype=np.float32))
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(layer(x) * 3)
    np.testing.assert_array_equal(np.asarray(tape.gradient(total, x)), [0, 0, 3, 3])
    assert layer.compute_output_shape((None, 3)) == (None, 3)
    for bad, error in ((-1, ValueError), (None, ValueError), ("a", TypeError)):
        with pytest.raises(error, match="theta"):
            K.layers.ThresholdedReLU(theta=bad)


def test_thresholded_relu_trains_saves_and_loads(tmp_path):
    model = K.Sequential([K.Input((3,)), K.layers.Dense(4), K.layers.ThresholdedReLU(0.1),
                          K.layers.Dense(1)])
    model.compile("adam", "mse")
    rng = np.random.default_rng(1)
    x = rng.random((16, 3), dtype=np.float32)
    model.fit(x, rng.random((16, 1)), verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = K.models.load_model(tmp_path / "m.keras")
    assert loaded.layers[1].theta == 0.1
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
