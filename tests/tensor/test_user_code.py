"""Code users write without a backward: custom layers, subclassed models, losses as functions
or Loss subclasses, function metrics, keras.io's custom training loop."""

import numpy as np
import pytest

import convnp as tf

tfl = tf.keras.layers


def _blobs(n=200, seed=0):
    """Two Gaussian blobs in 4-D (a linearly separable binary problem)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    x = rng.normal(size=(n, 4)) + (2 * y[:, None] - 1) * 1.2
    return x.astype(np.float32), y.astype(np.float32)[:, None]


class Linear(tf.keras.layers.Layer):
    """keras.io's custom Dense: no training/mask argument, weights from add_weight."""

    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return tf.matmul(inputs, self.w) + self.b


class NoisyScale(tf.keras.layers.Layer):
    """Takes `training` and holds a tf.Variable made in __init__ (tracked by assignment)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.scale = tf.Variable(1.0, name="scale")
        self.seen_training = []

    def call(self, x, training=None):
        self.seen_training.append(training)
        return x * self.scale


def test_custom_layer_trains_in_fit_and_infers_its_output_shape():
    tf.keras.utils.set_random_seed(0)
    x, y = _blobs()
    noisy = NoisyScale()
    inputs = tf.keras.Input(shape=(4,))
    hidden = Linear(8, name="linear")(inputs)
    assert hidden.shape == (None, 8)  # compute_output_shape by a trial call
    out = tfl.Dense(1, activation="sigmoid")(tfl.Activation("relu")(noisy(hidden)))
    model = tf.keras.Model(inputs, out)
    assert [v.name for v in noisy.trainable_weights] == ["scale"]
    assert model.count_params() == 4 * 8 + 8 + 1 + 9
    before = [w.copy() for w in model.get_weights()]
    model.compile(tf.keras.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    assert all(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    assert True in noisy.seen_training  # fit passes training=True to a call that takes it
    model.evaluate(x, y, verbose=0)
    assert noisy.seen_training[-1] is False


def test_custom_layer_gradients_agree_with_a_built_in_dense():
    tf.keras.utils.set_random_seed(1)
    x, y = _blobs(32)
    custom = tf.keras.Sequential([tf.keras.Input(shape=(4,)), Linear(1)])
    builtin = tf.keras.Sequential([tf.keras.Input(shape=(4,)), tfl.Dense(1)])
    builtin.set_weights(custom.get_weights())
    grads = []
    for model in (custom, builtin):
        model.compile("sgd", "mse")
        fused, variables = model._prepare_training()
        model._compute_gradients([x], y, fused)
        grads.append([np.array(v.grad) for v in variables])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


class TwoLayer(tf.keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = tfl.Dense(8, activation="relu")
        self.out = tfl.Dense(1, activation="sigmoid")

    def call(self, inputs, training=False):
        return self.out(self.hidden(inputs))


def test_overriding_call_of_a_built_in_layer_without_backward_is_refused():
    with pytest.raises(TypeError, match="overrides call.. of the built-in layer Dense"):
        class Doubled(tfl.Dense):
            def call(self, inputs, training=False):
                return super().call(inputs) * 2

    class Wrapped(tf.keras.layers.Layer):  # the supported way
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = tfl.Dense(2)

        def call(self, inputs):
            return self.dense(inputs) * 2

    layer = Wrapped()
    x = np.ones((3, 4), dtype=np.float32)
    assert layer(x).shape == (3, 2) and len(layer.trainable_weights) == 2
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(layer(x))
    grads = tape.gradient(y, layer.trainable_weights)
    np.testing.assert_allclose(grads[1].numpy(), [6.0, 6.0])


def test_subclassed_model_builds_summarizes_fits_evaluates_predicts_saves(tmp_path):
    tf.keras.utils.set_random_seed(2)
    x, y = _blobs()
    model = TwoLayer()
    assert model.name.startswith("two_layer") and not model.built
    model.build((None, 4))
    assert model.built and len(model.weights) == 4 and model.count_params() == 49
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "hidden" in text or "dense" in text
    assert "Total params: 49" in text
    out = model(x[:3])
    assert out.shape == (3, 1) and isinstance(out, tf.Tensor)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=20, batch_size=32, verbose=0)
    _loss, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.9
    pred = model.predict(x, verbose=0)
    assert type(pred) is np.ndarray and pred.shape == (200, 1)
    path = tmp_path / "two.weights.npz"
    model.save_weights(path)
    other = TwoLayer()
    other(x[:1])
    other.load_weights(path)
    np.testing.assert_allclose(other.predict(x, verbose=0), pred, rtol=1e-6)


def test_subclassed_model_builds_on_first_call_and_under_a_tape():
    tf.keras.utils.set_random_seed(3)
    model = TwoLayer()
    x, y = _blobs(16)
    with tf.GradientTape() as tape:
        pred = model(x, training=True)
        loss = tf.reduce_mean(tf.square(pred - y))
    grads = tape.gradient(loss, model.trainable_variables)
    assert len(grads) == 4 and all(g is not None for g in grads)


def weighted_mse(y_true, y_pred):
    return tf.reduce_mean(tf.square(y_true - y_pred) * 2.0, axis=-1)


class HalfMSE(tf.keras.losses.Loss):
    def call(self, y_true, y_pred):
        return 0.5 * tf.reduce_mean(tf.square(y_pred - y_true), axis=-1)


def rounded_accuracy(y_true, y_pred):
    return tf.cast(tf.equal(y_true, tf.round(y_pred)), tf.float32)


@pytest.mark.parametrize("loss", [weighted_mse, HalfMSE()], ids=["function", "subclass"])
def test_function_loss_loss_subclass_and_function_metric_train(loss):
    tf.keras.utils.set_random_seed(4)
    x, y = _blobs()
    model = tf.keras.Sequential([tf.keras.Input(shape=(4,)), tfl.Dense(1, activation="sigmoid")])
    model.compile(tf.keras.optimizers.Adam(0.05), loss=loss, metrics=[rounded_accuracy])
    history = model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["rounded_accuracy"][-1] > 0.9
    # its gradient equals the closed form
    pred = np.random.default_rng(0).uniform(size=(5, 1)).astype(np.float32)
    target = np.ones((5, 1), dtype=np.float32)
    factor = 4.0 if loss is weighted_mse else 1.0
    grad = model.compiled_loss.gradient(target, pred)
    np.testing.assert_allclose(grad, factor * (pred - target) / 5, rtol=1e-6)


def _squares(n=256, seed=5):
    """8x8 one-channel images: a bright 3x3 square top-left (class 0) or bottom-right (1)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    x = rng.uniform(0, 0.3, size=(n, 8, 8, 1)).astype(np.float32)
    for i, c in enumerate(labels):
        r, q = (rng.integers(0, 2), rng.integers(0, 2)) if c == 0 else (
            rng.integers(3, 5), rng.integers(3, 5))
        x[i, r:r + 3, q:q + 3, 0] += 0.7
    return x, labels.astype(np.int64)


