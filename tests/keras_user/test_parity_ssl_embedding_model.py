"""keras.io's "Metric learning for image similarity search" subclasses a functional model,
``EmbeddingModel(inputs, embeddings)``, only to give it its own ``train_step``. TensorFlow 2.21
(Keras 3) writes such a model under the user's class name (``module`` None for a class of
``__main__``, ``registered_name`` the class name), so that ``load_model`` with the class in
``custom_objects`` gives an EmbeddingModel back, still training through its own step; without
the class, loading is a TypeError."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

import convnp as tf

keras = tf.keras
layers = keras.layers


class EmbeddingModel(keras.Model):
    def train_step(self, data):
        anchors, positives = data[0], data[1]
        with tf.GradientTape() as tape:
            anchor_embeddings = self(anchors, training=True)
            positive_embeddings = self(positives, training=True)
            similarities = keras.ops.einsum("ae,pe->ap", anchor_embeddings,
                                            positive_embeddings) / 0.2
            labels = keras.ops.arange(4)
            loss = self.compute_loss(y=labels, y_pred=similarities)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
        return {m.name: m.result() for m in self.metrics}


def _model():
    inputs = layers.Input(shape=(8, 8, 3))
    x = layers.Conv2D(4, 3, activation="relu")(inputs)
    x = layers.GlobalAveragePooling2D()(x)
    embeddings = layers.UnitNormalization()(layers.Dense(5)(x))
    model = EmbeddingModel(inputs, embeddings)
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype("float32")
                       for w in model.get_weights()])
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _pairs():
    return np.random.default_rng(0).uniform(size=(2, 4, 8, 8, 3)).astype("float32")


def test_the_file_names_the_users_class(tmp_path):
    path = tmp_path / "embedding.keras"
    _model().save(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    # TF 2.21's header for a class defined outside a package (here: this test module)
    assert config["class_name"] == "EmbeddingModel"
    assert config["registered_name"] == "EmbeddingModel"
    assert config["module"] == __name__
    assert sorted(config["config"]) == ["input_layers", "layers", "name", "output_layers",
                                        "trainable"]


def test_loading_gives_the_users_class_back_and_its_train_step_runs(tmp_path):
    path = tmp_path / "embedding.keras"
    model = _model()
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects={"EmbeddingModel": EmbeddingModel})
    assert type(loaded) is EmbeddingModel
    x = _pairs()
    np.testing.assert_allclose(loaded.predict(x[0], verbose=0), model.predict(x[0], verbose=0),
                               rtol=1e-6)
    history = loaded.fit(tf.data.Dataset.from_tensors(x), epochs=2, verbose=0)
    # TF 2.21's losses for the same weights, pairs and optimizer
    np.testing.assert_allclose(history.history["loss"], [1.394, 1.3875], atol=1e-4)


def test_loading_without_the_class_is_a_type_error(tmp_path):
    path = tmp_path / "embedding.keras"
    _model().save(path)
    with pytest.raises(TypeError):
        keras.models.load_model(path)


def test_json_round_trip_keeps_the_class():
    model = _model()
    header = json.loads(model.to_json())
    assert (header["class_name"], header["registered_name"]) == ("EmbeddingModel",
                                                                 "EmbeddingModel")
    again = keras.models.model_from_json(model.to_json(),
                                         custom_objects={"EmbeddingModel": EmbeddingModel})
    assert type(again) is EmbeddingModel
