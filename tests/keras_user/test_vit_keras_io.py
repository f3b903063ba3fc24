"""keras.io's "Image classification with Vision Transformer"
(examples/vision/image_classification_with_vision_transformer) as the page writes it in
Keras 3, made tiny: 80 random 32x32x3 images in 10 classes, patches of 8 (16 per image),
projection_dim 16, 2 transformer layers, 2 epochs. The data augmentation Sequential
(Normalization adapted on the data, Resizing, RandomFlip, RandomRotation, RandomZoom), the
``Patches`` layer on ``ops.image.extract_patches``, the ``PatchEncoder`` with a position
``Embedding`` over ``ops.arange``, transformer blocks of LayerNormalization,
MultiHeadAttention with dropout, Add and a GELU MLP, then the MLP head; compiled with AdamW,
accuracy and top-5 accuracy, fit with ``validation_split=0.1`` and a ``ModelCheckpoint``
keeping the best weights by ``val_accuracy`` in a ``.weights.h5`` file, loaded back before
``evaluate``. The page's patch display is done without matplotlib.

The History keys and the parameter counts are those Keras 3.15 reports for the same
program. ``vit_small.weights.h5`` (tests/fixtures/make_vit_small.py) is the same model
written by Keras 3.15 with its predictions: convnp loads it into the page's model."""

from __future__ import annotations

import os

import numpy as np
import pytest

from convnp import keras
from convnp.keras import layers, ops

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures")

num_classes = 10
input_shape = (32, 32, 3)

learning_rate = 0.001
weight_decay = 0.0001
batch_size = 16
num_epochs = 2
image_size = 32
patch_size = 8
num_patches = (image_size // patch_size) ** 2
projection_dim = 16
num_heads = 2
transformer_units = [projection_dim * 2, projection_dim]
transformer_layers = 2
mlp_head_units = [32, 16]


def load_data():
    """Stands in for ``keras.datasets.cifar100.load_data()``: labels of shape (n, 1)."""
    rng = np.random.default_rng(0)
    y_train = rng.integers(0, num_classes, (80, 1))
    x_train = (rng.random((80, 32, 32, 3)) * 255).astype("float32")
    return (x_train, y_train), (x_train[:20], y_train[:20])


(x_train, y_train), (x_test, y_test) = load_data()


def make_augmentation():
    data_augmentation = keras.Sequential(
        [
            layers.Normalization(),
            layers.Resizing(image_size, image_size),
            layers.RandomFlip("horizontal"),
            layers.RandomRotation(factor=0.02),
            layers.RandomZoom(height_factor=0.2, width_factor=0.2),
        ],
        name="data_augmentation",
    )
    # Compute the mean and the variance of the training data for normalization.
    data_augmentation.layers[0].adapt(x_train)
    return data_augmentation


def mlp(x, hidden_units, dropout_rate):
    for units in hidden_units:
        x = layers.Dense(units, activation=keras.activations.gelu)(x)
        x = layers.Dropout(dropout_rate)(x)
    return x


class Patches(layers.Layer):
    def __init__(self, patch_size):
        super().__init__()
        self.patch_size = patch_size

    def call(self, images):
        input_shape = ops.shape(images)
        batch_size = input_shape[0]
        height = input_shape[1]
        width = input_shape[2]
        channels = input_shape[3]
        num_patches_h = height // self.patch_size
        num_patches_w = width // self.patch_size
        patches = keras.ops.image.extract_patches(images, size=self.patch_size)
        patches = ops.reshape(
            patches,
            (
                batch_size,
                num_patches_h * num_patches_w,
                self.patch_size * self.patch_size * channels,
            ),
        )
        return patches

    def get_config(self):
        config = super().get_config()
        config.update({"patch_size": self.patch_size})
        return config


class PatchEncoder(layers.Layer):
    def __init__(self, num_patches, projection_dim):
        super().__init__()
        self.num_patches = num_patches
        self.projection = layers.Dense(units=projection_dim)
        self.position_embedding = layers.Embedding(
            input_dim=num_patches, output_dim=projection_dim
        )

    def call(self, patch):
        positions = ops.expand_dims(
            ops.arange(start=0, stop=self.num_patches, step=1), axis=0
        )
        projected_patches = self.projection(patch)
        encoded = projected_patches + self.position_embedding(positions)
        return encoded

    def get_config(self):
        config = super().get_config()
        config.update({"num_patches": self.num_patches})
        return config


def create_vit_classifier(data_augmentation):
    inputs = keras.Input(shape=input_shape)
    # Augment data.
    augmented = data_augmentation(inputs)
    # Create patches.
    patches = Patches(patch_size)(augmented)
    # Encode patches.
    encoded_patches = PatchEncoder(num_patches, projection_dim)(patches)

    # Create multiple layers of the Transformer block.
    for _ in range(transformer_layers):
        # Layer normalization 1.
        x1 = layers.LayerNormalization(epsilon=1e-6)(encoded_patches)
        # Create a multi-head attention layer.
        attention_output = layers.MultiHeadAttention(
            num_heads=num_heads, key_dim=projection_dim, dropout=0.1
        )(x1, x1)
        # Skip connection 1.
        x2 = layers.Add()([attention_output, encoded_patches])
        # Layer normalization 2.
        x3 = layers.LayerNormalization(epsilon=1e-6)(x2)
        # MLP.
        x3 = mlp(x3, hidden_units=transformer_units, dropout_rate=0.1)
        # Skip connection 2.
        encoded_patches = layers.Add()([x3, x2])

    # Create a [batch_size, projection_dim] tensor.
    representation = layers.LayerNormalization(epsilon=1e-6)(encoded_patches)
    representation = layers.Flatten()(representation)
    representation = layers.Dropout(0.5)(representation)
    # Add MLP.
    features = mlp(representation, hidden_units=mlp_head_units, dropout_rate=0.5)
    # Classify outputs.
    logits = layers.Dense(num_classes)(features)
    # Create the Keras model.
    model = keras.Model(inputs=inputs, outputs=logits)
    return model


def run_experiment(model, checkpoint_filepath):
    optimizer = keras.optimizers.AdamW(
        learning_rate=learning_rate, weight_decay=weight_decay
    )

    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[
            keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
            keras.metrics.SparseTopKCategoricalAccuracy(5, name="top-5-accuracy"),
        ],
    )

    checkpoint_callback = keras.callbacks.ModelCheckpoint(
        checkpoint_filepath,
        monitor="val_accuracy",
        save_best_only=True,
        save_weights_only=True,
    )

    history = model.fit(
        x=x_train,
        y=y_train,
        batch_size=batch_size,
        epochs=num_epochs,
        validation_split=0.1,
        callbacks=[checkpoint_callback],
        verbose=0,
    )

    model.load_weights(checkpoint_filepath)
    _, accuracy, top_5_accuracy = model.evaluate(x_test, y_test, verbose=0)
    return history, accuracy, top_5_accuracy


