"""``tf.Module`` as TensorFlow's DeepDream tutorial uses it (a Module whose ``__call__`` is a
``tf.function`` with an input signature), checked against TensorFlow 2.21's behaviour
(written in as values and types)."""

import numpy as np
import pytest

import convnp as tf


class Inner(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.w = tf.Variable(tf.ones((2,)))


class Holder(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.z = tf.Variable(3.0)
        self.b = tf.Variable(tf.zeros((3,)), trainable=False)
        self.a = [tf.Variable(1.0), {"k": tf.Variable(2.0)}]
        self.inner = Inner()
        self.inners = [Inner(name="second")]
        self.dense = tf.keras.layers.Dense(2)
        self.dense.build((None, 3))
        self.same = self.z

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def __call__(self, x):
        return x * self.z


def _values(variables):
    return [v.numpy().tolist() for v in variables]


def test_module_finds_variables_in_attribute_order():
    # TF 2.21: attributes by name (into lists and dicts), each variable once, then the held
    # Modules'; a Keras layer is not a Module, so its weights are not listed
    m = Holder()
    assert m.name == "holder" and m.name_scope.name == "holder/"
    assert isinstance(m.variables, tuple)
    assert _values(m.variables) == [1.0, 2.0, [0.0, 0.0, 0.0], 3.0, [1.0, 1.0], [1.0, 1.0]]
    assert _values(m.trainable_variables) == [1.0, 2.0, 3.0, [1.0, 1.0], [1.0, 1.0]]
    assert _values(m.non_trainable_variables) == [[0.0, 0.0, 0.0]]
    assert [s.name for s in m.submodules] == ["inner", "second"]
    assert isinstance(m, tf.Module)
    assert not isinstance(tf.keras.layers.Dense(2), tf.Module)


def test_module_call_and_gradients():
    m = Holder()
    assert m(tf.constant([1.0, 2.0])).numpy().tolist() == [3.0, 6.0]
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(m(tf.constant([1.0, 2.0])))
    grads = tape.gradient(y, m.trainable_variables)
    assert [None if g is None else float(g) for g in grads] == [None, None, 3.0, None, None]


def test_module_names():
    # TF 2.21: the class name in snake case; a name that is no identifier is a ValueError,
    # a name that is no string a TypeError
    class HTTPServerModule(tf.Module):
        pass

    class Conv2D(tf.Module):  # a digit before a capital starts a word (not Keras's conv2d)
        pass

    assert HTTPServerModule().name == "http_server_module"
    assert Conv2D().name == "conv2_d"
    assert tf.Module().name == "module" and tf.Module(name="abc").name == "abc"
    with pytest.raises(ValueError):
        tf.Module(name="bad name")
    with pytest.raises(ValueError):
        tf.Module(name="1x")
    with pytest.raises(TypeError):
        tf.Module(name=3)


def test_module_without_super_init_still_finds_variables():
    # the DeepDream tutorial's Modules skip super().__init__(); TF 2.21 still lists the
    # variables (and has no name)
    class NoSuper(tf.Module):
        def __init__(self, model):
            self.model = model
            self.v = tf.Variable(1.0)

    m = NoSuper(None)
    assert len(m.variables) == 1
    with pytest.raises(AttributeError):
        _ = m.name


def test_with_name_scope():
    class Scoped(tf.Module):
        @tf.Module.with_name_scope
        def __call__(self, x):
            return x + 1

    assert float(Scoped()(tf.constant(1.0))) == 2.0


def test_signature_fills_in_default_arguments():
    # TiledGradients: three specs, called with two arguments; TF 2.21 takes tile_size's
    # default and converts it to the spec's int32
    class Tiled(tf.Module):
        @tf.function(input_signature=(tf.TensorSpec(shape=[None, None, 3], dtype=tf.float32),
                                      tf.TensorSpec(shape=[2], dtype=tf.int32),
                                      tf.TensorSpec(shape=[], dtype=tf.int32)))
        def __call__(self, img, img_size, tile_size=512):
            return tile_size

    img = tf.constant(np.zeros((4, 5, 3), np.float32))
    out = Tiled()(img, tf.shape(img)[:-1])
    assert int(out) == 512 and out.dtype == tf.int32
    assert int(Tiled()(img, tf.shape(img)[:-1], tf.constant(7))) == 7
    with pytest.raises(TypeError):  # TF 2.21: still too few when nothing has a default
        Tiled()(img)
