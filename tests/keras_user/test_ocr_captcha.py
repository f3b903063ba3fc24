"""keras.io's "OCR model for reading Captchas" as a user writes it, on a tiny synthetic
captcha set made here (each character a pattern of vertical bars): StringLookup char <->
number maps, images resized and transposed so width is the time axis, a tf.data pipeline of
{"image", "label"} dicts, the CNN + Bidirectional LSTM model whose ``CTCLayer`` adds the CTC
loss with ``self.add_loss`` (compiled with no loss), then the prediction model cut at
``dense2`` and ``keras.backend.ctc_decode`` back to text.

Labels are split into characters with ``tf.strings.unicode_split`` and decoded texts joined
with ``tf.strings.reduce_join``, as in the example."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp import keras
from convnp.keras import layers, ops

CHARACTERS = sorted("abcd")
IMG_WIDTH, IMG_HEIGHT = 64, 24
MAX_LENGTH = 4
BATCH_SIZE = 5
DOWNSAMPLE_FACTOR = 4

# each character: the widths of its bars (a cell of 14 columns), so characters look apart
BARS = {"a": (2,), "b": (2, 2), "c": (5,), "d": (1, 1, 1)}


def draw_captcha(text: str, rng) -> np.ndarray:
    """An (H, W, 1) uint8 "captcha": the characters' bars, dark on light, with noise; the
    raw image is wider than the model's and is resized like a loaded PNG would be."""
    height, width = 30, 80
    image = np.full((height, width), 230.0)
    x = 4 + int(rng.integers(0, 4))
    for char in text:
        col = x
        for bar in BARS[char]:
            image[5:25, col:col + bar] = 30.0
            col += bar + 2
        x += 17
    image += rng.normal(0, 8, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)[..., None]


def write_captchas(directory, n: int, seed: int):
    """``n`` captcha PNG files named by their text (as the captcha set's ``abcd.png``)."""
    rng = np.random.default_rng(seed)
    paths, texts = [], []
    for i in range(n):
        # every label MAX_LENGTH long, as in the captcha set (texts of 2-4 random
        # characters, repeated to the length)
        text = "".join(rng.choice(CHARACTERS, size=int(rng.integers(2, MAX_LENGTH + 1))))
        text = (text * MAX_LENGTH)[:MAX_LENGTH]
        path = str(directory / f"{i:02d}_{text}.png")
        tf.io.write_file(path, tf.image.encode_png(draw_captcha(text, rng)))
        paths.append(path)
        texts.append(text)
    return np.array(paths), np.array(texts)


def split_data(images, labels, train_size=0.75, shuffle=True):
    # 1. total size of the dataset
    size = len(images)
    # 2. an indices array, shuffled if required
    indices = ops.arange(size)
    if shuffle:
        indices = keras.random.shuffle(indices, seed=3)
    # 3. the size of the training samples
    train_samples = int(size * train_size)
    # 4. split data into training and validation sets
    x_train, y_train = images[indices[:train_samples]], labels[indices[:train_samples]]
    x_valid, y_valid = images[indices[train_samples:]], labels[indices[train_samples:]]
    return x_train, x_valid, y_train, y_valid


# Mapping characters to integers, and back
char_to_num = layers.StringLookup(vocabulary=list(CHARACTERS), mask_token=None)
num_to_char = layers.StringLookup(vocabulary=char_to_num.get_vocabulary(), mask_token=None,
                                  invert=True)


def encode_single_sample(img_path, label):
    # 1. read the image
    img = tf.io.read_file(img_path)
    # 2. decode and convert to grayscale
    img = tf.io.decode_png(img, channels=1)
    # 3. convert to float32 in [0, 1] range
    img = tf.image.convert_image_dtype(img, tf.float32)
    # 4. resize to the desired size
    img = ops.image.resize(img, [IMG_HEIGHT, IMG_WIDTH])
    # 5. transpose: the time dimension is the width of the image
    img = ops.transpose(img, axes=[1, 0, 2])
    # 6. map the characters in label to numbers
    label = char_to_num(tf.strings.unicode_split(label, input_encoding="UTF-8"))
    return {"image": img, "label": label}


