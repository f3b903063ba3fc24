"""keras.io's "Knowledge Distillation" (examples/vision/knowledge_distillation) as the page
writes it in Keras 3: a ``Distiller(keras.Model)`` whose ``compile`` takes the two loss
functions, ``alpha`` and ``temperature`` and calls ``super().compile(optimizer, metrics)``,
whose ``compute_loss`` runs the teacher and mixes the student's loss with
``KLDivergence`` of the temperature-softened softmaxes, and whose ``call`` is the student;
fit and evaluate use the default steps. Teacher and student are the page's Sequential CNNs
(narrower here), the teacher first trained on its own, a clone of the student trained from
scratch for comparison.

``DISTILLATION`` (tests/fixtures/make_distillation.py) holds what Keras 3.15 on TensorFlow
reports for the same program from the same starting weights and batches. As in Keras, the
teacher is a tracked attribute of the distiller, so unless it is frozen
(``teacher.trainable = False``, which the page does not do) the distiller's optimizer moves
the teacher's weights too, through the distillation term."""

from __future__ import annotations

import os

import numpy as np
import pytest

from convnp import keras
from convnp.keras import layers, ops

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "distillation.npz")


class Distiller(keras.Model):
    def __init__(self, student, teacher):
        super().__init__()
        self.teacher = teacher
        self.student = student

    def compile(
        self,
        optimizer,
        metrics,
        student_loss_fn,
        distillation_loss_fn,
        alpha=0.1,
        temperature=3,
    ):
        """Configure the distiller.

        Args:
            optimizer: Keras optimizer for the student weights
            metrics: Keras metrics for evaluation
            student_loss_fn: Loss function of difference between student
                predictions and ground-truth
            distillation_loss_fn: Loss function of difference between soft
                student predictions and soft teacher predictions
            alpha: weight to student_loss_fn and 1-alpha to distillation_loss_fn
            temperature: Temperature for softening probability distributions.
                Larger temperature gives softer distributions.
        """
        super().compile(optimizer=optimizer, metrics=metrics)
        self.student_loss_fn = student_loss_fn
        self.distillation_loss_fn = distillation_loss_fn
        self.alpha = alpha
        self.temperature = temperature

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, allow_empty=False
    ):
        teacher_pred = self.teacher(x, training=False)
        student_loss = self.student_loss_fn(y, y_pred)

        distillation_loss = self.distillation_loss_fn(
            ops.softmax(teacher_pred / self.temperature, axis=1),
            ops.softmax(y_pred / self.temperature, axis=1),
        ) * (self.temperature**2)

        loss = self.alpha * student_loss + (1 - self.alpha) * distillation_loss
        return loss

    def call(self, x):
        return self.student(x)


def cnn(name, filters):
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(filters[0], (3, 3), strides=(2, 2), padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.MaxPooling2D(pool_size=(2, 2), strides=(1, 1), padding="same"),
            layers.Conv2D(filters[1], (3, 3), strides=(2, 2), padding="same"),
            layers.Flatten(),
            layers.Dense(10),
        ],
        name=name,
    )


def starting_weights(model, seed):
    """The fixture script's starting weights (same generator, same order)."""
    rng = np.random.default_rng(seed)
    out = []
    for w in model.get_weights():
        if w.ndim == 1:
            out.append(rng.uniform(-0.05, 0.05, w.shape).astype(np.float32))
        else:
            lim = np.sqrt(6.0 / (np.prod(w.shape[:-1]) + w.shape[-1]))
            out.append(rng.uniform(-lim, lim, w.shape).astype(np.float32))
    return out


def data():
    """Ten noisy prototypes standing in for MNIST digits (the fixture's data)."""
    rng = np.random.default_rng(7)
    y = rng.integers(0, 10, 48)
    protos = rng.random((10, 28, 28, 1)).astype(np.float32)
    x = (protos[y] + 0.3 * rng.random((48, 28, 28, 1))).astype(np.float32)
    return x[:32], y[:32], x[32:], y[32:]


def make_models():
    teacher, student = cnn("teacher", (8, 16)), cnn("student", (4, 8))
    teacher.set_weights(starting_weights(teacher, 1))
    student.set_weights(starting_weights(student, 2))
    return teacher, student


def compile_distiller(distiller):
    distiller.compile(
        optimizer=keras.optimizers.Adam(),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
        student_loss_fn=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        distillation_loss_fn=keras.losses.KLDivergence(),
        alpha=0.1,
        temperature=10,
    )


def train_teacher(teacher, x_train, y_train):
    teacher.compile(
        optimizer=keras.optimizers.Adam(),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
    )
    return teacher.fit(x_train, y_train, epochs=2, batch_size=16, shuffle=False, verbose=0)


@pytest.fixture(scope="module")
def expected():
    with np.load(FIXTURE) as f:
        return {k: f[k] for k in f.files}


