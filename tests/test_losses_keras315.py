"""Keras 3.15's Circle / circle and CategoricalGeneralizedCrossEntropy /
categorical_generalized_cross_entropy: values and gradients against Keras
(fixtures/api_extras.npz, made by make_api_extras.py) and float64 finite differences."""

import numpy as np
import pytest

import convnp as tf
from tests.helpers import load_fixture, numerical_gradient, rel_error

Z = load_fixture("api_extras.npz")
L = tf.keras.losses
CIRCLE = {"default": {}, "opts": {"gamma": 10.0, "margin": 0.25},
          "diag": {"remove_diagonal": False}}


@pytest.mark.parametrize("key", sorted(CIRCLE))
def test_circle_value_and_gradient_match_keras(key):
    loss = L.Circle(**CIRCLE[key])
    value, grad = loss.value_and_gradient(Z["circle/labels"], Z["circle/emb"])
    np.testing.assert_allclose(value, Z[f"circle/{key}/loss"], rtol=1e-6)
    scale = np.abs(Z[f"circle/{key}/grad"]).max()
    np.testing.assert_allclose(grad, Z[f"circle/{key}/grad"], atol=2e-6 * scale)


def test_circle_function_forms_match_keras():
    np.testing.assert_allclose(L.circle(Z["circle/labels"], Z["circle/emb"]),
                               Z["circle/per_sample"], rtol=1e-6)
    np.testing.assert_allclose(
        L.circle(Z["circle/labels"], Z["circle/emb"], ref_labels=[0, 1, 2],
                 ref_embeddings=Z["circle/ref"]), Z["circle/with_ref"], rtol=1e-6, atol=1e-6)
    # a label seen once has no positive: its row is 0, and no gradient is NaN
    lonely = [0, 1, 0, 2, 1, 3]
    np.testing.assert_allclose(L.circle(lonely, Z["circle/emb"]), Z["circle/lonely"],
                               rtol=1e-6)
    _, grad = L.Circle().value_and_gradient(lonely, Z["circle/emb"])
    assert np.all(np.isfinite(grad))


def test_circle_gradient_matches_finite_differences_in_float64():
    rng = np.random.default_rng(1)
    emb = rng.normal(size=(6, 3))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    labels = np.array([0, 1, 0, 1, 2, 2])
    loss = L.Circle(gamma=4.0)
    _, grad = loss.value_and_gradient(labels, emb)
    numeric = numerical_gradient(lambda: np.asarray(loss(labels, emb)), emb, np.array(1.0))
    assert rel_error(grad, numeric) < 1e-7


@pytest.mark.parametrize("q", [0.5, 0.2])
def test_generalized_cross_entropy_matches_keras(q):
    loss = L.CategoricalGeneralizedCrossEntropy(q=q)
    value, grad = loss.value_and_gradient(Z["gce/labels"], Z["gce/probs"])
    np.testing.assert_allclose(value, Z[f"gce/q{q}/loss"], rtol=1e-6)
    np.testing.assert_allclose(grad, Z[f"gce/q{q}/grad"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        L.categorical_generalized_cross_entropy(Z["gce/labels"], Z["gce/probs"], q),
        Z[f"gce/q{q}/per_sample"], rtol=1e-6)


def test_generalized_cross_entropy_labels_column_and_finite_differences():
    probs, labels = Z["gce/probs"].astype(np.float64), Z["gce/labels"]
    # (batch, 1) labels are the same labels (Keras 3.15 broadcasts them to (batch, batch))
    loss = L.CategoricalGeneralizedCrossEntropy()
    assert float(loss(labels[:, None], probs)) == pytest.approx(float(loss(labels, probs)))
    assert float(loss(labels, probs)) != pytest.approx(float(Z["gce/labels_2d_loss"]))
    _, grad = loss.value_and_gradient(labels, probs)
    numeric = numerical_gradient(lambda: np.asarray(loss(labels, probs)), probs,
                                 np.array(1.0))
    assert rel_error(grad, numeric) < 1e-7


def test_configs_names_and_training(tmp_path):
    assert L.get("circle").get_config() == {"name": "circle", "reduction": "sum_over_batch_size",
                                            "gamma": 80.0, "margin": 0.4,
                                            "remove_diagonal": True}
    gce = L.get("CategoricalGeneralizedCrossEntropy")
    assert gce.get_config() == {"name": "categorical_generalized_cross_entropy",
                                "reduction": "sum_over_batch_size", "q": 0.5}
    assert isinstance(L.get("categorical_generalized_cross_entropy"),
                      L.CategoricalGeneralizedCrossEntropy)
    again = L.deserialize(L.serialize(L.Circle(gamma=5.0, margin=0.1)))
    assert (again.gamma, again.margin) == (5.0, 0.1)
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(3),
                                 tf.keras.layers.Softmax()])
    model.compile("adam", L.CategoricalGeneralizedCrossEntropy(q=0.7))
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    y = np.arange(16) % 3
    history = model.fit(x, y, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    model.save(tmp_path / "m.keras")
    assert tf.keras.models.load_model(tmp_path / "m.keras").loss.q == 0.7


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"q must be in the interval \(0, 1\)"):
        L.CategoricalGeneralizedCrossEntropy(q=1.0)
    with pytest.raises(ValueError, match="q must be in"):
        L.categorical_generalized_cross_entropy([0], [[1.0, 0.0]], 0.0)
    with pytest.raises(ValueError, match="labels must be in"):
        L.categorical_generalized_cross_entropy([2], [[0.5, 0.5]], 0.5)
    with pytest.raises(ValueError, match="integer labels of shape"):
        L.circle(np.zeros((2, 3)), np.eye(2))
    with pytest.raises(ValueError, match="ref_embeddings must have shape"):
        L.circle([0, 1], np.eye(2), ref_labels=[0], ref_embeddings=np.ones((2, 2)))
    with pytest.raises(TypeError, match="remove_diagonal"):
        L.Circle(remove_diagonal="yes")
    with pytest.raises(ValueError, match="gamma"):
        L.Circle(gamma=float("nan"))