class CTCLayer(layers.Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.backend.ctc_batch_cost

    def call(self, y_true, y_pred):
        # the training-time loss, added to the layer with `self.add_loss()`
        batch_len = ops.cast(ops.shape(y_true)[0], dtype="int64")
        input_length = ops.cast(ops.shape(y_pred)[1], dtype="int64")
        label_length = ops.cast(ops.shape(y_true)[1], dtype="int64")
        input_length = input_length * ops.ones(shape=(batch_len, 1), dtype="int64")
        label_length = label_length * ops.ones(shape=(batch_len, 1), dtype="int64")
        loss = self.loss_fn(y_true, y_pred, input_length, label_length)
        self.add_loss(loss)
        # at test time, just return the computed predictions
        return y_pred


def build_model():
    input_img = layers.Input(shape=(IMG_WIDTH, IMG_HEIGHT, 1), name="image", dtype="float32")
    labels = layers.Input(name="label", shape=(None,), dtype="float32")
    x = layers.Conv2D(8, (3, 3), activation="relu", kernel_initializer="he_normal",
                      padding="same", name="Conv1")(input_img)
    x = layers.MaxPooling2D((2, 2), name="pool1")(x)
    x = layers.Conv2D(16, (3, 3), activation="relu", kernel_initializer="he_normal",
                      padding="same", name="Conv2")(x)
    x = layers.MaxPooling2D((2, 2), name="pool2")(x)
    # two max pools of size 2 and stride 2: feature maps 4x smaller; 16 filters
    new_shape = ((IMG_WIDTH // 4), (IMG_HEIGHT // 4) * 16)
    x = layers.Reshape(target_shape=new_shape, name="reshape")(x)
    x = layers.Dense(32, activation="relu", name="dense1")(x)
    x = layers.Dropout(0.2)(x)
    # RNNs
    x = layers.Bidirectional(layers.LSTM(24, return_sequences=True, dropout=0.25))(x)
    x = layers.Bidirectional(layers.LSTM(16, return_sequences=True, dropout=0.25))(x)
    # output layer: one more class than characters, the CTC blank (the last one)
    x = layers.Dense(len(char_to_num.get_vocabulary()) + 1, activation="softmax",
                     name="dense2")(x)
    output = CTCLayer(name="ctc_loss")(labels, x)
    model = keras.models.Model(inputs=[input_img, labels], outputs=output,
                               name="ocr_model_v1")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3))
    return model


def decode_batch_predictions(pred):
    input_len = np.ones(pred.shape[0]) * pred.shape[1]
    # greedy search (beam search is greedy=False)
    results = keras.backend.ctc_decode(pred, input_length=input_len, greedy=True)[0][0][
        :, :MAX_LENGTH]
    output_text = []
    for res in results:
        res = tf.strings.reduce_join(num_to_char(res)).numpy().decode("utf-8")
        output_text.append(res)
    return output_text


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    keras.utils.set_random_seed(1)
    images, labels = write_captchas(tmp_path_factory.mktemp("captcha"), 20, seed=5)
    x_train, x_valid, y_train, y_valid = split_data(images, labels)
    train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train))
    train_dataset = (train_dataset.map(encode_single_sample,
                                       num_parallel_calls=tf.data.AUTOTUNE)
                     .batch(BATCH_SIZE).prefetch(buffer_size=tf.data.AUTOTUNE))
    validation_dataset = tf.data.Dataset.from_tensor_slices((x_valid, y_valid))
    validation_dataset = (validation_dataset.map(encode_single_sample,
                                                 num_parallel_calls=tf.data.AUTOTUNE)
                          .batch(BATCH_SIZE).prefetch(buffer_size=tf.data.AUTOTUNE))
    model = build_model()
    early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=10,
                                                   restore_best_weights=True)
    history = model.fit(train_dataset, validation_data=validation_dataset, epochs=6,
                        callbacks=[early_stopping], verbose=0)
    return model, history, validation_dataset, (x_train, y_train, x_valid, y_valid)


def test_vocabulary_round_trip():
    assert char_to_num.get_vocabulary() == ["[UNK]", *CHARACTERS]
    ids = np.asarray(char_to_num(list("cab")))
    np.testing.assert_array_equal(ids, [3, 1, 2])
    back = [c.decode() if isinstance(c, bytes) else str(c)
            for c in np.asarray(num_to_char(ids)).tolist()]
    assert back == list("cab")


def test_pipeline_gives_transposed_images_and_labels(tmp_path):
    images, labels = write_captchas(tmp_path, 2, seed=0)
    sample = encode_single_sample(images[0], labels[0])
    assert tuple(sample["image"].shape) == (IMG_WIDTH, IMG_HEIGHT, 1)
    assert 0.0 <= float(ops.min(sample["image"])) and float(ops.max(sample["image"])) <= 1.0
    assert tuple(sample["label"].shape) == (MAX_LENGTH,)


def test_training_lowers_the_ctc_loss(trained):
    model, history, _, (x_train, _, x_valid, _) = trained
    assert len(x_train) == 15 and len(x_valid) == 5
    losses = history.history["loss"]
    assert len(losses) == 6 and all(np.isfinite(losses))
    assert losses[-1] < 0.8 * losses[0], losses
    assert np.isfinite(history.history["val_loss"]).all()
    assert model.get_layer(name="ctc_loss").losses  # the layer's add_loss


def test_prediction_model_and_greedy_decoding(trained):
    model, _, validation_dataset, _ = trained
    prediction_model = keras.models.Model(model.input[0],
                                          model.get_layer(name="dense2").output)
    assert len(prediction_model.inputs) == 1
    for batch in validation_dataset.take(1):
        batch_images = batch["image"]
        preds = prediction_model.predict(batch_images, verbose=0)
        blank = len(char_to_num.get_vocabulary())  # [UNK] and 4 characters: class 5
        assert preds.shape == (BATCH_SIZE, IMG_WIDTH // DOWNSAMPLE_FACTOR, blank + 1)
        np.testing.assert_allclose(preds.sum(-1), 1.0, rtol=1e-5)
        decoded, log_prob = keras.backend.ctc_decode(preds, np.full(BATCH_SIZE, preds.shape[1]))
        assert len(decoded) == 1 and tuple(decoded[0].shape) == (BATCH_SIZE, preds.shape[1])
        labels = np.asarray(decoded[0])
        assert labels.dtype == np.int64 and tuple(log_prob.shape) == (BATCH_SIZE, 1)
        # -1 pads each row after its labels, and labels are never the blank
        for row in labels:
            n = int((row >= 0).sum())
            assert (row[:n] >= 0).all() and (row[n:] == -1).all() and (row < blank).all()
        pred_texts = decode_batch_predictions(preds)
        assert len(pred_texts) == BATCH_SIZE and all(isinstance(t, str) for t in pred_texts)
        # keras.ops spelling: blank last, beam search too
        dense, scores = ops.ctc_decode(preds, np.full(BATCH_SIZE, preds.shape[1]),
                                       strategy="beam_search", beam_width=5, top_paths=2,
                                       mask_index=blank)
        assert tuple(dense.shape) == (2, BATCH_SIZE, preds.shape[1])
        assert (np.asarray(scores)[:, 0] >= np.asarray(scores)[:, 1]).all()
