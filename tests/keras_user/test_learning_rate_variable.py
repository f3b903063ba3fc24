"""``optimizer.learning_rate`` answers Keras' variable calls, and ``keras.backend.get_value`` /
``set_value`` work on it the way Keras 2 programs use them in their own callbacks."""

import numpy as np
import pytest

import convnp as tf

K = tf.keras.backend


def small_model():
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse")
    return model


def test_assign_and_numpy_change_the_rate_used_by_the_next_step():
    model = small_model()
    x, y = np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32)
    model.optimizer.learning_rate.assign(0.0)
    before = [w.copy() for w in model.get_weights()]
    model.train_on_batch(x, y)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    model.optimizer.learning_rate.assign(0.05)
    assert model.optimizer.learning_rate.numpy() == np.float32(0.05)
    assert float(model.optimizer.lr) == pytest.approx(0.05)
    model.train_on_batch(x, y)
    assert not np.array_equal(before[0], model.get_weights()[0])


def test_backend_get_and_set_value_in_a_keras2_style_callback():
    model = small_model()
    seen = []

    class Halve(tf.keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            rate = K.get_value(self.model.optimizer.lr)
            seen.append(float(rate))
            K.set_value(self.model.optimizer.lr, rate / 2)

    model.fit(np.ones((4, 2)), np.zeros((4, 1)), epochs=3, verbose=0, callbacks=[Halve()])
    assert seen == pytest.approx([0.1, 0.05, 0.025])
    assert model.optimizer.get_config()["learning_rate"] == pytest.approx(0.0125)
    assert type(model.optimizer.get_config()["learning_rate"]) is float


def test_get_and_set_value_on_variables_and_bad_targets():
    v = tf.Variable([1.0, 2.0])
    K.set_value(v, [3.0, 4.0])
    np.testing.assert_array_equal(K.get_value(v), [3.0, 4.0])
    assert K.get_value(2.5) == 2.5
    with pytest.raises(TypeError, match="set_value needs a variable"):
        K.set_value(2.5, 1.0)
    with pytest.raises(ValueError):
        small_model().optimizer.learning_rate.assign(-1.0)


def test_a_scheduled_rate_cannot_be_assigned():
    schedule = tf.keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    opt = tf.keras.optimizers.Adam(schedule)
    assert float(opt.learning_rate) == pytest.approx(0.1)
    with pytest.raises(TypeError, match="schedule"):
        opt.learning_rate.assign(0.01)
