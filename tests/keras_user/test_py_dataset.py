"""keras.utils.PyDataset / Sequence and Python generators in fit, evaluate and predict;
Dataset.as_numpy_iterator().next()."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

tfl = tf.keras.layers


def _data(n=24, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    return x, y


def _model(seed=0, input_shape=True):
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(seed)
    first = tfl.Dense(3, activation="relu", **({"input_shape": (4,)} if input_shape else {}))
    model = tf.keras.Sequential([first, tfl.Dense(1, activation="sigmoid")])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


class Batches(tf.keras.utils.PyDataset):
    """Batches of 8 rows; records the hooks and the indices asked for."""

    def __init__(self, x, y, batch_size=8, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.asked: list[int] = []
        self.epochs_ended = 0
        self.epochs_begun = 0

    def __len__(self):
        return (len(self.x) + self.batch_size - 1) // self.batch_size

    def __getitem__(self, index):
        self.asked.append(index)
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[rows], self.y[rows]

    def on_epoch_begin(self):
        self.epochs_begun += 1

    def on_epoch_end(self):
        self.epochs_ended += 1


def test_as_numpy_iterator_has_next():
    ds = tf.data.Dataset.from_tensor_slices((np.arange(6).reshape(3, 2), np.arange(3)))
    it = ds.as_numpy_iterator()
    first = it.next()
    assert isinstance(first[0], np.ndarray) and first[0].tolist() == [0, 1]
    assert next(it)[1] == 1
    assert [e[1] for e in it] == [2]  # the same one-pass iterator goes on where it stopped
    with pytest.raises(StopIteration):
        it.next()
    assert iter(it) is it


def test_sequence_is_pydataset_and_checks_its_arguments():
    assert tf.keras.utils.Sequence is tf.keras.utils.PyDataset
    x, y = _data()
    seq = Batches(x, y, workers=2, use_multiprocessing=False, max_queue_size=4)
    assert (seq.workers, seq.use_multiprocessing, seq.max_queue_size) == (2, False, 4)
    assert seq.num_batches == 3
    assert Batches(x, y, workers=0).workers == 0  # Keras 2: "in the calling thread"
    with pytest.raises(ValueError, match="workers must be a non-negative int"):
        Batches(x, y, workers=-1)
    with pytest.raises(ValueError, match="max_queue_size"):
        Batches(x, y, max_queue_size=-1)
    with pytest.raises(TypeError, match="use_multiprocessing must be a bool"):
        Batches(x, y, use_multiprocessing="yes")


def test_pydataset_fit_matches_arrays_and_calls_hooks():
    x, y = _data()
    seq = Batches(x, y)
    history = _model().fit(seq, epochs=3, shuffle=False, verbose=0)
    assert seq.epochs_ended == 3 and seq.epochs_begun == 3
    assert seq.asked == [0, 1, 2] * 3
    reference = _model().fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], reference.history["loss"], rtol=1e-6)


def test_pydataset_shuffle_reorders_batches_and_validation_evaluate_predict():
    x, y = _data()
    seq = Batches(x, y)
    model = _model()
    model.fit(seq, epochs=4, shuffle=True, verbose=0, validation_data=Batches(x, y))
    passes = [sorted(seq.asked[i:i + 3]) for i in range(0, 12, 3)]
    assert passes == [[0, 1, 2]] * 4
    assert seq.asked != [0, 1, 2] * 4  # 4 passes of 3 batches: in order each time is 1/1296
    loss, _ = model.evaluate(Batches(x, y), verbose=0)
    assert loss == pytest.approx(model.evaluate(x, y, batch_size=8, verbose=0)[0], rel=1e-6)
    pred = model.predict(Batches(x, y), verbose=0)
    np.testing.assert_allclose(pred, model.predict(x, verbose=0), rtol=1e-6)
    assert "val_loss" in model.history.history


def test_pydataset_steps_per_epoch_reads_on_and_builds_model():
    x, y = _data()
    seq = Batches(x, y)
    model = _model(input_shape=False)  # built from the first batch
    # three batches, two steps an epoch: the second epoch reads on to the third batch and
    # ends there, short (TF 2.21 trains on 2 then 1 batches too)
    with pytest.warns(UserWarning, match="ran out of data after 1 of 2 steps in epoch 2"):
        history = model.fit(seq, epochs=2, steps_per_epoch=2, shuffle=False, verbose=0)
    assert seq.asked == [0, 0, 1, 2]  # index 0 read once to build, then 0,1 | 2
    assert seq.epochs_ended == 1
    assert history.epoch == [0, 1]
    assert model.built


def test_pydataset_without_super_init_and_bad_len():
    x, y = _data()

    class NoInit(tf.keras.utils.Sequence):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8]

    seq = NoInit()
    assert seq.workers == 1 and seq.max_queue_size == 10
    _model().fit(seq, epochs=1, verbose=0)

    class BadLen(NoInit):
        def __len__(self):
            return 2.5  # noqa: PLE0303 (a wrong length on purpose)

    with pytest.raises((TypeError, ValueError)):
        _model().fit(BadLen(), epochs=1, verbose=0)

    class Missing(tf.keras.utils.PyDataset):
        pass

    with pytest.raises(NotImplementedError, match="__len__"):
        _model().fit(Missing(), epochs=1, verbose=0)


def test_generator_with_steps_per_epoch_keeps_first_batch():
    x, y = _data()
    seen = []

    def forever():
        i = 0
        while True:
            seen.append(i % 3)
            rows = slice((i % 3) * 8, (i % 3 + 1) * 8)
            yield x[rows], y[rows]
            i += 1

    model = _model(input_shape=False)
    model.fit(forever(), epochs=2, steps_per_epoch=3, shuffle=False, verbose=0)
    reference = _model().fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    # the batch looked at to build the model is trained on, not lost
    np.testing.assert_allclose(model.history.history["loss"], reference.history["loss"],
                               rtol=1e-6)
    assert len(seen) in (6, 7)


def test_keras2_loader_options_in_fit_evaluate_predict():
    x, y = _data()
    model = _model()
    model.fit(Batches(x, y), epochs=1, verbose=0, workers=4, use_multiprocessing=True,
              max_queue_size=20)
    model.evaluate(Batches(x, y), verbose=0, workers=2)
    model.predict(x, verbose=0, use_multiprocessing=False)
    with pytest.raises(ValueError, match="fit\\(\\): max_queue_size"):
        model.fit(x, y, epochs=1, verbose=0, max_queue_size=0)
    with pytest.raises(TypeError, match="predict\\(\\): use_multiprocessing"):
        model.predict(x, verbose=0, use_multiprocessing=1)


def test_keras_2_generator_methods_warn_and_do_what_fit_evaluate_predict_do():
    """fit_generator / evaluate_generator / predict_generator (Keras 2, gone from Keras 3)
    still run older notebooks: same numbers as fit / evaluate / predict on the same batches."""
    import warnings

    import numpy as np

    import convnp as tf

    rng = np.random.default_rng(0)
    x = rng.random((24, 5)).astype(np.float32)
    y = (x.sum(axis=1, keepdims=True) > 2.5).astype(np.float32)

    def batches():
        while True:
            for i in range(0, 24, 8):
                yield x[i:i + 8], y[i:i + 8]

    def model():
        tf.keras.utils.set_random_seed(3)
        m = tf.keras.Sequential([tf.keras.Input((5,)), tf.keras.layers.Dense(1, "sigmoid")])
        m.compile("sgd", "binary_crossentropy", metrics=["accuracy"])
        return m

    old, new = model(), model()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old.fit_generator(batches(), steps_per_epoch=3, epochs=2, verbose=0)
        old_eval = old.evaluate_generator(batches(), steps=3)
        old_pred = old.predict_generator((x[i:i + 8] for i in range(0, 24, 8)), steps=3)
    assert [str(w.message).split("`")[1] for w in caught] == [
        "Model.fit_generator", "Model.evaluate_generator", "Model.predict_generator"]
    new.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0)
    assert old_eval == new.evaluate(batches(), steps=3, verbose=0)
    np.testing.assert_array_equal(old_pred, new.predict(x, verbose=0))


def test_uncompiled_model_predicts_on_pydataset_and_dataset():
    # keras.io's U-Net example calls predict on its Sequence loader; an uncompiled model has
    # no per-output specs and must still predict (the (x, y) batches' targets are ignored)
    x, y = _data()
    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((4,))
    model = tf.keras.Model(inputs, tfl.Dense(2)(inputs))
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(model.predict(Batches(x, y), verbose=0), expected, rtol=1e-6)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(5)
    np.testing.assert_allclose(model.predict(ds, verbose=0), expected, rtol=1e-6)
