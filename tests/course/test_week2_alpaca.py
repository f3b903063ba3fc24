"""Week 2's transfer-learning notebook (MobileNetV2 on an image folder), course-shaped:
``alpaca_model`` listed as the grader lists it, and a short run on a generated folder (frozen
base, head trains, last blocks fine-tuned, History continued with ``initial_epoch``)."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from tests.course.grader import compare, describe

tfl = tf.keras.layers


def data_augmenter():
    data_augmentation = tf.keras.Sequential()
    data_augmentation.add(tfl.RandomFlip("horizontal"))
    data_augmentation.add(tfl.RandomRotation(0.2))
    return data_augmentation


def test_data_augmenter_as_the_grader_reads_it():
    augmenter = data_augmenter()
    assert augmenter.layers[0].name.startswith("random_flip")
    assert augmenter.layers[0].mode == "horizontal"
    assert augmenter.layers[1].name.startswith("random_rotation")
    assert augmenter.layers[1].factor == 0.2
    image = np.random.default_rng(0).uniform(0, 255, (1, 8, 8, 3)).astype(np.float32)
    np.testing.assert_array_equal(augmenter(image, training=False).numpy(), image)
    assert augmenter(image, training=True).shape == (1, 8, 8, 3)
    # inside a model the augmentation follows the model: off in predict
    inputs = tf.keras.Input((8, 8, 3))
    model = tf.keras.Model(inputs, data_augmenter()(inputs))
    np.testing.assert_array_equal(model.predict(image, verbose=0), image)


def alpaca_model(image_shape, data_augmentation, alpha=1.0, weights=None):
    input_shape = image_shape + (3,)
    preprocess_input = tf.keras.applications.mobilenet_v2.preprocess_input
    base_model = tf.keras.applications.MobileNetV2(input_shape=input_shape, alpha=alpha,
                                                   include_top=False, weights=weights)
    base_model.trainable = False
    inputs = tf.keras.Input(shape=input_shape)
    x = data_augmentation(inputs)
    x = preprocess_input(x)
    x = base_model(x, training=False)
    x = tfl.GlobalAveragePooling2D()(x)
    x = tfl.Dropout(0.2)(x)
    outputs = tfl.Dense(1)(x)
    return tf.keras.Model(inputs, outputs)


def test_alpaca_model_rows():
    model = alpaca_model((160, 160), data_augmenter())
    compare(describe(model), [
        ["InputLayer", [(None, 160, 160, 3)], 0],
        ["Sequential", (None, 160, 160, 3), 0],
        ["TensorFlowOpLayer", [(None, 160, 160, 3)], 0],
        ["TensorFlowOpLayer", [(None, 160, 160, 3)], 0],
        ["Functional", (None, 5, 5, 1280), 2257984],
        ["GlobalAveragePooling2D", (None, 1280), 0],
        ["Dropout", (None, 1280), 0, 0.2],
        ["Dense", (None, 1), 1281, "linear"],
    ])
    assert model.layers[4].layers[1].name == "Conv1" and len(model.layers[4].layers) == 154


def test_preprocess_layers_compute_what_the_array_version_does(tmp_path):
    inputs = tf.keras.Input((4, 4, 3))
    model = tf.keras.Model(inputs, tf.keras.applications.resnet50.preprocess_input(inputs))
    x = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               tf.keras.applications.resnet50.preprocess_input(x), rtol=1e-6)
    loaded = tf.keras.Model.from_config(model.get_config())
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    model.save(tmp_path / "pre.convnp")
    loaded = tf.keras.models.load_model(tmp_path / "pre.convnp")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # Keras 3 files hold the channel reversal as keras.ops.flip and the per-channel mean as a
    # constant tensor operand: the model saves and loads with its numbers
    model.save(tmp_path / "pre.keras")
    loaded = tf.keras.models.load_model(tmp_path / "pre.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # ONNX has the operators: the graph gives the model's numbers
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    tf.onnx.export(model, tmp_path / "pre.onnx")
    session = ort.InferenceSession(str(tmp_path / "pre.onnx"))
    (onnx_out,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(onnx_out, model.predict(x, verbose=0), rtol=1e-6, atol=1e-4)


def write_folder(root, per_class=8, size=40):
    """Two classes of generated images: bright upper halves vs bright lower halves."""
    image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(5)
    for label, name in enumerate(("alpaca", "not_alpaca")):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 90, (size, size, 3))
            rows = slice(0, size // 2) if label == 0 else slice(size // 2, size)
            pixels[rows] += 140
            image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{i}.png")
    return root


def test_mobilenet_v2_transfer_learning_on_an_image_folder(tmp_path):
    folder = write_folder(tmp_path / "dataset")
    # the notebook's data cells: integer labels, images in [0, 255], 80/20 split by seed
    train = tf.keras.preprocessing.image_dataset_from_directory(
        folder, shuffle=True, batch_size=8, image_size=(96, 96), validation_split=0.25,
        subset="training", seed=42)
    validation = tf.keras.preprocessing.image_dataset_from_directory(
        folder, shuffle=True, batch_size=8, image_size=(96, 96), validation_split=0.25,
        subset="validation", seed=42)
    assert train.class_names == ["alpaca", "not_alpaca"]
    train = train.prefetch(buffer_size=tf.data.experimental.AUTOTUNE)
    tf.keras.utils.set_random_seed(0)
    model = alpaca_model((96, 96), data_augmenter(), alpha=0.35)
    base = model.layers[4]
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.01),
                  loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    frozen = base.get_weights()
    history = model.fit(train, validation_data=validation, epochs=2, verbose=0)
    assert history.epoch == [0, 1]
    assert all(np.array_equal(a, b) for a, b in zip(frozen, base.get_weights()))

    base.trainable = True
    fine_tune_at = 120
    for layer in base.layers[:fine_tune_at]:
        layer.trainable = False
    model.compile(loss=tf.keras.losses.BinaryCrossentropy(from_logits=True),
                  optimizer=tf.keras.optimizers.Adam(learning_rate=0.001), metrics=["accuracy"])
    early = [w.copy() for layer in base.layers[:fine_tune_at] for w in layer.get_weights()]
    late = base.layers[-3].get_weights()[0].copy()  # Conv_1's kernel: fine-tuned
    fine = model.fit(train, validation_data=validation, epochs=4,
                     initial_epoch=history.epoch[-1], verbose=0)
    assert fine.epoch == [1, 2, 3]
    acc = history.history["accuracy"] + fine.history["accuracy"]
    assert len(acc) == 5 and np.isfinite(fine.history["loss"]).all()
    assert len(fine.history["val_accuracy"]) == 3
    after = [w for layer in base.layers[:fine_tune_at] for w in layer.get_weights()]
    assert all(np.array_equal(a, b) for a, b in zip(early, after))
    assert not np.array_equal(late, base.layers[-3].get_weights()[0])
