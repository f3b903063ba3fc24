"""Keras 3's newer ``keras.ops`` functions (the CNN ones of ``keras.ops.nn``, elementwise
math, ...): forward values, dtypes and tape gradients of ``sum(y * r)`` against Keras 3.15.1 on
TensorFlow 2.21 (``tests/fixtures/keras_ops_parity.npz``, made by
``make_keras_ops_parity.py`` from ``keras_ops_parity_cases.py``; float64 inputs, so the
reference gradients are exact to rounding), the exception classes of bad calls, and calls on
KerasTensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp.keras import ops
from tests.fixtures.keras_ops_parity_cases import FIXTURE_CASES, error_probes
from tests.helpers import check_recorded_case

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIXTURE = FIXTURES / "keras_ops_parity.npz"
CASES = {case: (name, spec) for name, cases in FIXTURE_CASES.items()
         for case, spec in cases.items()}


def _load(name: str) -> dict:
    with np.load(FIXTURES / f"{name}.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def golden():
    return _load("keras_ops_parity")


@pytest.fixture(scope="module")
def fixtures():
    return {name: _load(name) for name in FIXTURE_CASES}


# TensorFlow resamples these in float32 whatever the images' dtype (its coordinates and
# transforms are float32), and its gradient of ImageProjectiveTransformV3 is the upstream
# gradient warped back by the inverse transform, an approximation of the sampling's adjoint:
# convnp records the exact adjoint (checked against central differences below) and compares
# values only.
_RESAMPLED = {"affine_bilinear", "affine_channels_first", "affine_constant_fill",
              "affine_nearest_reflect", "affine_wrap_fill", "perspective", "perspective_nearest"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_forward_and_gradient_match_keras(case, fixtures):
    name, (inputs, _, fn) = CASES[case]
    if case in _RESAMPLED:
        check_recorded_case(case, {case: (inputs, [], fn)}, fixtures[name], ops,
                            float64_tol=1e-5)
    else:
        check_recorded_case(case, FIXTURE_CASES[name], fixtures[name], ops, float32_tol=1e-5)


PROBES = error_probes(ops, tf.constant)


@pytest.mark.parametrize("probe", sorted(PROBES))
def test_bad_arguments_raise_keras_exception_class(probe, golden):
    expected = str(golden[f"errors/{probe}"])
    assert expected, "Keras raised nothing for this probe"
    with pytest.raises(Exception) as info:
        PROBES[probe]()
    assert type(info.value).__name__ == expected


@pytest.mark.parametrize("space", ["top", "nn", "numpy", "image", "linalg"])
def test_namespaces_hold_only_keras_names(space, golden):
    module = ops if space == "top" else getattr(ops, space)
    names = set(module.__all__) if space != "top" else {
        n for n in dir(ops) if not n.startswith("_") and callable(getattr(ops, n))
        and getattr(getattr(ops, n), "_convnp_op", False)}
    keras_names = set(golden[f"names/{space}"].tolist())
    if space == "top":  # convnp's own keras.ops extras predate this file
        names &= set(golden["names/nn"].tolist()) | set(golden["names/numpy"].tolist())
    assert names <= keras_names, sorted(names - keras_names)


# Cases whose function has kinks or jumps near the drawn inputs, whose gradient is by design
# not the derivative (custom_gradient_two), or is TensorFlow's symmetrized one of a function of
# symmetric matrices (cholesky, logdet: a one-entry step leaves the symmetric matrices):
# finite differences do not apply there.
_NOT_SMOOTH = {"custom_gradient_two", "fmod", "fmax", "fmin", "heaviside", "trunc",
               "adaptive_max_2d", "adaptive_max_3d", "nextafter", "nan_to_num", "cholesky",
               "cholesky_upper", "logdet",
               # empty segments hold the dtype's extremes: a step there overflows
               "segment_max", "segment_min_default"}


def _smooth_float64_cases():
    """The cases with a float64 input TensorFlow differentiates, outside `_NOT_SMOOTH`."""
    found = []
    for name, cases in FIXTURE_CASES.items():
        z = _load(name)
        found += [c for c, (inputs, diff, _) in cases.items()
                  if c not in _NOT_SMOOTH and not c.startswith("saturate")
                  and any(inputs[k].dtype == np.float64
                          and not np.all(np.isnan(z[f"{c}/grad/{k}"])) for k in diff)]
    return sorted(found)


@pytest.mark.parametrize("case", _smooth_float64_cases())
def test_tape_gradients_match_finite_differences(case, fixtures):
    name, (inputs, all_diff, fn) = CASES[case]
    golden = fixtures[name]
    diff = [k for k in all_diff if not np.all(np.isnan(golden[f"{case}/grad/{k}"]))]
    values = {k: np.array(golden[f"{case}/in/{k}"]) for k in inputs}
    r = golden.get(f"{case}/r")

    def loss(vals):
        return float(np.sum(np.asarray(fn(ops, **{k: tf.constant(v) for k, v in vals.items()}))
                            * r))

    tensors = {k: tf.constant(v) for k, v in values.items()}
    with tf.GradientTape() as tape:
        for k in diff:
            tape.watch(tensors[k])
        total = tf.reduce_sum(fn(ops, **tensors) * r)
    grads = tape.gradient(total, [tensors[k] for k in diff])
    step = 1e-6
    for k, g in zip(diff, grads):
        numeric = np.zeros_like(values[k])
        for index in np.ndindex(values[k].shape):
            plus = {**values, k: values[k].copy()}
            minus = {**values, k: values[k].copy()}
            plus[k][index] += step
            minus[k][index] -= step
            numeric[index] = (loss(plus) - loss(minus)) / (2 * step)
        np.testing.assert_allclose(np.asarray(g), numeric, rtol=1e-5, atol=1e-6, err_msg=k)


def test_custom_gradient_uses_grad_fn_not_the_derivative():
    @ops.custom_gradient
    def clipped_identity(x):
        def grad(upstream):
            return ops.clip(upstream, -0.5, 0.5)

        return x * 1.0, grad

    x = tf.constant(np.array([1.0, 2.0, 3.0]))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(clipped_identity(x) * np.array([0.1, -3.0, 2.0]))
    np.testing.assert_allclose(tape.gradient(y, x), [0.1, -0.5, 0.5])
    # outside a tape it is just the function
    np.testing.assert_allclose(clipped_identity(x), [1.0, 2.0, 3.0])


def test_custom_gradient_refuses_bad_functions():
    with pytest.raises(TypeError, match="expects a function"):
        ops.custom_gradient(3)
    with pytest.raises(TypeError, match=r"must return \(outputs, grad_fn\)"):
        ops.custom_gradient(lambda x: x * 2.0)(tf.constant(1.0))


def test_new_ops_build_layers_on_keras_tensors(tmp_path):
    """Called on KerasTensors the new functions become layers, run, differentiate, and the
    model's config names them by their modules (saved and loaded)."""
    inputs = tf.keras.Input((4, 4, 8))
    shuffled = ops.depth_to_space(inputs, 2)
    pooled = ops.adaptive_average_pool(shuffled, (2, 2))
    squashed = ops.arctan(ops.sparse_sigmoid(pooled))
    model = tf.keras.Model(inputs, squashed)
    assert model.output_shape == (None, 2, 2, 2)
    x = np.random.default_rng(0).normal(size=(3, 4, 4, 8)).astype("float32")
    want = ops.arctan(ops.sparse_sigmoid(ops.adaptive_average_pool(ops.depth_to_space(x, 2),
                                                                   (2, 2))))
    np.testing.assert_allclose(model(x), want, rtol=1e-6)
    for name in ("m.convnp", "m.keras"):  # named by module / as Keras 3's operations
        model.save(tmp_path / name)
        again = tf.keras.models.load_model(tmp_path / name)
        np.testing.assert_allclose(again(x), want, rtol=1e-6)


