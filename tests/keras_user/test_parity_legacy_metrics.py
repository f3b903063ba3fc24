"""``metric.variables`` of the built-in metrics as TF 2.21 (Keras 3.15) lists them: names,
paths, shapes, dtypes, values after ``update_state`` and ``reset_state``, ``assign``; and the
state values that depend on Keras' per-sample reduction and float32 thresholds. Every
expected value here is TF 2.21's output for the same calls."""

import numpy as np
import pytest

import convnp as tf

M = tf.keras.metrics
Y_TRUE = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], np.float32)
Y_PRED = np.array([[0.2, 0.7], [0.6, 0.4], [0.9, 0.3]], np.float32)


@pytest.fixture(autouse=True)
def fresh_session():
    """Keras 3 numbers unnamed metrics per session (precision, precision_1, ...): each test
    starts a fresh one, as a new TF 2.21 process would."""
    tf.keras.backend.clear_session()


def layout(metric):
    return [(v.name, v.path, tuple(v.shape), np.dtype(v.dtype).name) for v in metric.variables]


def values(metric):
    return [np.asarray(v.numpy(), dtype=float).ravel().round(4).tolist()
            for v in metric.variables]


@pytest.mark.parametrize("make, expected", [
    (lambda: M.Mean(), [("total", "mean/total", (), "float32"),
                        ("count", "mean/count", (), "float32")]),
    (lambda: M.Sum(), [("total", "sum/total", (), "float32")]),
    (lambda: M.CategoricalAccuracy(name="acc"), [("total", "acc/total", (), "float32"),
                                                 ("count", "acc/count", (), "float32")]),
    (lambda: M.AUC(num_thresholds=5), [
        (n, f"auc/{n}", (5,), "float32")
        for n in ("true_positives", "false_positives", "true_negatives", "false_negatives")]),
    (lambda: M.Precision(thresholds=[0.3, 0.6]), [
        ("true_positives", "precision/true_positives", (2,), "float32"),
        ("false_positives", "precision/false_positives", (2,), "float32")]),
    (lambda: M.Recall(), [("true_positives", "recall/true_positives", (1,), "float32"),
                          ("false_negatives", "recall/false_negatives", (1,), "float32")]),
    (lambda: M.FalsePositives(thresholds=[0.1, 0.5, 0.9]), [
        ("accumulator", "false_positives/accumulator", (3,), "float32")]),
    (lambda: M.PrecisionAtRecall(0.5, num_thresholds=3), [
        (n, f"precision_at_recall/{n}", (3,), "float32")
        for n in ("true_positives", "false_positives", "true_negatives", "false_negatives")]),
    (lambda: M.MeanIoU(num_classes=3), [
        ("total_confusion_matrix", "mean_io_u/total_confusion_matrix", (3, 3), "int64")]),
    (lambda: M.R2Score(), [("num_samples", "r2_score/num_samples", (), "float32")]),
    (lambda: M.F1Score(), []),
    (lambda: M.AUC(multi_label=True), []),
])
def test_variables_before_any_update(make, expected):
    metric = make()
    assert layout(metric) == expected
    assert all(not v.trainable for v in metric.variables)


@pytest.mark.parametrize("make, args, expected", [
    (lambda: M.Mean(), ([1.0, 2.0, 4.0],), [[7.0], [3.0]]),
    # per-label accuracies count once per sample, as their mean
    (lambda: M.BinaryAccuracy(), (Y_TRUE, Y_PRED), [[2.5], [3.0]]),
    (lambda: M.MeanSquaredError(), (Y_TRUE, Y_PRED), [[0.475], [3.0]]),
    (lambda: M.AUC(num_thresholds=5), (Y_TRUE, Y_PRED),
     [[4, 4, 3, 1, 0], [2, 1, 0, 0, 0], [0, 1, 2, 2, 2], [0, 0, 1, 3, 4]]),
    # 0.3 and 0.6 are not above the thresholds 0.3 and 0.6 (compared in float32)
    (lambda: M.Precision(thresholds=[0.3, 0.6]), (Y_TRUE, Y_PRED), [[3, 2], [1, 0]]),
    (lambda: M.TrueNegatives(), (Y_TRUE, Y_PRED), [[2.0]]),
    (lambda: M.MeanIoU(num_classes=2), ([0, 1, 1], [0, 1, 0]), [[1, 0, 1, 1]]),
    (lambda: M.F1Score(), (Y_TRUE, Y_PRED), [[2, 1], [0, 0], [0, 1], [2, 2]]),
    (lambda: M.R2Score(), (Y_TRUE, Y_PRED),
     [[6.0], [2.0, 2.0], [2.0, 2.0], [0.21, 0.74], [3.0, 3.0]]),
])
def test_variables_follow_updates_and_reset(make, args, expected):
    metric = make()
    metric.update_state(*args)
    assert values(metric) == expected
    metric.reset_state()
    assert values(metric) == [[0.0] * len(v) for v in expected]