def test_keras_io_custom_training_loop_reaches_fits_accuracy():
    x, labels = _squares()

    def make():
        tf.keras.utils.set_random_seed(6)
        return tf.keras.Sequential([
            tf.keras.Input(shape=(8, 8, 1)), tfl.Conv2D(4, 3, activation="relu"),
            tfl.MaxPooling2D(2), tfl.Flatten(), tfl.Dense(2)])

    model = make()
    optimizer = tf.keras.optimizers.Adam(learning_rate=1e-2)
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    metric = tf.keras.metrics.SparseCategoricalAccuracy()
    dataset = tf.data.Dataset.from_tensor_slices((x, labels)).shuffle(256).batch(32)

    @tf.function
    def train_step(xb, yb):
        with tf.GradientTape() as tape:
            logits = model(xb, training=True)
            loss_value = loss_fn(yb, logits)
        grads = tape.gradient(loss_value, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        metric.update_state(yb, logits)
        return loss_value

    for _ in range(6):
        metric.reset_state()
        for xb, yb in dataset:
            train_step(xb, yb)
    loop_acc = float(metric.result())

    reference = make()
    reference.compile(tf.keras.optimizers.Adam(1e-2),
                      tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    fit_acc = reference.fit(x, labels, epochs=6, batch_size=32, verbose=0).history["accuracy"][-1]
    assert loop_acc > 0.9 and abs(loop_acc - fit_acc) < 0.05


class CustomFit(tf.keras.Model):
    """keras.io's "customizing what happens in fit()" (Keras 3), on a functional graph."""

    steps = 0
    apply_spelling = False  # Keras 2's apply_gradients(pairs), or Keras 3's apply(grads, vars)

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        if self.apply_spelling:
            self.optimizer.apply(gradients, trainable_vars)
        else:
            self.optimizer.apply_gradients(zip(gradients, trainable_vars))
        CustomFit.steps += 1
        return self.update_metrics(loss, y, y_pred)

    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        return self.update_metrics(loss, y, y_pred)

    def update_metrics(self, loss, y, y_pred):
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def test_train_step_and_test_step_overrides_with_the_tape_and_compute_loss():
    tf.keras.utils.set_random_seed(7)
    x, y = _blobs()
    inputs = tf.keras.Input(shape=(4,))
    outputs = tfl.Dense(1, activation="sigmoid")(tfl.Dense(8, activation="relu")(inputs))
    model = CustomFit(inputs, outputs)
    model.compile(tf.keras.optimizers.Adam(0.02), "binary_crossentropy", metrics=["accuracy"])
    CustomFit.steps = 0
    history = model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    assert CustomFit.steps == 8 * 7
    assert set(history.history) == {"loss", "accuracy"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9
    loss, acc = model.evaluate(x, y, batch_size=200, verbose=0)  # one batch: a plain mean
    assert acc > 0.9 and loss == pytest.approx(
        float(tf.keras.losses.BinaryCrossentropy()(y, model.predict(x, verbose=0))), rel=1e-4)
    assert [m.name for m in model.metrics] == ["accuracy"]  # outside a step: the compiled ones


class CustomFitApply(CustomFit):
    """The same step in the Keras 3 guide's own spelling: ``self.optimizer.apply``."""

    apply_spelling = True


def test_optimizer_apply_in_a_train_step_is_apply_gradients():
    x, y = _blobs()
    weights = []
    for cls in (CustomFit, CustomFitApply):
        tf.keras.utils.set_random_seed(9)
        inputs = tf.keras.Input(shape=(4,))
        model = cls(inputs, tfl.Dense(1, activation="sigmoid")(tfl.Dense(8)(inputs)))
        model.compile(tf.keras.optimizers.Adam(0.02), "binary_crossentropy")
        model.fit(x, y, epochs=2, batch_size=32, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_a_subclassed_model_used_as_a_layer_of_a_functional_model_trains():
    tf.keras.utils.set_random_seed(8)
    x, y = _blobs()
    inner = TwoLayer()
    inputs = tf.keras.Input(shape=(4,))
    outer = tf.keras.Model(inputs, inner(inputs))
    assert len(outer.trainable_weights) == 4
    outer.compile(tf.keras.optimizers.Adam(0.02), "binary_crossentropy", metrics=["accuracy"])
    history = outer.fit(x, y, epochs=10, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


class Keras2Fit(tf.keras.Model):
    """The Keras 2 spelling of a custom train_step (compiled_loss / compiled_metrics)."""

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compiled_loss(y, y_pred, regularization_losses=self.losses)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        self.compiled_metrics.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def test_keras_2_train_step_spelling():
    tf.keras.utils.set_random_seed(9)
    x, y = _blobs()
    inputs = tf.keras.Input(shape=(4,))
    model = Keras2Fit(inputs, tfl.Dense(1, activation="sigmoid")(inputs))
    model.compile(tf.keras.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=6, batch_size=50, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9
    assert model.compiled_metrics.result().keys() == {"accuracy"}
    assert type(model.compiled_loss).__name__ == "BinaryCrossentropy"  # restored after steps


def test_variable_path_names_the_layer_as_keras_3():
    tf.keras.backend.clear_session()
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2, name="head"),
                                 tf.keras.layers.BatchNormalization(name="bn")])
    # TF 2.21: a Sequential builds its layers inside its own name scope
    assert [v.path for v in model.weights] == [
        "sequential/head/kernel", "sequential/head/bias", "sequential/bn/gamma",
        "sequential/bn/beta", "sequential/bn/moving_mean", "sequential/bn/moving_variance"]
    assert tf.Variable(1.0, name="step").path == "step"