def test_linalg_on_keras_tensors():
    inputs = tf.keras.Input((3, 3))
    model = tf.keras.Model(inputs, ops.linalg.inv(inputs + 3.0 * np.eye(3, dtype="float32")))
    x = np.random.default_rng(1).normal(size=(2, 3, 3)).astype("float32")
    np.testing.assert_allclose(model(x), np.linalg.inv(x + 3 * np.eye(3)), rtol=1e-4,
                               atol=1e-5)


@pytest.mark.parametrize("call, error", [
    (lambda: ops.inv(np.ones((2, 3))), ValueError),
    (lambda: ops.solve(np.eye(3), np.ones((2, 1))), ValueError),
    (lambda: ops.qr(np.ones((2, 2)), mode="full"), ValueError),
    (lambda: ops.unfold(np.ones((2, 3, 4)), 2), ValueError),
    (lambda: ops.unfold(np.ones((1, 1, 4, 4)), 0), ValueError),
    (lambda: ops.fold(np.ones((1, 4, 5)), (4, 4), 2), ValueError),
    (lambda: ops.sparsemax(np.ones((2, 3), np.int32)), TypeError),
    (lambda: ops.adaptive_max_pool(np.ones((1, 4, 4, 1)), (0, 2)), ValueError),
])
def test_more_bad_arguments(call, error):
    with pytest.raises(error):
        call()


