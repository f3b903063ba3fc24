"""Schedules, losses and metrics Keras users reach for after the basics, against Keras 3's own
numbers (``tests/fixtures/user_extras.npz``, written by ``make_user_extras.py``)."""

import numpy as np
import pytest

import convnp as tf
from tests.helpers import load_fixture

S = tf.keras.optimizers.schedules
L = tf.keras.losses
M = tf.keras.metrics


@pytest.fixture(scope="module")
def keras_numbers():
    return load_fixture("user_extras.npz")


SCHEDULES = {
    "inverse_time": lambda: S.InverseTimeDecay(0.1, 10, 0.5),
    "inverse_time_staircase": lambda: S.InverseTimeDecay(0.1, 7, 2.0, staircase=True),
    "polynomial": lambda: S.PolynomialDecay(0.1, 30, 0.01, power=2.0),
    "polynomial_cycle": lambda: S.PolynomialDecay(0.1, 25, 0.001, power=0.5, cycle=True),
    "restarts": lambda: S.CosineDecayRestarts(0.1, 10),
    "restarts_tmul1": lambda: S.CosineDecayRestarts(0.1, 12, t_mul=1.0, m_mul=0.5, alpha=0.1),
    "restarts_mul": lambda: S.CosineDecayRestarts(0.2, 5, t_mul=1.5, m_mul=0.8, alpha=0.05),
}


@pytest.mark.parametrize("case", sorted(SCHEDULES))
def test_schedule_matches_keras_and_round_trips(case, keras_numbers):
    schedule = SCHEDULES[case]()
    got = [schedule(step) for step in range(80)]
    np.testing.assert_allclose(got, keras_numbers[f"sched/{case}"], rtol=1e-5, atol=1e-9)
    again = S.deserialize(S.serialize(schedule))
    assert type(again) is type(schedule) and again.get_config() == schedule.get_config()


def test_schedule_drives_an_optimizer_and_checks_its_arguments():
    opt = tf.keras.optimizers.SGD(S.PolynomialDecay(0.1, 4, end_learning_rate=0.0))
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer=opt, loss="mse")
    rates = []
    for _ in range(5):
        rates.append(float(opt.learning_rate))
        model.train_on_batch(np.ones((2, 2)), np.zeros((2, 1)))
    np.testing.assert_allclose(rates, [0.1, 0.075, 0.05, 0.025, 0.0], atol=1e-12)
    with pytest.raises(ValueError, match="first_decay_steps"):
        S.CosineDecayRestarts(0.1, 0)
    with pytest.raises(ValueError, match="decay_steps"):
        S.PolynomialDecay(0.1, -3)


LOSSES = {
    "bfocal": (lambda: L.BinaryFocalCrossentropy(), "yb", "pb"),
    "bfocal_balanced": (lambda: L.BinaryFocalCrossentropy(
        apply_class_balancing=True, alpha=0.3, gamma=1.5), "yb", "pb"),
    "bfocal_logits_smooth": (lambda: L.BinaryFocalCrossentropy(
        from_logits=True, label_smoothing=0.1, gamma=3.0), "yb", "zb"),
    "cfocal": (lambda: L.CategoricalFocalCrossentropy(), "yc", "pc"),
    "cfocal_logits_smooth": (lambda: L.CategoricalFocalCrossentropy(
        from_logits=True, label_smoothing=0.2, alpha=0.5, gamma=1.0), "yc", "zc"),
    "dice": (lambda: L.Dice(), "ys", "ps"),
    "dice_axis": (lambda: L.Dice(axis=(1, 2, 3)), "ys", "ps"),
    "tversky": (lambda: L.Tversky(), "ys", "ps"),
    "tversky_ab": (lambda: L.Tversky(alpha=0.7, beta=0.3), "ys", "ps"),
    "tversky_axis": (lambda: L.Tversky(alpha=0.3, beta=0.7, axis=(1, 2, 3)), "ys", "ps"),
}


