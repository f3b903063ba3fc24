"""The course's tf.keras code, VERBATIM, runs on convnp after ``import convnp as tf``.

The model functions, compile, summary, fit, evaluate and the pandas plotting lines below are
copied character for character from the course notes (``shared/spec/cnn_course_notes.md``,
tabs included); `test_code_is_verbatim` checks that. Only the data is small (a few course
images) so the tests stay fast; epochs are as written.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import convnp as tf

tfl = tf.keras.layers

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "cnn_course_notes.md"


# ---------------------------------------------------------------- verbatim from the notes

def happyModel():
    """
    Implements the forward propagation for the binary classification model:
    ZEROPAD2D -> CONV2D -> BATCHNORM -> RELU -> MAXPOOL -> FLATTEN -> DENSE
    
    Note that for simplicity and grading purposes, you'll hard-code all the values
    such as the stride and kernel (filter) sizes. 
    Normally, functions should take these values as function parameters.
    
    Arguments:
    None

    Returns:
    model -- TF Keras model (object containing the information for the entire training process) 
    """
    model = tf.keras.Sequential([
			## ZeroPadding2D with padding 3, input shape of 64 x 64 x 3
            tfl.ZeroPadding2D(padding=3, input_shape=(64, 64, 3)),
			## Conv2D with 32 7x7 filters and stride of 1
            tfl.Conv2D(filters=32, kernel_size=7, strides=1),
            ## BatchNormalization for axis 3
			tfl.BatchNormalization(axis=3),
			## ReLU
            tfl.ReLU(),
			## Max Pooling 2D with default parameters
            tfl.MaxPool2D(),
			## Flatten layer
            tfl.Flatten(),
			## Dense layer with 1 unit for output & 'sigmoid' activation
            tfl.Dense(units=1, activation='sigmoid'),
        ])
    
    return model


def convolutional_model(input_shape):
    """
    Implements the forward propagation for the model:
    CONV2D -> RELU -> MAXPOOL -> CONV2D -> RELU -> MAXPOOL -> FLATTEN -> DENSE
    
    Note that for simplicity and grading purposes, you'll hard-code some values
    such as the stride and kernel (filter) sizes. 
    Normally, functions should take these values as function parameters.
    
    Arguments:
    input_img -- input dataset, of shape (input_shape)

    Returns:
    model -- TF Keras model (object containing the information for the entire training process) 
    """

    input_img = tf.keras.Input(shape=input_shape)

	## CONV2D: 8 filters 4x4, stride of 1, padding 'SAME'
    Z1 = tfl.Conv2D(filters=8, kernel_size=4, strides=1, padding='same')(input_img)
	## RELU
    A1 = tfl.ReLU()(Z1)
	## MAXPOOL: window 8x8, stride 8, padding 'SAME'
    P1 = tfl.MaxPool2D(pool_size=(8, 8), strides=8, padding='same')(A1)
	## CONV2D: 16 filters 2x2, stride 1, padding 'SAME'
    Z2 = tfl.Conv2D(filters=16, kernel_size=2, strides=1, padding='same')(P1)
	## RELU
    A2 = tfl.ReLU()(Z2)
	## MAXPOOL: window 4x4, stride 4, padding 'SAME'
    P2 = tfl.MaxPool2D(pool_size=(4, 4), strides=4, padding='same')(A2)
	## FLATTEN
    F = tfl.Flatten()(P2)
	## Dense layer
    ## 6 neurons in output layer. Hint: one of the arguments should be "activation='softmax'" 
    outputs = tfl.Dense(units=6, activation='softmax')(F)

    model = tf.keras.Model(inputs=input_img, outputs=outputs)
    return model


# ---------------------------------------------------------------- data


def _load(path, n, one_hot: bool):
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "r") as f:
        x = np.asarray(f["test_set_x"][:n])
        labels = np.asarray(f["test_set_y"][:n]).astype(np.int64)
    x = x / 255.
    if one_hot:
        return x, np.eye(6)[labels]
    return x, labels.reshape(-1, 1)


# ---------------------------------------------------------------- tests


def test_happy_model_course_code(happy_h5, capsys):
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(0)
    X_train, Y_train = _load(happy_h5, 32, one_hot=False)
    X_test, Y_test = X_train[:16], Y_train[:16]

    happy_model = happyModel()
    happy_model.compile(optimizer='adam',
                       loss='binary_crossentropy',
                       metrics=['accuracy'])
    happy_model.summary()
    happy_model.fit(X_train, Y_train, epochs=10, batch_size=16)
    happy_model.evaluate(X_test, Y_test)

    out = capsys.readouterr().out
    assert 'Model: "sequential"' in out
    assert "Total params: 37,633 (147.00 KB)" in out
    assert "Trainable params: 37,569 (146.75 KB)" in out
    assert "Non-trainable params: 64 (256.00 B)" in out
    assert "Epoch 10/10" in out
    history = happy_model.history.history
    assert sorted(history) == ["accuracy", "loss"] and len(history["loss"]) == 10
    assert all(np.isfinite(history["loss"]))
    loss, acc = happy_model.evaluate(X_test, Y_test, verbose=0)
    assert np.isfinite(loss) and 0.0 <= acc <= 1.0


def test_convolutional_model_course_code(signs_h5, capsys):
    pd = pytest.importorskip("pandas")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(0)
    X_train, Y_train = _load(signs_h5, 8, one_hot=True)
    X_test, Y_test = X_train[:4], Y_train[:4]
    train_dataset = tf.data.Dataset.from_tensor_slices((X_train, Y_train)).batch(64)
    test_dataset = tf.data.Dataset.from_tensor_slices((X_test, Y_test)).batch(64)

    conv_model = convolutional_model((64, 64, 3))
    conv_model.compile(optimizer='adam',
                      loss='categorical_crossentropy',
                      metrics=['accuracy'])
    history = conv_model.fit(train_dataset, epochs=100, validation_data=test_dataset)

    with warnings.catch_warnings():  # pandas' notes on inplace/chained assignment
        warnings.simplefilter("ignore")
        df_loss_acc = pd.DataFrame(history.history)
        df_loss= df_loss_acc[['loss','val_loss']]
        df_loss.rename(columns={'loss':'train','val_loss':'validation'},inplace=True)
        df_loss.plot(title='Model loss',figsize=(12,8)).set(xlabel='Epoch',ylabel='Loss')
        df_acc= df_loss_acc[['accuracy','val_accuracy']]
        df_acc.rename(columns={'accuracy':'train','val_accuracy':'validation'},inplace=True)
        df_acc.plot(title='Model Accuracy',figsize=(12,8)).set(xlabel='Epoch',ylabel='Accuracy')
    plt.close("all")

    # Keras 3.15's History order (TF 2.21 prints the same keys sorted)
    assert list(df_loss_acc.columns) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(df_loss_acc) == 100
    assert list(df_loss.columns) == ["train", "validation"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    out = capsys.readouterr().out
    assert "Epoch 100/100" in out and "val_loss" in out


def test_code_is_verbatim():
    """Every line of the course's model code appears unchanged in this file."""
    if not SPEC.is_file():
        pytest.skip(f"course notes not found at {SPEC}")
    notes = SPEC.read_text(encoding="utf-8")
    here = Path(__file__).read_text(encoding="utf-8")
    for start in ("def happyModel", "def convolutional_model"):
        i = notes.index(start)
        assert notes[i:notes.index("```", i)].rstrip("\n") in here, start
    for start in ("happy_model.compile(", "happy_model.fit(", "happy_model.evaluate(",
                  "conv_model = convolutional_model(", "history = conv_model.fit(",
                  "df_loss_acc = pd.DataFrame", "df_acc= df_loss_acc"):
        i = notes.index(start)
        for line in notes[i:notes.index("```", i)].splitlines():
            assert line.strip() in here, line
