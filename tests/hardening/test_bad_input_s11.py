"""Bad arguments found in session 11: each is refused with a ValueError/TypeError naming what
was expected and what came, before any work (TensorFlow raises InvalidArgumentError, a
ValueError in convnp, where it refuses the same input)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import convnp as tf
from convnp import keras
from convnp.tensor.debugging import InvalidArgumentError
from tests.hardening import crafted


def _x():
    return tf.reshape(tf.range(12.0), (3, 4))


# -- gather / gather_nd -----------------------------------------------------------------------

def test_gather_axis_beyond_rank_is_refused_not_wrapped():
    with pytest.raises(InvalidArgumentError, match="at least rank 4 but is rank 2"):
        tf.gather(_x(), [0], axis=3)
    with pytest.raises(InvalidArgumentError, match="out of range"):
        tf.gather(_x(), [0], axis=-3)
    np.testing.assert_array_equal(tf.gather(_x(), [3], axis=-1).numpy().ravel(), [3, 7, 11])


def test_gather_float_axis_and_float_indices_are_refused():
    with pytest.raises(TypeError, match="1.7"):
        tf.gather(_x(), [0], axis=1.7)
    with pytest.raises(InvalidArgumentError, match="int32 or int64.*float"):
        tf.gather(_x(), [0.5])


def test_gather_nd_checks_indices_like_tensorflow():
    x = _x()
    with pytest.raises(InvalidArgumentError, match=r"\[0, -1\] does not index into param shape"):
        tf.gather_nd(x, [[0, -1]])
    with pytest.raises(InvalidArgumentError, match=r"\[0, 9\] does not index"):
        tf.gather_nd(x, [[0, 9]])
    with pytest.raises(InvalidArgumentError, match="saw: 3 vs. 2"):
        tf.gather_nd(x, [[0, 1, 2]])
    with pytest.raises(InvalidArgumentError, match="float"):
        tf.gather_nd(x, [[0.0, 1.0]])
    np.testing.assert_array_equal(tf.gather_nd(x, [[0, 1], [2, 3]]).numpy(), [1, 11])


# -- one_hot ------------------------------------------------------------------------------------

@pytest.mark.parametrize("one_hot", [tf.one_hot, keras.ops.one_hot])
def test_one_hot_negative_or_huge_depth_is_refused(one_hot):
    with pytest.raises(InvalidArgumentError, match="depth must be non-negative, got: -1"):
        one_hot(np.array([0, 1]), -1)
    with pytest.raises(ValueError, match="1000000000000"):
        one_hot(np.array([0, 1]), 10**12)  # would be 7 TiB
    with pytest.raises(TypeError, match="depth"):
        one_hot(np.array([0, 1]), 3.5)


def test_tf_one_hot_refuses_float_indices_keras_ops_casts_them():
    with pytest.raises(InvalidArgumentError, match="float"):
        tf.one_hot([0.5, 1.0], 3)
    # Keras casts class indices to int first (truncating toward zero), as Keras 3.15 does
    out = keras.ops.one_hot(np.array([1.7, -0.5]), 3).numpy()
    np.testing.assert_array_equal(out, [[0, 1, 0], [1, 0, 0]])


# -- shapes -------------------------------------------------------------------------------------

def test_reshape_refuses_sizes_below_minus_one_and_names_a_float():
    with pytest.raises(InvalidArgumentError, match="not -2"):
        tf.reshape(_x(), (-2, 6))
    with pytest.raises(TypeError, match="2.5"):
        tf.reshape(_x(), (2.5, 4))
    with pytest.raises(InvalidArgumentError, match="only one size may be -1"):
        tf.reshape(_x(), (-1, -1))
    with pytest.raises(InvalidArgumentError, match="12 values"):
        tf.reshape(_x(), (5, -1))
    assert tf.reshape(_x(), (-1, 6)).shape == (2, 6)


def test_creation_shapes_must_be_non_negative_integers():
    with pytest.raises(TypeError, match="2.5"):
        tf.ones((2.5, 3))
    with pytest.raises(TypeError, match="None"):
        tf.zeros((None, 3))
    with pytest.raises(InvalidArgumentError, match="Dimension -1 must be >= 0"):
        tf.fill((-1, 3), 1.0)


def test_range_with_zero_delta_is_refused():
    with pytest.raises(InvalidArgumentError, match="Requires delta != 0"):
        tf.range(0, 10, 0)


def test_boolean_mask_of_the_wrong_shape_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3,\) and \(2,\) are incompatible"):
        tf.boolean_mask(_x(), [True, False])
    assert tf.boolean_mask(_x(), [True, False, True]).shape == (2, 4)


# -- dtypes -------------------------------------------------------------------------------------

def test_matmul_refuses_a_float_tensor_times_an_int_tensor():
    with pytest.raises(InvalidArgumentError, match="float32.*int32"):
        tf.matmul(tf.ones((2, 2)), tf.ones((2, 2), tf.int32))


@pytest.mark.parametrize("fn", [tf.nn.softmax, tf.nn.log_softmax, keras.ops.softmax])
def test_softmax_refuses_integer_logits(fn):
    with pytest.raises(InvalidArgumentError, match="int"):
        fn(tf.constant([1, 2]))
    assert fn(tf.constant([1.0, 2.0])).dtype == np.float32


# -- fit(validation_freq=...) ---------------------------------------------------------------------

def _small_fit_data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((8, 3)).astype("f4"), rng.integers(0, 2, 8)


@pytest.mark.parametrize("freq", [0, -1, 1.5, True, "2", [0, 2], None])
def test_fit_refuses_a_bad_validation_freq_before_training(freq):
    model = crafted.small_model()
    x, y = _small_fit_data()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="validation_freq must be a positive int"):
        model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y), validation_freq=freq)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fit_validation_freq_as_a_list_of_epochs():
    model = crafted.small_model()
    x, y = _small_fit_data()
    history = model.fit(x, y, epochs=3, verbose=0, validation_data=(x, y),
                        validation_freq=[1, 3])
    assert len(history.history["val_loss"]) == 2
    history = model.fit(x, y, epochs=4, verbose=0, validation_data=(x, y), validation_freq=2)
    assert len(history.history["val_loss"]) == 2


# -- keras.utils.load_img -----------------------------------------------------------------------

def _png_file(path, shape=(6, 8, 3)):
    Image = pytest.importorskip("PIL.Image")
    Image.fromarray(np.full(shape, 100, np.uint8)).save(path)
    return path


def test_load_img_refuses_undecodable_files_naming_them(tmp_path):
    pytest.importorskip("PIL.Image")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="notes.png"):
        keras.utils.load_img(text)
    data = _png_file(tmp_path / "cut.png", (64, 64, 3)).read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.png"):
        keras.utils.load_img(tmp_path / "cut.png")


def test_load_img_refuses_a_decompression_bomb(tmp_path, monkeypatch):
    Image = pytest.importorskip("PIL.Image")
    path = _png_file(tmp_path / "big.png", (100, 100, 3))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ValueError, match="big.png.*too many pixels"):
        keras.utils.load_img(path)


@pytest.mark.parametrize("kwargs, error, words", [
    ({"target_size": (0, 5)}, ValueError, "target_size must be positive"),
    ({"target_size": "ab"}, TypeError, "target_size must be"),
    ({"target_size": (2.5, 3)}, TypeError, "2.5"),
    ({"interpolation": "foo"}, ValueError, "interpolation must be one of"),
    ({"color_mode": "cmyk"}, ValueError, "color_mode"),
])
def test_load_img_checks_arguments_before_opening_the_file(tmp_path, monkeypatch, kwargs,
                                                           error, words):
    Image = pytest.importorskip("PIL.Image")
    path = _png_file(tmp_path / "ok.png")

    def no_open(*args, **kw):
        raise AssertionError("the file was opened before the arguments were checked")

    monkeypatch.setattr(Image, "open", no_open)
    with pytest.raises(error, match=words):
        keras.utils.load_img(path, **kwargs)


def test_load_img_still_loads_resizes_and_crops(tmp_path):
    pytest.importorskip("PIL.Image")
    path = _png_file(tmp_path / "ok.png")
    img = keras.utils.load_img(path, target_size=(3, 2), keep_aspect_ratio=True)
    assert img.size == (2, 3) and img.mode == "RGB"
    gray = keras.utils.img_to_array(keras.utils.load_img(path, color_mode="grayscale"))
    assert gray.shape == (6, 8, 1)


# -- ModelCheckpoint filepath patterns --------------------------------------------------------------

@pytest.mark.parametrize("pattern, words", [
    ("w-{epoch:xyz}.keras", "format spec 'xyz' of {epoch}"),
    ("w-{epoch.keras", "expected '}'"),
    ("w-{}.keras", "plain name"),
    ("w-{0}.keras", "plain name"),
    ("w-{loss:d}.keras", "does not suit a float"),
    ("w-{batch}.keras", "save_freq"),
])
def test_model_checkpoint_refuses_a_broken_pattern_at_construction(tmp_path, pattern, words):
    with pytest.raises(ValueError, match=words):
        keras.callbacks.ModelCheckpoint(str(tmp_path / pattern))


def test_model_checkpoint_warns_of_an_unknown_log_name_before_training(tmp_path):
    """A name the model's logs never hold is warned of before the first step and is a
    ValueError (not a KeyError) when a file is due; a name another callback adds (keras.io's
    ESPCN logs a PSNR) saves."""
    model = crafted.small_model()
    x, y = _small_fit_data()
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "w-{epoch:02d}-{bad}.keras"))
    with pytest.warns(UserWarning, match=r"\['bad'\].*'loss', 'val_loss'"), \
            pytest.raises(ValueError, match="bad"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[checkpoint])
    assert not list(tmp_path.iterdir())

    class Psnr(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["psnr"] = 30.0 + epoch

    with pytest.warns(UserWarning, match="psnr"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[
            Psnr(), keras.callbacks.ModelCheckpoint(str(tmp_path / "w-{psnr:.1f}.keras"))])
    assert [p.name for p in tmp_path.iterdir()] == ["w-30.0.keras"]


def test_model_checkpoint_good_patterns_still_save(tmp_path):
    model = crafted.small_model()
    x, y = _small_fit_data()
    pattern = str(tmp_path / "w-{epoch:02d}-{loss:.2f}-{val_loss:.3f}.keras")
    model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y),
              callbacks=[keras.callbacks.ModelCheckpoint(pattern)])
    assert sorted(p.name[:4] for p in tmp_path.iterdir()) == ["w-01", "w-02"]
    batches = str(tmp_path / "b-{epoch}-{batch}.weights.h5")
    model.fit(x, y, epochs=1, batch_size=4, verbose=0, callbacks=[
        keras.callbacks.ModelCheckpoint(batches, save_weights_only=True, save_freq=2)])
    assert (tmp_path / "b-1-2.weights.h5").exists()


# -- set_weights / Variable.assign ------------------------------------------------------------------

def _dense():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    return layer


@pytest.mark.parametrize("bad, error, words", [
    (lambda w: [np.array([[None] * 2] * 3, dtype=object), w[1]], TypeError, "NoneType"),
    (lambda w: [w[0] + 1j, w[1]], TypeError, "complex"),
    (lambda w: [np.full((3, 2), "a"), w[1]], TypeError, "dtype <U1"),
    (lambda w: None, TypeError, r"list of 2 arrays of shapes \[\(3, 2\), \(2,\)\], got NoneType"),
    (lambda w: {"kernel": w[0]}, TypeError, "got dict"),
    (lambda w: [[[1, 2], [3]], w[1]], ValueError, "ragged"),
])
def test_set_weights_refuses_values_that_are_not_numbers_of_the_right_shape(bad, error, words):
    layer = _dense()
    before = layer.get_weights()
    with pytest.raises(error, match=words):
        layer.set_weights(bad(before))
    with pytest.raises(error, match=words):  # a model's set_weights takes the same path
        model = keras.Sequential([keras.Input((3,)), layer])
        model.set_weights(bad(model.get_weights()))
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_set_weights_names_the_expected_shape_and_dtype():
    layer = _dense()
    with pytest.raises(TypeError, match=r"shape \(3, 2\) and dtype float32"):
        layer.set_weights([np.array([[None] * 2] * 3, dtype=object), np.zeros(2)])
    layer.set_weights([np.ones((3, 2)).tolist(), np.array([1, 2], dtype=object)])
    np.testing.assert_array_equal(layer.get_weights()[1], [1, 2])


@pytest.mark.parametrize("value, error", [
    (np.array([None, None]), TypeError), (np.array([1 + 2j, 2]), TypeError),
    (["a", "b"], TypeError), ([[1], [2, 3]], ValueError), (None, TypeError),
])
def test_variable_assign_refuses_non_numbers(value, error):
    v = tf.Variable([1.0, 2.0])
    with pytest.raises(error, match=r"expected an array of shape \(2,\) and dtype float32"):
        v.assign(value)
    np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])


# -- GradientTape ----------------------------------------------------------------------------------

def test_gradient_on_a_tape_never_entered_is_an_error_not_none():
    v = tf.Variable(1.0)
    tape = tf.GradientTape()
    with pytest.raises(RuntimeError, match="never recorded"):
        tape.gradient(v * 2.0, v)


def test_output_gradients_of_the_wrong_shape_name_both_shapes():
    v = tf.Variable(1.0)
    with tf.GradientTape() as tape:
        y = v * tf.ones((3,))
    with pytest.raises(ValueError, match=r"shape \(2,\) do not match the target of shape \(3,\)"):
        tape.gradient(y, v, output_gradients=tf.ones((2,)))
    # the refused call did not use up the (non-persistent) tape; a broadcastable seed works
    assert float(tape.gradient(y, v, output_gradients=tf.constant(2.0))) == 6.0


# -- the convnp command ----------------------------------------------------------------------------

def _cli_error(argv, capsys) -> str:
    from convnp.app import cli

    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_train_out_that_cannot_be_written_is_refused_before_training(capsys, monkeypatch):
    from convnp.app import cli

    def no_training(*args, **kwargs):
        raise AssertionError("the model was built before --out was checked")

    monkeypatch.setattr(cli, "_model_from_arg", no_training)
    # root passes os.access on /proc, but no file can be made there
    err = _cli_error(["train", "happy", "--out", "/proc/convnp-x"], capsys)
    assert "--out /proc/convnp-x: cannot write in /proc" in err


def test_show_out_under_a_missing_directory_is_refused_like_export(tmp_path, capsys):
    missing = tmp_path / "no" / "such"
    err = _cli_error(["show", "happy", "--what", "filters", "--out", str(missing)], capsys)
    assert f"no such directory {tmp_path / 'no'}" in err
    assert not (tmp_path / "no").exists()


def test_dashboard_bad_host_is_named(tmp_path, capsys):
    err = _cli_error(["dashboard", str(tmp_path), "--host", "999.1.1.1"], capsys)
    assert "--host 999.1.1.1" in err


def test_show_class_out_of_range_speaks_of_the_option(tmp_path, capsys):
    err = _cli_error(["show", "happy", "--what", "filters", "--class", "7",
                      "--out", str(tmp_path)], capsys)
    assert "--class 7" in err and "class_index" not in err
    assert not list(tmp_path.iterdir())