@pytest.mark.parametrize("case", sorted(LOSSES))
def test_loss_value_gradient_and_per_sample_match_keras(case, keras_numbers):
    make, y_key, p_key = LOSSES[case]
    loss = make()
    y, p = keras_numbers[f"loss/in/{y_key}"], keras_numbers[f"loss/in/{p_key}"]
    value, grad = loss.value_and_gradient(y, p)
    np.testing.assert_allclose(value, keras_numbers[f"loss/{case}/value"], rtol=1e-5)
    np.testing.assert_allclose(float(loss(y, p)), keras_numbers[f"loss/{case}/value"], rtol=1e-5)
    np.testing.assert_allclose(grad, keras_numbers[f"loss/{case}/grad"], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(loss.per_sample(y, p), keras_numbers[f"loss/{case}/none"],
                               rtol=1e-5, atol=1e-7)
    again = L.deserialize(L.serialize(loss))
    assert type(again) is type(loss) and again.get_config() == loss.get_config()


def test_losses_by_name_and_as_functions(keras_numbers):
    y, p = keras_numbers["loss/in/yb"], keras_numbers["loss/in/pb"]
    assert isinstance(L.get("binary_focal_crossentropy"), L.BinaryFocalCrossentropy)
    assert isinstance(L.get("Dice"), L.Dice) and isinstance(L.get("tversky"), L.Tversky)
    np.testing.assert_allclose(L.binary_focal_crossentropy(y, p),
                               keras_numbers["loss/bfocal/none"], rtol=1e-5)
    with pytest.raises(ValueError, match="gamma"):
        L.BinaryFocalCrossentropy(gamma=-1)
    with pytest.raises(ValueError, match="axis=-1"):
        L.CategoricalFocalCrossentropy(axis=1)
    with pytest.raises(TypeError, match="axis"):
        L.Dice(axis="rows")


def test_dice_trains_a_segmentation_net_and_survives_saving(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((8, 8, 8, 3)).astype(np.float32)
    y = (x[..., :1] > 0.5).astype(np.float32)
    inputs = tf.keras.Input((8, 8, 3))
    hidden = tf.keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    model = tf.keras.Model(inputs, tf.keras.layers.Conv2D(1, 1, activation="sigmoid")(hidden))
    model.compile(tf.keras.optimizers.Adam(0.05), loss=L.Dice())
    history = model.fit(x, y, epochs=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "dice.keras")
    loaded = tf.keras.models.load_model(tmp_path / "dice.keras")
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))


METRICS = {
    "f1_none": lambda: M.F1Score(threshold=0.5),
    "f1_micro": lambda: M.F1Score(average="micro", threshold=0.5),
    "f1_macro": lambda: M.F1Score(average="macro", threshold=0.4),
    "f1_weighted": lambda: M.F1Score(average="weighted", threshold=0.5),
    "f1_argmax": lambda: M.F1Score(average="macro"),
    "fbeta2": lambda: M.FBetaScore(beta=2.0, threshold=0.5),
    "fbeta05_micro": lambda: M.FBetaScore(beta=0.5, average="micro", threshold=0.5),
    "tp": lambda: M.TruePositives(),
    "fp": lambda: M.FalsePositives(),
    "tn": lambda: M.TrueNegatives(),
    "fn": lambda: M.FalseNegatives(),
    "tp_thresholds": lambda: M.TruePositives(thresholds=[0.2, 0.5, 0.8]),
    "fn_thresholds": lambda: M.FalseNegatives(thresholds=[0.3, 0.7]),
}


@pytest.mark.parametrize("case", sorted(METRICS))
def test_metric_matches_keras_over_two_batches(case, keras_numbers):
    metric = METRICS[case]()
    yt, yp, w = (keras_numbers[f"metric/in/{k}"] for k in ("yt", "yp", "w"))
    weighted = case in ("tp", "fn", "tp_thresholds")
    metric.update_state(yt[:4], yp[:4], sample_weight=w[:4] if weighted else None)
    metric.update_state(yt[4:], yp[4:], sample_weight=w[4:] if weighted else None)
    np.testing.assert_allclose(metric.result(), keras_numbers[f"metric/{case}"], rtol=1e-5)
    metric.reset_state()
    assert np.all(np.asarray(metric.result()) == 0)
    again = M.deserialize(M.serialize(metric))
    assert type(again) is type(metric) and again.get_config() == metric.get_config()


def test_metrics_by_name_in_fit_and_bad_arguments():
    rng = np.random.default_rng(1)
    x = rng.random((16, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 16)]
    model = tf.keras.Sequential([tf.keras.layers.Dense(3, activation="softmax",
                                                       input_shape=(4,))])
    model.compile("adam", "categorical_crossentropy",
                  metrics=["f1_score", "true_positives", "false_negatives"])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert len(logs["f1_score"]) == 3
    assert logs["true_positives"] + logs["false_negatives"] == pytest.approx(16.0)
    with pytest.raises(ValueError, match="average"):
        M.F1Score(average="samples")
    with pytest.raises(ValueError, match="threshold"):
        M.FBetaScore(threshold=1.5)
    with pytest.raises(ValueError, match="shape"):
        M.F1Score().update_state(np.ones(4), np.ones(4))


def test_nearest_resize_keeps_the_image_dtype():
    image = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(1, 5, 7, 3)
    small = tf.image.resize(image, (8, 4), method="nearest")
    assert small.dtype == tf.uint8
    same = tf.image.resize(image.astype(np.float32), (8, 4), method="nearest")
    np.testing.assert_array_equal(small.numpy(), same.numpy().astype(np.uint8))
    assert tf.image.resize(image, (8, 4)).dtype == tf.float32


def test_applications_import_as_keras_io_writes_it():
    """``from keras.applications import EfficientNetB0`` becomes ``from
    convnp.keras.applications import EfficientNetB0`` (it was only an attribute)."""
    import convnp as tf
    from convnp.keras.applications import EfficientNetB0, mobilenet_v2

    assert EfficientNetB0 is tf.keras.applications.EfficientNetB0
    assert mobilenet_v2.preprocess_input is tf.keras.applications.mobilenet_v2.preprocess_input
    base = EfficientNetB0(include_top=False, weights=None, input_shape=(32, 32, 3))
    assert base.output_shape == (None, 1, 1, 1280)