def test_image_functions_build_layers_on_keras_tensors(tmp_path):
    inputs = tf.keras.Input((6, 7, 3))
    shift = np.array([1.0, 0.1, -0.5, 0.0, 1.0, 0.3, 0.0, 0.0], "float32")
    warped = ops.image.affine_transform(inputs, shift)
    blurred = ops.image.gaussian_blur(warped, kernel_size=(3, 5), sigma=(1.0, 2.0))
    edges = ops.image.sobel_edges(blurred)
    model = tf.keras.Model(inputs, edges)
    assert model.output_shape == (None, 6, 7, 3, 2)
    x = np.random.default_rng(2).uniform(size=(2, 6, 7, 3)).astype("float32")
    want = ops.image.sobel_edges(ops.image.gaussian_blur(ops.image.affine_transform(x, shift),
                                                         (3, 5), (1.0, 2.0)))
    np.testing.assert_allclose(model(x), want, rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "m.convnp")
    again = tf.keras.models.load_model(tmp_path / "m.convnp")
    np.testing.assert_allclose(again(x), want, rtol=1e-5, atol=1e-6)
    assert "affine_transform" not in dir(ops)  # keras.ops.image only, as in Keras


@pytest.mark.parametrize("call, error", [
    (lambda: ops.image.affine_transform(np.ones((4, 4)), np.zeros(8)), ValueError),
    (lambda: ops.image.affine_transform(np.ones((1, 4, 4, 1)), np.zeros(6)), ValueError),
    (lambda: ops.image.affine_transform(np.ones((1, 4, 4, 1)), np.zeros(8),
                                        interpolation="cubic"), ValueError),
    (lambda: ops.image.affine_transform(np.ones((1, 4, 4, 1)), np.zeros(8),
                                        fill_mode="mirror"), ValueError),
    (lambda: ops.image.perspective_transform(np.ones((4, 4, 1)), np.zeros((3, 2)),
                                             np.zeros((3, 2))), ValueError),
    (lambda: ops.image.map_coordinates(np.ones((3, 3)), np.zeros((3, 4)), 1), ValueError),
    (lambda: ops.image.map_coordinates(np.ones((3, 3)), np.zeros((2, 4)), 3),
     NotImplementedError),
    (lambda: ops.image.map_coordinates(np.ones((3, 3)), np.zeros((2, 4)), 1, "edge"),
     ValueError),
    (lambda: ops.image.scale_and_translate(np.ones((4, 4)), (2,), [0.5], [0.0], (0,),
                                           "linear"), ValueError),
    (lambda: ops.image.scale_and_translate(np.ones((4, 4)), (2, 4), [0.5], [0.0], (0,),
                                           "area"), ValueError),
    (lambda: ops.image.gaussian_blur(np.ones((1, 4, 4, 1)), sigma=(0.0, 1.0)), ValueError),
    (lambda: ops.image.ssim(np.ones((4, 4)), np.ones((4, 4))), ValueError),
    (lambda: ops.image.extract_patches_3d(np.ones((2, 4, 4, 4, 1)), (2, 2)), TypeError),
    (lambda: ops.image.extract_patches_3d(np.ones((4, 4, 4)), 2), ValueError),
    (lambda: ops.image.sobel_edges(np.ones((1, 4, 4, 1)), data_format="nchw"), ValueError),
])
def test_image_bad_arguments(call, error):
    with pytest.raises(error):
        call()


