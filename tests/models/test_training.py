"""compile / fit / evaluate / predict: data sources, callbacks, determinism, NaN, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

tfl = tf.keras.layers


def small_model(dropout: float = 0.0, n_out: int = 1, activation: str = "sigmoid"):
    """A tiny conv net on (6, 6, 2) images (fast enough for many fits)."""
    layers = [
        tfl.Conv2D(3, 3, input_shape=(6, 6, 2)),
        tfl.BatchNormalization(),
        tfl.ReLU(),
        tfl.MaxPool2D(),
        tfl.Flatten(),
    ]
    if dropout:
        layers.append(tfl.Dropout(dropout))
    layers.append(tfl.Dense(n_out, activation=activation))
    return tf.keras.Sequential(layers)


def data(n=40, n_out=1, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6, 6, 2)).astype(np.float32)
    if n_out == 1:
        y = (x[:, :3].mean(axis=(1, 2, 3)) > 0).astype(np.float32).reshape(-1, 1)
    else:
        y = np.eye(n_out, dtype=np.float32)[rng.integers(0, n_out, n)]
    return x, y


def compiled(seed=0, **kwargs):
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    model = small_model(**kwargs)
    loss = "binary_crossentropy" if kwargs.get("n_out", 1) == 1 else "categorical_crossentropy"
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


# ------------------------------------------------------------------------------ fit basics


def test_fit_returns_history_of_python_floats():
    model = compiled()
    x, y = data()
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert model.history is history
    assert set(history.history) == {"loss", "accuracy"}
    assert history.epoch == [0, 1, 2]
    for values in history.history.values():
        assert len(values) == 3 and all(type(v) is float for v in values)


def test_epoch_loss_is_batch_size_weighted_mean_of_batch_losses():
    model = compiled()
    x, y = data(n=20)
    batch_losses = []

    class Recorder(tf.keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batch_losses.append(logs["loss"])

    # with lr=0 the weights stay put, so each batch loss can be recomputed
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.0),
                  loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0,
                        callbacks=[Recorder()])
    per_batch = [model.test_on_batch(x[s:s + 8], y[s:s + 8])[0] for s in (0, 8, 16)]
    # the BN moving statistics do not enter training-mode losses, but test_on_batch uses
    # inference mode, so recompute in training mode through fit's own step instead
    fused, _ = model._prepare_training()
    per_batch = [model._forward_with_loss(x[s:s + 8], y[s:s + 8], fused, True)[1]
                 for s in (0, 8, 16)]
    expected = (per_batch[0] * 8 + per_batch[1] * 8 + per_batch[2] * 4) / 20
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)
    # batch logs are running means within the epoch, as Keras reports them
    assert batch_losses[0] == pytest.approx(per_batch[0], rel=1e-5)
    assert batch_losses[-1] == pytest.approx(expected, rel=1e-5)


def test_dataset_and_arrays_train_identically():
    x, y = data()
    a = compiled()
    ha = a.fit(x, y, epochs=2, batch_size=10, shuffle=False, verbose=0)
    b = compiled()
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(10)
    hb = b.fit(ds, epochs=2, verbose=0)
    assert ha.history == hb.history
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_validation_split_holds_out_the_last_samples():
    x, y = data(n=40)
    a = compiled()
    ha = a.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0)
    b = compiled()
    hb = b.fit(x[:30], y[:30], epochs=2, batch_size=8, validation_data=(x[30:], y[30:]),
               verbose=0)
    assert set(ha.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert ha.history == hb.history


def test_validation_dataset_and_inference_mode():
    x, y = data(n=24)
    model = compiled(dropout=0.5)
    val = tf.data.Dataset.from_tensor_slices((x[:8], y[:8])).batch(3)
    history = model.fit(x, y, epochs=2, batch_size=8, validation_data=val, verbose=0)
    # validation = evaluate in inference mode (moving BN stats, no dropout) after the epoch
    assert history.history["val_loss"][-1] == pytest.approx(
        model.evaluate(x[:8], y[:8], batch_size=3, verbose=0)[0], rel=1e-6)


def test_early_stopping_stops_training():
    model = compiled()
    x, y = data()
    stopper = tf.keras.callbacks.EarlyStopping(monitor="loss", min_delta=100.0, patience=1)
    history = model.fit(x, y, epochs=20, batch_size=8, verbose=0, callbacks=[stopper])
    assert len(history.history["loss"]) == 2
    assert model.stop_training


def test_initial_epoch_and_steps_per_epoch():
    model = compiled()
    x, y = data(n=16)
    seen = []

    class Count(tf.keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append([epoch, 0])

        def on_train_batch_end(self, batch, logs=None):
            seen[-1][1] += 1

    # two batches of data and steps_per_epoch=3: each epoch ends short after the two (with a
    # warning), the next starts over, as in TF 2.21 ([[2, 2], [3, 2]] and [[0, 2], [1, 2]])
    with pytest.warns(UserWarning, match="ran out of data after 2 of 3 steps"):
        model.fit(x, y, epochs=4, initial_epoch=2, batch_size=8, steps_per_epoch=3,
                  verbose=0, callbacks=[Count()])
    assert seen == [[2, 2], [3, 2]]
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    seen.clear()
    with pytest.warns(UserWarning, match="ran out of data"):
        model.fit(ds, epochs=2, steps_per_epoch=3, verbose=0, callbacks=[Count()])
    assert seen == [[0, 2], [1, 2]]


def test_determinism_same_seed_same_run():
    x, y = data()
    runs = []
    for _ in range(2):
        model = compiled(seed=0, dropout=0.3)
        history = model.fit(x, y, epochs=3, batch_size=8, validation_split=0.2, verbose=0)
        runs.append((history.history, model.get_weights()))
    assert runs[0][0] == runs[1][0]
    for wa, wb in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(wa, wb)
    other = compiled(seed=1, dropout=0.3)
    assert other.fit(x, y, epochs=3, batch_size=8, validation_split=0.2,
                     verbose=0).history != runs[0][0]


def test_float32_throughout():
    model = compiled()
    x, y = data()
    model.fit(x.astype(np.float64), y.astype(np.int64), epochs=1, verbose=0)
    assert all(w.dtype == np.float32 for w in model.get_weights())
    assert model.predict(x.astype(np.float64), verbose=0).dtype == np.float32


def test_trainable_false_freezes_weights():
    model = compiled()
    x, y = data()
    model.trainable = False
    model.compile(optimizer="adam", loss="binary_crossentropy")
    before = model.get_weights()
    with pytest.warns(UserWarning, match="does not have any trainable weights"):  # as TF
        model.fit(x, y, epochs=1, verbose=0)
    assert model.trainable_weights == []
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------ verbose


def test_verbose_levels(capsys):
    model = compiled()
    x, y = data(n=16)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(x, y, epochs=2, batch_size=8, verbose=2)
    out = capsys.readouterr().out
    assert out.count("Epoch ") == 2 and out.count("2/2 - ") == 2 and "loss: " in out
    model.fit(x, y, epochs=1, batch_size=8)
    assert "2/2" in capsys.readouterr().out
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""


# ------------------------------------------------------------------------------ evaluate / predict


def test_evaluate_forms():
    model = compiled()
    x, y = data(n=20)
    loss, acc = model.evaluate(x, y, batch_size=7, verbose=0)
    assert isinstance(loss, float) and 0.0 <= acc <= 1.0
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy"} and logs["loss"] == pytest.approx(loss, rel=1e-6)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(7)
    assert model.evaluate(ds, verbose=0) == pytest.approx([loss, acc], rel=1e-6)
    model.compile(optimizer="adam", loss="binary_crossentropy")  # keeps the metrics (Keras 3)
    assert len(model.evaluate(x, y, verbose=0)) == 2
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[])
    assert isinstance(model.evaluate(x, y, verbose=0), float)


def test_predict_shapes_and_batching():
    model = compiled(n_out=4, activation="softmax")
    x, _ = data(n=23, n_out=4)
    p = model.predict(x, batch_size=5, verbose=0)
    assert p.shape == (23, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), p, rtol=1e-6, atol=1e-7)
    ds = tf.data.Dataset.from_tensor_slices(x).batch(6)
    np.testing.assert_allclose(model.predict(ds, verbose=0), p, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.predict_on_batch(x[:3]), p[:3], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model(x[:3]), p[:3], rtol=1e-6, atol=1e-7)
    assert model.predict(x[:1], verbose=0).shape == (1, 4)


def test_train_and_test_on_batch():
    model = compiled()
    x, y = data(n=8)
    before = model.get_weights()
    loss, acc = model.train_on_batch(x, y)
    assert np.isfinite(loss) and 0 <= acc <= 1
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    logs = model.test_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    assert logs["loss"] == pytest.approx(model.evaluate(x, y, verbose=0)[0], rel=1e-6)


def test_saturated_outputs_give_finite_loss_and_gradients():
    """Huge logits: the fused sigmoid + cross-entropy never makes NaN or inf."""
    model = compiled()
    x, y = data(n=8)
    model.layers[-1].kernel.assign(np.full(model.layers[-1].kernel.shape, 1e4, np.float32))
    history = model.fit(x, 1 - y, epochs=2, batch_size=8, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_nan_loss_stops_training(capsys):
    model = compiled()
    x, y = data(n=16)
    x[0, 0, 0, 0] = np.nan
    before = [v.numpy() for v in model.trainable_weights]
    history = model.fit(x, y, epochs=5, batch_size=8, shuffle=False, verbose=1)
    assert "Batch 0: Invalid loss, terminating training" in capsys.readouterr().out
    assert model.stop_training
    assert len(history.history["loss"]) == 1 and np.isnan(history.history["loss"][0])
    # the bad update was not applied (BN's moving statistics, updated by the forward pass
    # itself, do take the NaN, as in Keras)
    for a, b in zip(before, [v.numpy() for v in model.trainable_weights]):
        np.testing.assert_array_equal(a, b)
    with pytest.warns(RuntimeWarning, match="Invalid loss") as caught:
        model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    # that one warning, pointing at the fit call; none of NumPy's from inside the kernels
    assert [w.filename for w in caught] == [__file__]


# ------------------------------------------------------------------------------ bad input


def test_must_compile_first():
    tf.keras.backend.clear_session()
    model = small_model()
    x, y = data(n=4)
    with pytest.raises(RuntimeError, match=r"You must call compile\(\) before fit\(\)"):
        model.fit(x, y)
    with pytest.raises(ValueError, match=r"compile\(\) before evaluate\(\)"):
        model.evaluate(x, y)
    assert model.predict(x, verbose=0).shape == (4, 1)  # predict needs no compile


def test_mismatched_lengths():
    model = compiled()
    x, y = data(n=10)
    with pytest.raises(ValueError, match="same number of samples.*10.*9"):
        model.fit(x, y[:9], verbose=0)


def test_wrong_input_shape_names_both_shapes():
    tf.keras.backend.clear_session()
    model = tf.keras.Sequential([
        tfl.ZeroPadding2D(padding=3, input_shape=(64, 64, 3)),
        tfl.Conv2D(filters=32, kernel_size=7, strides=1),
        tfl.Flatten(),
        tfl.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x = np.zeros((2, 32, 32, 3), np.float32)
    with pytest.raises(ValueError, match=r"\(None, 64, 64, 3\).*\(2, 32, 32, 3\)"):
        model.fit(x, np.zeros((2, 1)), verbose=0)
    with pytest.raises(ValueError, match=r"\(None, 64, 64, 3\)"):
        model.predict(x, verbose=0)


def test_loss_that_does_not_fit_the_output():
    model = compiled(n_out=6, activation="softmax")
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x, _ = data(n=4)
    with pytest.raises(ValueError, match="binary_crossentropy"):
        model.fit(x, np.zeros((4, 1), np.float32), verbose=0)


@pytest.mark.parametrize("kwargs, match", [
    ({"optimizer": "adamm", "loss": "mse"}, "adamm"),
    ({"optimizer": "adam", "loss": "binary_crossentropyy"}, "binary_crossentropyy"),
    ({"optimizer": "adam", "loss": "mse", "metrics": ["acuracy"]}, "acuracy"),
])
def test_unknown_names(kwargs, match):
    model = compiled()
    with pytest.raises(ValueError, match=match):
        model.compile(**kwargs)


@pytest.mark.parametrize("split", [1.0, -0.1, 1.5])
def test_bad_validation_split(split):
    model = compiled()
    x, y = data(n=10)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=split, verbose=0)


def test_validation_split_with_dataset_or_too_few_samples():
    model = compiled()
    x, y = data(n=10)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(2), validation_split=0.2,
                  verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x[:1], y[:1], validation_split=0.5, verbose=0)


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (-4, ValueError),
                                               (2.5, TypeError)])  # TF 2.21: 2.5 TypeError
def test_bad_batch_size(batch_size, error):
    model = compiled()
    x, y = data(n=10)
    with pytest.raises(error, match="batch_size"):
        model.fit(x, y, batch_size=batch_size, verbose=0)
    with pytest.raises(error, match="batch_size"):
        model.predict(x, batch_size=batch_size, verbose=0)


def test_other_bad_arguments():
    model = compiled()
    x, y = data(n=10)
    with pytest.raises(ValueError, match="targets"):
        model.fit(x, verbose=0)
    with pytest.raises(ValueError, match="do not pass y"):
        model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(2), y, verbose=0)
    with pytest.raises(ValueError, match="validation_data"):
        model.fit(x, y, validation_data=x, verbose=0)
    with pytest.raises(ValueError, match="verbose"):
        model.fit(x, y, verbose=3)
    with pytest.raises(ValueError, match="numeric"):
        model.predict(np.array([["a"]] * 3), verbose=0)


def test_infinite_or_empty_data():
    model = compiled()
    x, y = data(n=8)
    forever = tf.data.Dataset.from_tensor_slices((x, y)).batch(4).repeat()
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit(forever, epochs=1, verbose=0)
    history = model.fit(forever, epochs=2, steps_per_epoch=3, verbose=0)
    assert len(history.history["loss"]) == 2
    with pytest.raises(ValueError, match="empty"):
        model.fit(x[:0], y[:0], verbose=0)
    with pytest.raises(ValueError, match="needs input data"):
        model.fit(None, y, verbose=0)


def test_checkpoint_and_csv_logger_callbacks(tmp_path):
    model = compiled()
    x, y = data(n=16)
    checkpoint = tf.keras.callbacks.ModelCheckpoint(str(tmp_path / "best.convnp"),
                                                    monitor="val_loss", save_best_only=True)
    logger = tf.keras.callbacks.CSVLogger(str(tmp_path / "log.csv"))
    model.fit(x, y, epochs=3, batch_size=8, validation_split=0.25, verbose=0,
              callbacks=[checkpoint, logger])
    assert (tmp_path / "best.convnp").is_file()
    lines = (tmp_path / "log.csv").read_text().strip().splitlines()
    assert len(lines) == 4 and "val_loss" in lines[0]


def test_sample_and_class_weights():
    x, y = data(n=16)
    model = compiled()
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.0),
                  loss="binary_crossentropy", metrics=["accuracy"])
    fused, _ = model._prepare_training()
    per_sample = tf.keras.losses.BinaryCrossentropy().per_sample  # on probabilities
    p = model.predict(x, verbose=0)
    w = np.linspace(0.0, 2.0, 16).astype(np.float32)
    # evaluate: sum(w * loss) / m with inference-mode predictions
    expected = float(np.sum(w * per_sample(y, p)) / 16)
    assert model.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0)[0] == pytest.approx(
        expected, rel=1e-4)
    # zero weights on half the samples: the loss sums the other half only (still over m)
    half = (np.arange(16) < 8).astype(np.float32)
    h = model.fit(x, y, sample_weight=half, batch_size=16, epochs=1, shuffle=False, verbose=0)
    unweighted = model._forward_with_loss(x, y, fused, True)[1]
    assert h.history["loss"][0] < unweighted
    # class_weight {0: 0, 1: 1} equals sample_weight = label
    a = compiled()
    ha = a.fit(x, y, class_weight={0: 0.0, 1: 1.0}, epochs=2, batch_size=8, verbose=0)
    b = compiled()
    hb = b.fit(x, y, sample_weight=y[:, 0], epochs=2, batch_size=8, verbose=0)
    assert ha.history == hb.history
    # a Dataset can carry the weights itself
    c = compiled()
    ds = tf.data.Dataset.from_tensor_slices((x, y, y[:, 0])).batch(8)
    hc = c.fit(ds, epochs=2, verbose=0)
    d = compiled()
    hd = d.fit(x, y, sample_weight=y[:, 0], epochs=2, batch_size=8, shuffle=False, verbose=0)
    assert hc.history == hd.history
    hv = d.fit(x, y, sample_weight=w, validation_split=0.25, epochs=1, verbose=0)
    assert set(hv.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    with pytest.raises(ValueError, match="sample_weight must have shape"):
        d.fit(x, y, sample_weight=np.ones(3), verbose=0)
    with pytest.raises(ValueError, match="yield"):
        d.fit(ds, class_weight={0: 1.0}, verbose=0)


def test_class_weight_with_a_dataset_weighs_each_batch_like_arrays():
    rng = np.random.default_rng(4)
    x = rng.random((48, 4)).astype(np.float32)
    labels = rng.integers(0, 3, 48)
    table = {0: 1.0, 1: 3.0, 2: 0.5}

    def trained(source, targets, **kwargs):
        tf.keras.utils.set_random_seed(2)
        model = tf.keras.Sequential([tf.keras.layers.Dense(3, activation="softmax",
                                                           input_shape=(4,))])
        loss = ("categorical_crossentropy" if np.ndim(targets) == 2
                else "sparse_categorical_crossentropy")
        model.compile(tf.keras.optimizers.SGD(0.1), loss)
        history = model.fit(*source, epochs=2, class_weight=table, shuffle=False, verbose=0,
                            **kwargs)
        return history.history["loss"], model.get_weights()

    for targets in (labels, np.eye(3, dtype=np.float32)[labels]):  # sparse and one-hot
        from_arrays = trained((x, targets), targets, batch_size=16)
        dataset = tf.data.Dataset.from_tensor_slices((x, targets)).batch(16)
        from_dataset = trained((dataset,), targets)
        assert from_dataset[0] == pytest.approx(from_arrays[0], rel=1e-6)
        for a, b in zip(from_arrays[1], from_dataset[1]):
            np.testing.assert_allclose(a, b, rtol=1e-6)
    unweighted = dict.fromkeys(range(3), 1.0)
    model = tf.keras.Sequential([tf.keras.layers.Dense(3, input_shape=(4,))])
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="also yields sample weights"):
        model.fit(tf.data.Dataset.from_tensor_slices((x, labels, np.ones(48))).batch(8),
                  class_weight=unweighted, verbose=0)
    with pytest.raises(ValueError, match="class_weight must be a dict"):
        model.fit(tf.data.Dataset.from_tensor_slices((x, labels)).batch(8),
                  class_weight=[1.0, 2.0], verbose=0)


def test_empty_validation_data_warns_and_logs_no_val_metrics():
    # Keras 3.15.1 logs no val_loss either, and warns that its input "ran out of data"
    model = tf.keras.Sequential([tf.keras.layers.Input((4,)), tf.keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.warns(UserWarning, match="validation data gave no batch in epoch 1"):
        history = model.fit(np.ones((8, 4)), np.ones((8, 1)), epochs=1, verbose=0,
                            validation_data=(np.zeros((0, 4)), np.zeros((0, 1))))
    assert sorted(history.history) == ["loss"]