@pytest.fixture(scope="module")
def run():
    x_train, y_train, x_test, y_test = data()
    teacher, student = make_models()
    t_hist = train_teacher(teacher, x_train, y_train)
    t_eval = teacher.evaluate(x_test, y_test, verbose=0)
    teacher_trained = [w.copy() for w in teacher.get_weights()]
    student_before = [w.copy() for w in student.get_weights()]

    distiller = Distiller(student=student, teacher=teacher)
    compile_distiller(distiller)
    d_hist = distiller.fit(x_train, y_train, epochs=2, batch_size=16, shuffle=False,
                           verbose=0)
    d_eval = distiller.evaluate(x_test, y_test, verbose=0)
    return {"teacher": teacher, "student": student, "distiller": distiller,
            "t_hist": t_hist.history, "t_eval": t_eval, "d_hist": d_hist.history,
            "d_eval": d_eval, "teacher_trained": teacher_trained,
            "student_before": student_before}


def _weights(expected, prefix):
    n = len([k for k in expected if k.startswith(prefix + "/")])
    return [expected[f"{prefix}/{i}"] for i in range(n)]


def test_teacher_trains_as_in_keras(run, expected):
    assert sorted(run["t_hist"]) == expected["teacher_history_keys"].tolist()
    for key, values in run["t_hist"].items():
        np.testing.assert_allclose(values, expected[f"teacher_history/{key}"], rtol=1e-4)
    np.testing.assert_allclose(run["t_eval"], expected["teacher_eval"], rtol=1e-4)
    for got, want in zip(run["teacher_trained"], _weights(expected, "teacher_trained")):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)


def test_distiller_history_and_evaluate_match_keras(run, expected):
    # the keys Keras reports: the compiled metric's name and the loss compute_loss returns
    assert sorted(run["d_hist"]) == expected["distiller_history_keys"].tolist() == [
        "loss", "sparse_categorical_accuracy"]
    for key, values in run["d_hist"].items():
        np.testing.assert_allclose(values, expected[f"distiller_history/{key}"], rtol=1e-4)
    loss, accuracy = run["d_eval"]
    np.testing.assert_allclose([loss, accuracy], expected["distiller_eval"], rtol=1e-4)
    _, _, x_test, y_test = data()
    logs = run["distiller"].evaluate(x_test, y_test, verbose=0, return_dict=True)
    assert logs == pytest.approx({"loss": loss, "sparse_categorical_accuracy": accuracy})


def test_distiller_moves_the_student_and_the_unfrozen_teacher(run, expected):
    distiller, student, teacher = run["distiller"], run["student"], run["teacher"]
    # the student and the teacher are both tracked, so both are trained (as in Keras)
    assert len(distiller.trainable_weights) == len(student.trainable_weights) + len(
        teacher.trainable_weights)
    assert all(not np.array_equal(b, a) for b, a in zip(run["student_before"],
                                                       student.get_weights()))
    for got, want in zip(student.get_weights(), _weights(expected, "student_after")):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)
    for got, want in zip(teacher.get_weights(), _weights(expected, "teacher_after")):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)
    # call is the student
    x = data()[2][:4]
    np.testing.assert_allclose(distiller.predict(x, verbose=0), student.predict(x, verbose=0),
                               rtol=1e-6)


def test_a_frozen_teacher_keeps_its_weights():
    x_train, y_train, _, _ = data()
    teacher, student = make_models()
    teacher.trainable = False
    distiller = Distiller(student=student, teacher=teacher)
    compile_distiller(distiller)
    assert [id(v) for v in distiller.trainable_weights] == [
        id(v) for v in student.trainable_weights]
    t_before = [w.copy() for w in teacher.get_weights()]
    s_before = [w.copy() for w in student.get_weights()]
    hist = distiller.fit(x_train, y_train, epochs=1, batch_size=16, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    assert all(np.array_equal(b, a) for b, a in zip(t_before, teacher.get_weights()))
    assert all(not np.array_equal(b, a) for b, a in zip(s_before, student.get_weights()))


def test_student_from_scratch_for_comparison():
    x_train, y_train, x_test, y_test = data()
    _, student = make_models()
    student_scratch = keras.models.clone_model(student)
    assert student_scratch.count_params() == student.count_params()
    # a clone starts from fresh weights
    assert not all(np.array_equal(a, b) for a, b in zip(student_scratch.get_weights(),
                                                        student.get_weights()))
    student_scratch.compile(
        optimizer=keras.optimizers.Adam(),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy()],
    )
    hist = student_scratch.fit(x_train, y_train, epochs=3, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    loss, accuracy = student_scratch.evaluate(x_test, y_test, verbose=0)
    assert np.isfinite(loss) and 0.0 <= accuracy <= 1.0