def test_variables_built_with_the_first_batch():
    f1 = M.FBetaScore(beta=2.0, average="macro")
    f1.update_state(Y_TRUE, Y_PRED)
    assert [v.path for v in f1.variables] == [
        "fbeta_score/true_positives", "fbeta_score/false_positives",
        "fbeta_score/false_negatives", "fbeta_score/intermediate_weights"]
    auc = M.AUC(num_thresholds=4, multi_label=True)
    auc.update_state(Y_TRUE, Y_PRED)
    assert [tuple(v.shape) for v in auc.variables] == [(4, 2)] * 4
    assert values(auc)[0][:4] == [2, 2, 2, 1]
    auc.reset_state()  # TF keeps the variables it made, zeroed
    assert [tuple(v.shape) for v in auc.variables] == [(4, 2)] * 4
    r2 = M.R2Score()
    r2.update_state(Y_TRUE, Y_PRED)
    assert [v.name for v in r2.variables] == ["num_samples", "squared_sum", "sum", "residual",
                                              "count"]


def test_variables_are_live_views():
    metric = M.Mean()
    held = metric.variables
    metric.update_state([3.0])
    assert held[0] is metric.variables[0]
    assert (float(held[0].numpy()), float(held[1].numpy())) == (3.0, 1.0)
    metric.update_state([2.0, 4.0])
    held[0].assign(10.0)
    assert float(metric.result()) == pytest.approx(10.0 / 3)
    held[1].assign_add(2.0)
    assert float(metric.result()) == 2.0
    tp = M.TruePositives()
    tp.update_state([1, 1], [0.9, 0.2])
    tp.variables[0].assign([5.0])
    assert float(tp.result()) == 5.0


@pytest.mark.parametrize("make, args, kwargs, state, result", [
    (M.Mean, ([1.0, 2.0, 3.0],), {"sample_weight": 2.0}, [4.0, 2.0], 2.0),
    (M.Mean, ([[1.0, 2.0], [3.0, 5.0]],), {"sample_weight": [1.0, 0.5]}, [3.5, 1.5], 2.33333),
    (M.Mean, ([[1.0, 2.0], [3.0, 5.0]],), {"sample_weight": [[1.0, 0.0], [0.5, 2.0]]},
     [6.25, 1.75], 3.57143),
    (M.Mean, ([[1.0, 2.0], [3.0, 5.0]],), {"sample_weight": 3.0}, [8.25, 3.0], 2.75),
    (M.Mean, (4.0,), {}, [4.0, 1.0], 4.0),
    (M.Mean, (np.ones((2, 3, 4)),), {}, [2.0, 2.0], 1.0),
    (M.Sum, ([[1.0, 2.0], [3.0, 5.0]],), {"sample_weight": [1.0, 0.5]}, [7.0], 7.0),
    (M.Sum, ([[1.0, 2.0], [3.0, 5.0]],), {"sample_weight": 2.0}, [22.0], 22.0),
])
def test_mean_state_is_per_sample(make, args, kwargs, state, result):
    metric = make()
    metric.update_state(*args, **kwargs)
    assert [round(float(v.numpy()), 4) for v in metric.variables] == state
    assert round(float(metric.result()), 5) == result


def test_thresholds_compare_in_float32():
    precision = M.Precision(thresholds=0.3)
    precision.update_state([1, 0, 1], np.array([0.3, 0.7, 0.31], np.float32))
    assert float(precision.result()) == 0.5
    auc = M.AUC(num_thresholds=3)
    auc.update_state([1, 0, 1, 0], [0.5, 0.5, 1.0, 0.0])
    assert [float(np.sum(v.numpy())) for v in auc.variables] == [3.0, 2.0, 4.0, 3.0]
    assert float(auc.result()) == 0.75


