"""Keras 3's wrapper layers: `SpectralNormalization` against Keras's numbers, and
`TimeDistributed` / `SpectralNormalization` in `.keras` files, where Keras stores the wrapped
layer as a child ``layer`` (tests/fixtures/make_wrappers.py)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

import convnp as tf
from tests.helpers import FIXTURES, load_fixture

keras = tf.keras
layers = keras.layers


def test_spectral_normalization_training_call_matches_keras():
    expected = load_fixture("wrappers_expected.npz")
    sn = layers.SpectralNormalization(layers.Conv2D(3, 2), power_iterations=2)
    sn(expected["sn/x"])
    assert [w.name for w in sn.weights] == ["kernel", "vector_u", "bias"]  # Keras's order
    assert [w.name for w in sn.trainable_weights] == ["kernel", "bias"]
    sn.vector_u.assign(expected["sn/u0"])
    sn.layer.kernel.assign(expected["sn/k0"])
    sn.layer.bias.assign(expected["sn/b0"])
    before = sn(expected["sn/x"]).numpy()  # inference: the kernel as it is
    np.testing.assert_array_equal(sn.layer.kernel.numpy(), expected["sn/k0"])
    out = sn(expected["sn/x"], training=True)
    np.testing.assert_allclose(out.numpy(), expected["sn/y"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sn.vector_u.numpy(), expected["sn/u1"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(sn.layer.kernel.numpy(), expected["sn/k1"], rtol=1e-5,
                               atol=1e-7)
    assert not np.allclose(before, out.numpy())


def test_spectral_norm_of_the_kernel_goes_to_one():
    keras.utils.set_random_seed(0)
    sn = layers.SpectralNormalization(layers.Dense(6), power_iterations=20)
    x = np.random.default_rng(0).random((4, 5)).astype(np.float32)
    sn(x)
    sn.layer.kernel.assign(sn.layer.kernel.numpy() * 7.0)
    sn(x, training=True)
    assert np.linalg.svd(sn.layer.kernel.numpy(), compute_uv=False)[0] == pytest.approx(
        1.0, rel=1e-4)


def test_gradients_reach_the_wrapped_layer_in_fit():
    keras.utils.set_random_seed(1)
    image = keras.Input((6, 6, 2))
    sn = layers.SpectralNormalization(layers.Conv2D(3, 3))
    model = keras.Model(image, layers.GlobalAveragePooling2D()(sn(image)))
    model.compile(keras.optimizers.SGD(0.5), "mse")
    rng = np.random.default_rng(1)
    x, y = rng.random((4, 6, 6, 2)).astype(np.float32), rng.random((4, 3)).astype(np.float32)
    bias = sn.layer.bias.numpy().copy()
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(bias, sn.layer.bias.numpy())  # the wrapped layer trained


def test_keras_written_wrappers_load_and_predict():
    pytest.importorskip("h5py")
    expected = load_fixture("wrappers_expected.npz")
    model = keras.models.load_model(FIXTURES / "wrappers.keras")
    np.testing.assert_allclose(model.predict(expected["x"], verbose=0), expected["pred"],
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("suffix", ["keras", "h5", "convnp"])
def test_wrappers_round_trip_with_keras_layout(suffix, tmp_path):
    h5py = pytest.importorskip("h5py")
    model = keras.models.load_model(FIXTURES / "wrappers.keras")
    path = tmp_path / f"again.{suffix}"
    model.save(path)
    x = load_fixture("wrappers_expected.npz")["x"]
    again = keras.models.load_model(path)
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))
    if suffix == "keras":  # the wrapped layers are children, as Keras stores them
        with zipfile.ZipFile(path) as archive:
            weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
            assert "layers/time_distributed/layer/vars/0" in weights
            assert len(weights["layers/time_distributed/vars"]) == 0
            assert weights["layers/spectral_normalization/vars/1"].shape == (1, 5)
            assert "layers/spectral_normalization/layer/vars/1" in weights


def test_bad_wrapped_layers_are_refused():
    with pytest.raises(ValueError, match="power_iterations"):
        layers.SpectralNormalization(layers.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="Layer instance"):
        layers.SpectralNormalization("dense")
    with pytest.raises(ValueError, match="no attribute 'kernel'"):
        layers.SpectralNormalization(layers.ReLU())(np.ones((1, 3), np.float32))


# -- Pipeline ------------------------------------------------------------------------------------


def test_pipeline_on_data_augments_by_default():
    image = np.arange(2 * 4 * 4 * 1, dtype=np.float32).reshape(2, 4, 4, 1)
    pipe = layers.Pipeline([layers.Rescaling(2.0), layers.RandomFlip("horizontal", seed=3)])
    flipped = [np.array_equal(pipe(image).numpy(), 2 * image[:, :, ::-1]) for _ in range(8)]
    assert any(flipped)  # training=True unless told otherwise, as Keras's Pipeline
    np.testing.assert_array_equal(pipe(image, training=False).numpy(), 2 * image)
    # a Dataset.map gives it one image at a time
    ds = tf.data.Dataset.from_tensor_slices(image).map(pipe).batch(2)
    assert [b.shape for b in ds] == [(2, 4, 4, 1)]
    assert [type(layer).__name__ for layer in pipe.layers] == ["Rescaling", "RandomFlip"]


def test_pipeline_in_a_model_trains_its_layers_and_predicts_without_augmenting():
    keras.utils.set_random_seed(2)
    image = keras.Input((6, 6, 2))
    pipe = layers.Pipeline([layers.RandomTranslation(0.3, 0.3), layers.Conv2D(3, 3)])
    model = keras.Model(image, layers.Dense(1)(layers.Flatten()(pipe(image))))
    rng = np.random.default_rng(2)
    x = rng.random((4, 6, 6, 2)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
    kernel = pipe.layers[1].kernel.numpy().copy()
    model.compile("sgd", "mse")
    model.fit(x, np.ones((4, 1), np.float32), epochs=1, verbose=0)
    assert not np.array_equal(kernel, pipe.layers[1].kernel.numpy())
    assert [w.name for w in pipe.weights] == ["kernel", "bias"]


def test_pipeline_gradient_is_its_layers_in_turn():
    keras.utils.set_random_seed(4)
    pipe = layers.Pipeline([layers.Conv2D(2, 1), layers.ReLU(), layers.Conv2D(1, 1)])
    x = np.random.default_rng(4).standard_normal((2, 3, 3, 2)).astype(np.float32)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        total = tf.reduce_sum(pipe(xt, training=False) ** 2)
    eager = tape.gradient(total, [xt, *pipe.trainable_weights])
    image = keras.Input((3, 3, 2))
    model = keras.Model(image, pipe(image))
    with tf.GradientTape() as tape:  # through the model's graph: call/backward
        xt2 = tf.constant(x)
        tape.watch(xt2)
        total = tf.reduce_sum(model(xt2, training=False) ** 2)
    graph = tape.gradient(total, [xt2, *pipe.trainable_weights])
    for a, b in zip(eager, graph):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


def test_pipeline_file_layout_is_keras(tmp_path):
    h5py = pytest.importorskip("h5py")
    model = keras.models.load_model(FIXTURES / "wrappers.keras")
    assert [type(layer).__name__ for layer in model.get_layer("pipe").layers] == [
        "Rescaling", "Conv2D"]
    model.save(tmp_path / "again.keras")
    with zipfile.ZipFile(tmp_path / "again.keras") as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
        assert "layers/pipeline/layers/conv2d/vars/0" in weights
        assert len(weights["layers/pipeline/vars"]) == 0
    with pytest.raises(TypeError, match="list of layers"):
        layers.Pipeline(layers.ReLU())


# -- a user's Wrapper ----------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="tests")
class Residual(layers.Wrapper):
    """``x + layer(x)``: a user's wrapper, differentiated by the tape."""

    def call(self, x):
        return x + self.layer(x)


def test_a_users_wrapper_trains_saves_and_loads(tmp_path):
    pytest.importorskip("h5py")
    keras.utils.set_random_seed(5)
    image = keras.Input((4, 4, 3))
    wrapper = Residual(layers.Conv2D(3, 3, padding="same"))
    model = keras.Model(image, wrapper(image))
    assert [w.name for w in wrapper.weights] == ["kernel", "bias"]
    x = np.random.default_rng(5).random((2, 4, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               x + wrapper.layer(x).numpy(), rtol=1e-6)
    model.compile("sgd", "mse")
    kernel = wrapper.layer.kernel.numpy().copy()
    model.fit(x, np.zeros_like(x), epochs=1, verbose=0)
    assert not np.array_equal(kernel, wrapper.layer.kernel.numpy())
    model.save(tmp_path / "residual.keras")
    with zipfile.ZipFile(tmp_path / "residual.keras") as archive:
        assert "layer" in archive.read("config.json").decode()
    loaded = keras.models.load_model(tmp_path / "residual.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="Layer instance"):
        Residual("conv")