def test_patches_of_one_image():
    image = x_train[np.random.choice(range(x_train.shape[0]))]
    resized_image = ops.image.resize(
        ops.convert_to_tensor([image]), size=(image_size, image_size)
    )
    patches = Patches(patch_size)(resized_image)
    assert (patches.shape[1], patches.shape[-1]) == (16, 192)
    n = int(np.sqrt(patches.shape[1]))
    assert n == 4
    resized = np.asarray(resized_image)[0]
    np.testing.assert_allclose(resized, image, rtol=1e-6)  # 32 -> 32: unchanged
    for i, patch in enumerate(patches[0]):
        patch_img = ops.reshape(patch, (patch_size, patch_size, 3))
        shown = ops.convert_to_numpy(patch_img).astype("uint8")  # what plt.imshow gets
        assert shown.shape == (8, 8, 3)
        r, c = divmod(i, n)  # row-major, each patch's pixels in (h, w, c) order
        block = resized[r * 8:(r + 1) * 8, c * 8:(c + 1) * 8]
        np.testing.assert_array_equal(np.asarray(patch_img), block)


def test_layers_configs_and_sizes():
    encoder = PatchEncoder(num_patches, projection_dim)
    assert encoder.get_config()["num_patches"] == 16
    assert Patches(patch_size).get_config()["patch_size"] == 8
    out = encoder(np.zeros((2, 16, 192), np.float32))
    assert tuple(out.shape) == (2, 16, 16)
    # with zero patches the encoding is the position embedding alone, row by row
    np.testing.assert_allclose(np.asarray(out)[1],
                               np.asarray(encoder.position_embedding.embeddings) +
                               np.asarray(encoder.projection.bias), rtol=1e-6)
    augmentation = make_augmentation()
    norm = augmentation.layers[0]
    np.testing.assert_allclose(np.asarray(norm.mean).ravel(),
                               x_train.reshape(-1, 3).mean(0), rtol=1e-4)
    np.testing.assert_allclose(np.asarray(norm.variance).ravel(),
                               x_train.reshape(-1, 3).var(0), rtol=1e-3)
    model = create_vit_classifier(augmentation)
    assert tuple(model.output.shape) == (None, 10)
    # the counts Keras 3.15 gives this model (its summary): the 7 non-trainable are the
    # normalization's mean, variance and count
    assert model.count_params() == 18_897
    assert sum(int(np.prod(v.shape)) for v in model.trainable_weights) == 18_890
    lines = []
    model.summary(print_fn=lines.append, line_length=120)
    assert lines[-3:] == [" Total params: 18,897 (73.82 KB)",
                          " Trainable params: 18,890 (73.79 KB)",
                          " Non-trainable params: 7 (32.00 B)"]
    # the attention rows list their query and value: x1 twice, as Keras prints it
    connected, row = {}, None
    for line in lines:
        cells = [c.strip() for c in line.split("\u2502")]
        if len(cells) < 6:
            continue
        if cells[1] and not cells[1].startswith("("):
            row = cells[1]
            connected[row] = cells[4]
        elif row is not None:
            connected[row] += " " + cells[4]
    attention = [v for k, v in connected.items() if k.startswith("multi_head_attention")]
    assert len(attention) == 2
    for sources in attention:
        query, value = sources.split(", ")
        assert query == value and query.startswith("layer_normalization")


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    pytest.importorskip("h5py")
    keras.utils.set_random_seed(42)
    checkpoint_filepath = str(tmp_path_factory.mktemp("vit") / "checkpoint.weights.h5")
    vit_classifier = create_vit_classifier(make_augmentation())
    history, accuracy, top_5_accuracy = run_experiment(vit_classifier, checkpoint_filepath)
    return vit_classifier, history.history, accuracy, top_5_accuracy, checkpoint_filepath