def test_vectorize_maps_like_numpy():
    """Keras on TensorFlow refuses ``vectorize``; convnp maps as Keras' other backends and
    NumPy do (checked against ``np.vectorize``), and the tape sees through it."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(4,))
    dot = ops.vectorize(lambda a, b: ops.sum(a * b), signature="(n),(n)->()")
    want = np.vectorize(lambda a, b: np.sum(a * b), signature="(n),(n)->()")(x, y)
    np.testing.assert_allclose(dot(x, y), want)
    scaled = ops.vectorize(lambda a, s: a * s, excluded={1})
    np.testing.assert_allclose(scaled(x, 2.0), x * 2.0)
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        total = tf.reduce_sum(dot(t, y))
    np.testing.assert_allclose(tape.gradient(total, t), np.broadcast_to(y, x.shape))
    with pytest.raises(TypeError):
        ops.vectorize(3)
    with pytest.raises(ValueError, match="signature"):
        ops.vectorize(lambda a: a, signature="(n)->()")(x, y)


def test_switch_dtype_and_associative_scan_are_plain_functions():
    assert ops.dtype(np.ones(2, "float16")) == "float16"
    assert float(ops.switch(-5, [lambda v: v + 1.0, lambda v: v * 0.0], 1.0)) == 2.0
    out = ops.associative_scan(lambda a, b: a * b, np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_allclose(out, [1.0, 2.0, 6.0, 24.0])


def test_array_functions_build_layers_on_keras_tensors(tmp_path):
    inputs = tf.keras.Input((4, 6, 1))
    patches = ops.rearrange(inputs, "b (h1 h) (w1 w) c -> b (h1 w1) (h w c)", h1=2, w1=3)
    steps = ops.diff(ops.cumprod(ops.nan_to_num(patches) * 0.1 + 1.0, axis=-1), axis=-1)
    model = tf.keras.Model(inputs, ops.nanmean(steps, axis=-1))
    assert model.output_shape == (None, 6)
    x = np.random.default_rng(4).normal(size=(2, 4, 6, 1)).astype("float32")
    blocks = x.reshape(2, 2, 2, 3, 2, 1).transpose(0, 1, 3, 2, 4, 5).reshape(2, 6, 4)
    want = np.diff(np.cumprod(blocks * 0.1 + 1.0, axis=-1), axis=-1).mean(axis=-1)
    np.testing.assert_allclose(model(x), want, rtol=1e-5, atol=1e-6)
    model.save(tmp_path / "m.convnp")
    np.testing.assert_allclose(tf.keras.models.load_model(tmp_path / "m.convnp")(x), want,
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("call, error", [
    (lambda: ops.rearrange(np.ones((2, 3)), "a b"), ValueError),
    (lambda: ops.rearrange(np.ones((2, 3)), "a b c -> a b c"), ValueError),
    (lambda: ops.rearrange(np.ones((4, 3)), "(a b) c -> a b c"), ValueError),
    (lambda: ops.rearrange(np.ones((5, 3)), "(a b) c -> a b c", a=2), ValueError),
    (lambda: ops.rearrange(np.ones((2, 3)), "a b -> a ... b"), ValueError),
    (lambda: ops.array_split(np.ones(4), 0), ValueError),
    (lambda: ops.rot90(np.ones(3)), ValueError),
    (lambda: ops.rot90(np.ones((2, 2)), axes=(1, 1)), ValueError),
    (lambda: ops.diagonal(np.ones((2, 2)), axis1=1, axis2=1), ValueError),
    (lambda: ops.diff(np.ones(3), -1), ValueError),
    (lambda: ops.cross(np.ones(4), np.ones(4)), ValueError),
    (lambda: ops.correlate(np.ones((2, 2)), np.ones(2)), ValueError),
    (lambda: ops.histogram(np.ones((2, 2))), ValueError),
    (lambda: ops.nanquantile(np.ones(3), 1.5), ValueError),
    (lambda: ops.nanquantile(np.ones(3), 0.5, method="cubic"), ValueError),
    (lambda: ops.unravel_index(np.array([7]), (2, 3)), ValueError),
    (lambda: ops.select([np.ones(2, bool)], [], 0), ValueError),
    (lambda: ops.switch(0, [], 1.0), ValueError),
    (lambda: ops.view(np.float32(1.0), "int16"), ValueError),
    (lambda: ops.unique(np.ones(3), sorted=False), NotImplementedError),
])
def test_array_bad_arguments(call, error):
    with pytest.raises(error):
        call()


def test_signal_functions_on_keras_tensors_and_round_trip():
    inputs = tf.keras.Input((32,))
    real, imag = ops.stft(inputs, 8, 4, 8)
    power = ops.sqrt(real * real + imag * imag + 1e-6)
    model = tf.keras.Model(inputs, ops.mean(power, axis=-1))
    assert model.output_shape == (None, 9)
    x = np.random.default_rng(5).normal(size=(2, 32)).astype("float32")
    re, im = ops.stft(x, 8, 4, 8)
    np.testing.assert_allclose(model(x), np.sqrt(np.square(re) + np.square(im) + 1e-6).mean(-1),
                               rtol=1e-5)
    # a Hann window at a quarter hop reconstructs the signal away from its ends, which fewer
    # frames cover (TensorFlow's normalization; the fixture's stft_round_trip is the same)
    back = ops.istft(ops.stft(x, 8, 2, 8), 8, 2, 8, length=32)
    np.testing.assert_allclose(np.asarray(back)[:, 4:-4], x[:, 4:-4], atol=1e-5)


@pytest.mark.parametrize("call, error", [
    (lambda: ops.fft(np.ones(4)), ValueError),
    (lambda: ops.fft((np.ones(4, "int32"), np.ones(4, "int32"))), TypeError),
    (lambda: ops.rfft(np.ones(4), 0), ValueError),
    (lambda: ops.irfft((np.ones(1), np.ones(1))), ValueError),
    (lambda: ops.stft(np.ones(8), 4, 2, 4, window=np.ones(3)), ValueError),
    (lambda: ops.extract_sequences(np.ones(8), 0, 1), ValueError),
    (lambda: ops.hamming(2.5), TypeError),
])
def test_signal_bad_arguments(call, error):
    with pytest.raises(error):
        call()


def test_lu_factor_rebuilds_each_matrix_of_a_batch():
    x = np.random.default_rng(6).normal(size=(3, 4, 4))
    lu, pivots = ops.lu_factor(x)
    assert pivots.dtype == "int32" and pivots.shape == (3, 4)
    for m, packed, inverse in zip(x, np.asarray(lu), np.asarray(pivots)):
        lower = np.tril(packed, -1) + np.eye(4)
        upper = np.triu(packed)
        np.testing.assert_allclose(m[np.argsort(inverse)], lower @ upper, atol=1e-12)