class _Counter(M.Metric):
    """A user's metric whose constructor needs an argument its config does not give."""

    def __init__(self, step, **kwargs):
        super().__init__(**kwargs)
        self.step = step
        self.total = self.add_weight(name="t", shape=(), initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.total.assign_add(self.step)

    def result(self):
        return self.total


@pytest.mark.parametrize("make, keys", [
    (lambda: ["mse", "mse"], ["loss", "mse", "mse_1"]),
    (lambda: [M.Precision(name="p"), M.Recall(name="p")], ["loss", "p", "p_1"]),
    (lambda: [M.Precision(class_id=0), M.Precision(thresholds=0.7)],
     ["loss", "precision", "precision_1"]),
])
def test_compile_numbers_metrics_of_the_same_name(make, keys):
    # TF 2.21 numbers the second of two metrics of one name (convnp raised ValueError)
    model = tf.keras.Sequential([tf.keras.Input((3,)),
                                 tf.keras.layers.Dense(1, activation="sigmoid")])
    metrics = make()
    model.compile("sgd", "binary_crossentropy", metrics=metrics)
    x, y = np.ones((4, 3)), np.array([0.0, 1.0, 0.0, 1.0])
    history = model.fit(x, y, verbose=0, validation_data=(x, y))
    assert sorted(history.history) == sorted(keys + [f"val_{k}" for k in keys])
    assert list(model.evaluate(x, y, verbose=0, return_dict=True)) == keys
    # the user's objects keep their names, as in TF (a fresh session numbers a new set alike)
    names = [m.name for m in metrics if not isinstance(m, str)]
    tf.keras.backend.clear_session()
    assert names == [m.name for m in make() if not isinstance(m, str)]


def test_compile_numbers_user_metrics_it_cannot_rebuild():
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=[_Counter(2, name="z"), _Counter(3, name="z")])
    history = model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0, batch_size=2)
    # TF 2.21: two batches, each metric adds its own step
    assert history.history["z"] == [4.0] and history.history["z_1"] == [6.0]


def _abs_error(y_true, y_pred, scale=1.0):
    return np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred)), axis=-1) * scale


def test_mean_metric_wrapper_name_and_dtype():
    # TF 2.21: a hand-made wrapper is "mean_metric_wrapper" (numbered after the first);
    # a function in compile logs under its own name; dtype is the metric's, not fn's
    wrapper = M.MeanMetricWrapper(_abs_error, dtype="float32", scale=3.0)
    assert wrapper.name == "mean_metric_wrapper"
    assert [v.path for v in wrapper.variables] == ["mean_metric_wrapper/total",
                                                   "mean_metric_wrapper/count"]
    wrapper.update_state(np.array([[1.0]]), np.array([[0.0]]))
    assert float(wrapper.result()) == 3.0
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=[_abs_error, M.MeanMetricWrapper(_abs_error)])
    history = model.fit(np.ones((4, 3)), np.ones((4, 1)), verbose=0)
    # the wrapper above took the plain name: TF 2.21 logs this one as mean_metric_wrapper_1
    assert sorted(history.history) == ["_abs_error", "loss", "mean_metric_wrapper_1"]


class _Three(M.Metric):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.t = self.add_weight(name="t", shape=(), initializer="zeros")
        self.c = self.add_variable(shape=(2,), initializer="ones", name="c", dtype="int32")
        self.u = self.add_weight(shape=(), initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.t.assign_add(1.0)

    def result(self):
        return self.t


def test_a_users_metric_variables_sit_under_its_name():
    # TF 2.21: paths "<metric name>/<variable>", an unnamed one called "variable"; the
    # default reset_state zeroes every variable (even one initialized with ones)
    metric = _Three(name="mine")
    assert layout(metric) == [("t", "mine/t", (), "float32"), ("c", "mine/c", (2,), "int32"),
                              ("variable", "mine/variable", (), "float32")]
    metric.update_state(0, 0)
    metric.reset_state()
    assert values(metric) == [[0.0], [0.0, 0.0], [0.0]]
