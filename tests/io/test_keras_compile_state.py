"""A .keras file keeps the whole compile state: every optimizer (with its slots and a
learning-rate schedule), loss and metric objects with their arguments, several outputs.
After reloading, one more training step on the same batch gives identical weights."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

pytest.importorskip("h5py")

import convnp as tf

K = tf.keras
OPTIMIZERS = {
    "rmsprop_centered": lambda: K.optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adamw": lambda: K.optimizers.AdamW(0.01, weight_decay=0.01),
    "nadam": lambda: K.optimizers.Nadam(0.01),
    "adagrad": lambda: K.optimizers.Adagrad(0.05),
    "adamax": lambda: K.optimizers.Adamax(0.01),
    "sgd_nesterov": lambda: K.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adam_amsgrad": lambda: K.optimizers.Adam(0.01, amsgrad=True),
    "adam_schedule": lambda: K.optimizers.Adam(
        K.optimizers.schedules.ExponentialDecay(0.01, decay_steps=2, decay_rate=0.5)),
}


def data(seed=0, n=8):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 3, size=(n,))


def step_both(model, again, x, y):
    model.train_on_batch(x, y)
    again.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_resumes_exactly(name, tmp_path):
    K.utils.set_random_seed(2)
    model = K.Sequential([K.Input((4,)), K.layers.Dense(5, activation="relu"),
                          K.layers.Dense(3)])
    model.compile(OPTIMIZERS[name](),
                  K.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[K.metrics.SparseCategoricalAccuracy()])
    x, y = data()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    model.save(tmp_path / "m.keras")
    again = K.models.load_model(tmp_path / "m.keras")
    assert type(again.optimizer) is type(model.optimizer)
    assert again.optimizer.iterations == model.optimizer.iterations == 4
    assert again.optimizer.get_config() == model.optimizer.get_config()
    step_both(model, again, x, y)


def test_two_outputs_with_loss_objects_weights_and_metrics_per_output(tmp_path):
    K.utils.set_random_seed(3)
    inputs = K.Input((4,))
    hidden = K.layers.Dense(6, activation="relu")(inputs)
    cls = K.layers.Dense(3, name="cls")(hidden)
    prob = K.layers.Dense(1, activation="sigmoid", name="prob")(hidden)
    model = K.Model(inputs, [cls, prob])
    model.compile(K.optimizers.RMSprop(0.01, momentum=0.3),
                  loss={"cls": K.losses.SparseCategoricalCrossentropy(from_logits=True),
                        "prob": "binary_crossentropy"},
                  loss_weights={"cls": 1.0, "prob": 0.5},
                  metrics={"cls": ["accuracy"],
                           "prob": [K.metrics.Precision(thresholds=0.3), "auc"]})
    x, y = data(1)
    ys = {"cls": y, "prob": (y > 0).astype(np.float32)[:, None]}
    model.fit(x, ys, epochs=1, batch_size=4, verbose=0)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        compile_config = json.loads(archive.read("config.json"))["compile_config"]
    assert compile_config["loss_weights"] == {"cls": 1.0, "prob": 0.5}
    assert compile_config["loss"]["cls"]["config"]["from_logits"] is True
    precision = compile_config["metrics"]["prob"][0]
    assert precision["module"] == "keras.metrics" and precision["config"]["thresholds"] == 0.3
    again = K.models.load_model(tmp_path / "m.keras")
    # model.loss is what it was compiled with, as Keras gives it back: objects and names
    assert isinstance(again.loss["cls"], K.losses.SparseCategoricalCrossentropy)
    assert again.loss["cls"].get_config()["from_logits"] is True
    assert again.loss["prob"] == "binary_crossentropy"
    assert again.evaluate(x, ys, verbose=0, return_dict=True) == \
        model.evaluate(x, ys, verbose=0, return_dict=True)
    step_both(model, again, x, ys)


def test_mean_iou_with_its_arguments(tmp_path):
    model = K.Sequential([K.Input((4,)), K.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy",
                  metrics=[K.metrics.MeanIoU(num_classes=3, sparse_y_pred=False)])
    x, y = data(4)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    again = K.models.load_model(tmp_path / "m.keras")
    assert again.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)


def _dice_loss(y_true, y_pred):
    inter = tf.reduce_sum(y_true * y_pred)
    return 1 - (2 * inter + 1) / (tf.reduce_sum(y_true) + tf.reduce_sum(y_pred) + 1)


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".convnp"])
def test_an_unregistered_function_goes_by_its_name(suffix, tmp_path):
    """A dice loss (and metric) defined in the script: saved by its name as Keras 3 writes it
    (before: .keras refused the save, .convnp wrote a file it could not load); loading needs
    custom_objects. Without them a .keras or .h5 file gives the model uncompiled with a
    warning naming it, and a .convnp file refuses with that message (as it refuses any
    unknown name; compile=False gives the model)."""
    pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    x = rng.random((4, 8, 8, 1)).astype(np.float32)
    y = (x > 0.5).astype(np.float32)
    model = K.Sequential([K.Input((8, 8, 1)),
                          K.layers.Conv2D(1, 3, padding="same", activation="sigmoid")])
    model.compile("adam", loss=_dice_loss, metrics=[_dice_loss, "accuracy"])
    model.fit(x, y, verbose=0)
    path = tmp_path / f"seg{suffix}"
    model.save(path)
    if suffix == ".keras":
        with zipfile.ZipFile(path) as archive:
            compiled = json.loads(archive.read("config.json"))["compile_config"]
        assert compiled["loss"] == {"module": "builtins", "class_name": "function",
                                    "config": "_dice_loss", "registered_name": "function"}
    again = K.models.load_model(path, custom_objects={"_dice_loss": _dice_loss})
    assert again.loss is _dice_loss
    assert again.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    again.fit(x, y, verbose=0)  # the optimizer state came back with it
    if suffix == ".convnp":
        with pytest.raises(ValueError, match=r"names the function '_dice_loss'.*custom_obj"):
            K.models.load_model(path)
        stranger = K.models.load_model(path, compile=False)
    else:
        with pytest.warns(UserWarning, match=r"names the function '_dice_loss'.*custom_obj"):
            stranger = K.models.load_model(path)
    assert not stranger._compiled
    np.testing.assert_array_equal(stranger.predict(x, verbose=0), model.predict(x, verbose=0))


def test_registered_functions_go_by_name_as_keras_writes_them(tmp_path):
    """A loss and a metric function registered with register_keras_serializable are written
    as Keras 3 writes them (``{"module": "builtins", "class_name": "function", "config":
    "package>name"}``; real Keras loads such a file and evaluates the same), and read back
    compiled with those functions; unregistered, loading warns and leaves it uncompiled."""
    register = K.saving.register_keras_serializable(package="compile_state_test")

    @register
    def squared(y_true, y_pred):
        return tf.reduce_mean(tf.square(y_true - y_pred), axis=-1)

    @register
    def absolute(y_true, y_pred):
        return tf.reduce_mean(tf.abs(y_true - y_pred), axis=-1)

    x, y = np.ones((4, 4), np.float32), np.zeros((4, 1), np.float32)
    model = K.Sequential([K.Input((4,)), K.layers.Dense(1)])
    model.compile("adam", squared, metrics=[absolute, "mae"])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        compiled = json.loads(archive.read("config.json"))["compile_config"]
    entry = {"module": "builtins", "class_name": "function", "registered_name": "function"}
    assert compiled["loss"] == {**entry, "config": "compile_state_test>squared"}
    assert compiled["metrics"] == [{**entry, "config": "compile_state_test>absolute"}, "mae"]
    again = K.models.load_model(tmp_path / "m.keras")
    assert again.loss is squared
    assert again.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    registered = K.saving.get_custom_objects()
    registered.pop("compile_state_test>squared")
    registered.pop("compile_state_test>absolute")
    with pytest.warns(UserWarning, match="'compile_state_test>squared', which is not known"):
        stranger = K.models.load_model(tmp_path / "m.keras")
    assert not stranger._compiled


def test_convnp_files_keep_per_output_metric_names_too(tmp_path):
    tf.keras.backend.clear_session()  # metric names as in a fresh session (Keras numbers them)
    inputs = K.Input((4,))
    model = K.Model(inputs, [K.layers.Dense(1, name="a")(inputs),
                             K.layers.Dense(1, activation="sigmoid", name="b")(inputs)])
    model.compile("sgd", ["mse", "binary_crossentropy"],
                  metrics=[[K.metrics.Precision()], [K.metrics.Recall()]])
    x = np.random.default_rng(5).normal(size=(6, 4)).astype(np.float32)
    ys = [x[:, :1], (x[:, 1:2] > 0).astype(np.float32)]
    model.fit(x, ys, epochs=1, verbose=0)
    model.save(tmp_path / "m.convnp")
    again = K.models.load_model(tmp_path / "m.convnp")
    want = model.evaluate(x, ys, verbose=0, return_dict=True)
    assert "b_recall" in want
    assert again.evaluate(x, ys, verbose=0, return_dict=True) == want


class _Scaled(K.losses.Loss):
    """A user's loss class with its own argument (keras.io's contrastive losses are so)."""

    def __init__(self, temperature=0.5, name="scaled", **kwargs):
        super().__init__(name=name, **kwargs)
        self.temperature = temperature

    def call(self, y_true, y_pred):
        return tf.reduce_mean(tf.square(y_true - y_pred), axis=-1) / self.temperature

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}


class _Total(K.metrics.Metric):
    def __init__(self, name="total", **kwargs):
        super().__init__(name=name, **kwargs)
        self.sum = self.add_weight(name="sum", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.sum.assign_add(tf.reduce_sum(y_pred))

    def result(self):
        return self.sum


class _Centralized(K.optimizers.RMSprop):
    """keras.io's gradient centralization: a user's optimizer subclass."""

    def apply_gradients(self, grads_and_vars):
        pairs = [(g - tf.reduce_mean(g, axis=0, keepdims=True) if g.ndim > 1 else g, v)
                 for g, v in grads_and_vars]
        return super().apply_gradients(pairs)


_USERS = {"_Scaled": _Scaled, "_Total": _Total, "_Centralized": _Centralized}


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".convnp"])
def test_users_classes_go_by_name(suffix, tmp_path):
    """A user's Loss, Metric and optimizer classes are written by name as Keras 3 writes them
    (before: .keras and .h5 refused the save, so ModelCheckpoint crashed), and come back from
    custom_objects with their arguments and the optimizer's state."""
    pytest.importorskip("h5py")
    rng = np.random.default_rng(1)
    x, y = rng.random((8, 4)).astype(np.float32), rng.random((8, 2)).astype(np.float32)
    model = K.Sequential([K.Input((4,)), K.layers.Dense(2)])
    model.compile(_Centralized(0.01, momentum=0.5), loss=_Scaled(0.25), metrics=[_Total()])
    model.fit(x, y, verbose=0)
    path = tmp_path / f"m{suffix}"
    model.save(path)
    if suffix == ".keras":
        with zipfile.ZipFile(path) as archive:
            compiled = json.loads(archive.read("config.json"))["compile_config"]
        assert compiled["loss"]["module"] is None
        assert compiled["loss"]["registered_name"] == "_Scaled"
        assert compiled["loss"]["config"]["temperature"] == 0.25
        assert compiled["optimizer"]["class_name"] == "_Centralized"
    again = K.models.load_model(path, custom_objects=_USERS)
    assert type(again.loss) is _Scaled and again.loss.temperature == 0.25
    assert type(again.optimizer) is _Centralized and again.optimizer.iterations == 1
    assert again.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    model.fit(x, y, verbose=0)
    again.fit(x, y, verbose=0)
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    if suffix == ".convnp":
        with pytest.raises(ValueError, match="_Centralized|_Scaled"):
            K.models.load_model(path)
    else:
        with pytest.warns(UserWarning, match="loaded uncompiled"):
            assert not K.models.load_model(path)._compiled