def test_fit_reports_keras_keys(experiment):
    _, history, accuracy, top_5_accuracy, _ = experiment
    # the keys Keras 3.15 logs for this program
    assert sorted(history) == ["accuracy", "loss", "top-5-accuracy", "val_accuracy",
                               "val_loss", "val_top-5-accuracy"]
    assert all(len(v) == num_epochs and np.isfinite(v).all() for v in history.values())
    for key in ("accuracy", "val_accuracy"):
        top5 = history["top-5-" + key if key == "accuracy" else "val_top-5-accuracy"]
        assert all(0 <= a <= t <= 1 for a, t in zip(history[key], top5))
    # 8 validation images (the last 10%): accuracies are multiples of 1/8
    np.testing.assert_allclose(np.array(history["val_accuracy"]) * 8,
                               np.round(np.array(history["val_accuracy"]) * 8), atol=1e-6)
    assert 0 <= accuracy <= top_5_accuracy <= 1


def test_checkpoint_holds_the_best_epoch(experiment):
    model, history, _, _, checkpoint_filepath = experiment
    assert os.path.exists(checkpoint_filepath)
    # save_best_only: the first epoch with the highest val_accuracy (a tie does not save)
    best = int(np.argmax(history["val_accuracy"]))
    # load_weights already ran: inference is deterministic (augmentation and dropout off),
    # so the validation slice scores what it scored at the end of that epoch
    logs = model.evaluate(x_train[72:], y_train[72:], batch_size=batch_size, verbose=0,
                          return_dict=True)
    assert logs["loss"] == pytest.approx(history["val_loss"][best], rel=1e-5)
    assert logs["accuracy"] == pytest.approx(history["val_accuracy"][best])
    assert logs["top-5-accuracy"] == pytest.approx(history["val_top-5-accuracy"][best])
    # a fresh model loads the same file into the same predictions
    other = create_vit_classifier(make_augmentation())
    other.load_weights(checkpoint_filepath)
    np.testing.assert_allclose(other.predict(x_test, verbose=0),
                               model.predict(x_test, verbose=0), rtol=1e-5, atol=1e-6)


def test_loads_the_weights_keras_wrote_for_the_same_program():
    """The page's model built here (its layers numbered after this module's other models)
    loads the ``.weights.h5`` file Keras 3.15 wrote for it and predicts what Keras did."""
    pytest.importorskip("h5py")
    model = create_vit_classifier(make_augmentation())
    model.load_weights(os.path.join(FIXTURES, "vit_small.weights.h5"))
    with np.load(os.path.join(FIXTURES, "vit_small_expected.npz")) as f:
        expected = f["logits"]
    np.testing.assert_allclose(model.predict(x_train[:8], verbose=0), expected,
                               rtol=1e-4, atol=1e-5)
