"""The benchmark suite's models, written once as Keras code: ``build(tf, name)``.

The same function builds each model under ``import convnp as tf`` and under real TensorFlow
(`worker_suite.py` runs it in either), so both frameworks time exactly the same network. This
file is also run from a TensorFlow venv that need not have convnp installed: it imports
nothing from convnp. `suite_torch.py` holds the PyTorch twins.

A model whose layers the framework lacks raises `MissingLayer` (the suite reports it as
skipped).
"""

from __future__ import annotations

import numpy as np

# name -> (input shape of one example, classes, batch size, train steps per timed epoch)
# classes 0: per-pixel classes for a segmentation model (the U-Net's 23)
SPECS = {
    "mnist": ((28, 28, 1), 10, 128, 4),
    "vgg": ((32, 32, 3), 10, 64, 4),
    "resnet50": ((64, 64, 3), 6, 32, 3),
    "mobilenetv2": ((96, 96, 3), 10, 32, 3),
    "unet": ((96, 128, 3), 23, 4, 4),
    "happy": ((64, 64, 3), 2, 16, 8),
    "signs": ((64, 64, 3), 6, 64, 6),
    "c3d": ((16, 32, 32, 3), 10, 8, 4),
    "convmixer": ((32, 32, 3), 10, 32, 4),
    "vit": ((32, 32, 3), 10, 64, 4),
}
MODELS = tuple(SPECS)
SEGMENTATION = ("unet",)


class MissingLayer(Exception):
    """The framework has no layer (or argument) this model needs."""


def synthetic_batch(name: str, seed: int = 0):
    """Random images and targets for one timed epoch of ``name`` (same bytes for every
    framework): ``(x, y)`` with ``x`` float32 NHWC; ``y`` one-hot float32 (a column of 0/1
    for two classes), or integer class maps ``(m, H, W, 1)`` for a segmentation model."""
    shape, classes, batch, steps = SPECS[name]
    n = batch * steps
    rng = np.random.default_rng(seed)
    x = rng.random((n, *shape), dtype=np.float32)
    if name in SEGMENTATION:
        return x, rng.integers(0, classes, (n, *shape[:2], 1)).astype(np.int64)
    labels = rng.integers(0, classes, n)
    if classes == 2:
        return x, labels.astype(np.float32).reshape(n, 1)
    return x, np.eye(classes, dtype=np.float32)[labels]


def _layer(tf, name: str):
    try:
        return getattr(tf.keras.layers, name)
    except AttributeError:
        raise MissingLayer(f"no tf.keras.layers.{name}") from None


def _mnist(tf):
    """The keras.io "Simple MNIST convnet"."""
    L = tf.keras.layers
    return tf.keras.Sequential([
        L.Input(shape=(28, 28, 1)),
        L.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        L.MaxPooling2D(pool_size=(2, 2)),
        L.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        L.MaxPooling2D(pool_size=(2, 2)),
        L.Flatten(),
        L.Dropout(0.5),
        L.Dense(10, activation="softmax"),
    ])


def _vgg(tf):
    """Three VGG stages of (conv 3x3, BN, ReLU) twice then a 2x2 max pool, on CIFAR images."""
    L = tf.keras.layers
    stack = [L.Input(shape=(32, 32, 3))]
    for filters in (32, 64, 128):
        for _ in range(2):
            stack += [L.Conv2D(filters, 3, padding="same"), L.BatchNormalization(), L.ReLU()]
        stack.append(L.MaxPooling2D(2))
    stack += [L.Flatten(), L.Dense(10, activation="softmax")]
    return tf.keras.Sequential(stack)


def _identity_block(tf, X, f, filters):
    """The course's week-2 identity block: 1x1, fxf, 1x1 convs with BN, added to the input."""
    L = tf.keras.layers
    F1, F2, F3 = filters
    shortcut = X
    X = L.Conv2D(F1, 1, strides=1, padding="valid")(X)
    X = L.Activation("relu")(L.BatchNormalization(axis=3)(X))
    X = L.Conv2D(F2, f, strides=1, padding="same")(X)
    X = L.Activation("relu")(L.BatchNormalization(axis=3)(X))
    X = L.Conv2D(F3, 1, strides=1, padding="valid")(X)
    X = L.BatchNormalization(axis=3)(X)
    return L.Activation("relu")(L.Add()([X, shortcut]))


def _convolutional_block(tf, X, f, filters, s=2):
    """The course's convolutional block: the identity block with a strided first 1x1 conv and
    a strided 1x1 conv + BN on the shortcut."""
    L = tf.keras.layers
    F1, F2, F3 = filters
    shortcut = X
    X = L.Conv2D(F1, 1, strides=s, padding="valid")(X)
    X = L.Activation("relu")(L.BatchNormalization(axis=3)(X))
    X = L.Conv2D(F2, f, strides=1, padding="same")(X)
    X = L.Activation("relu")(L.BatchNormalization(axis=3)(X))
    X = L.Conv2D(F3, 1, strides=1, padding="valid")(X)
    X = L.BatchNormalization(axis=3)(X)
    shortcut = L.BatchNormalization(axis=3)(L.Conv2D(F3, 1, strides=s, padding="valid")(shortcut))
    return L.Activation("relu")(L.Add()([X, shortcut]))


def _resnet50(tf):
    """The course's ResNet50(input_shape=(64, 64, 3), classes=6)."""
    L = tf.keras.layers
    inputs = L.Input(shape=(64, 64, 3))
    X = L.ZeroPadding2D((3, 3))(inputs)
    X = L.Conv2D(64, (7, 7), strides=(2, 2))(X)
    X = L.Activation("relu")(L.BatchNormalization(axis=3)(X))
    X = L.MaxPooling2D((3, 3), strides=(2, 2))(X)
    stages = (([64, 64, 256], 1, 2), ([128, 128, 512], 2, 3), ([256, 256, 1024], 2, 5),
              ([512, 512, 2048], 2, 2))
    for filters, s, identities in stages:
        X = _convolutional_block(tf, X, 3, filters, s=s)
        for _ in range(identities):
            X = _identity_block(tf, X, 3, filters)
    X = L.AveragePooling2D((2, 2))(X)
    outputs = L.Dense(6, activation="softmax")(L.Flatten()(X))
    return tf.keras.Model(inputs=inputs, outputs=outputs)


# MobileNetV2 (alpha 1): (expansion t, output channels c, repeats n, first stride s)
MOBILENET_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                    (6, 160, 3, 2), (6, 320, 1, 1))


def _mobilenetv2(tf):
    """MobileNetV2 (width 1.0) with a 10-class head: inverted residual blocks of 1x1
    expansion, 3x3 depthwise conv, linear 1x1 projection, BN and ReLU6."""
    L = tf.keras.layers
    Depthwise = _layer(tf, "DepthwiseConv2D")
    inputs = L.Input(shape=(96, 96, 3))
    X = L.Conv2D(32, 3, strides=2, padding="same", use_bias=False)(inputs)
    X = L.ReLU(6.0)(L.BatchNormalization()(X))
    channels = 32
    for t, c, n, s in MOBILENET_STAGES:
        for i in range(n):
            stride = s if i == 0 else 1
            shortcut = X
            if t != 1:
                X = L.Conv2D(channels * t, 1, use_bias=False)(X)
                X = L.ReLU(6.0)(L.BatchNormalization()(X))
            X = Depthwise(3, strides=stride, padding="same", use_bias=False)(X)
            X = L.ReLU(6.0)(L.BatchNormalization()(X))
            X = L.BatchNormalization()(L.Conv2D(c, 1, use_bias=False)(X))
            if stride == 1 and channels == c:
                X = L.Add()([X, shortcut])
            channels = c
    X = L.ReLU(6.0)(L.BatchNormalization()(L.Conv2D(1280, 1, use_bias=False)(X)))
    outputs = L.Dense(10, activation="softmax")(L.GlobalAveragePooling2D()(X))
    return tf.keras.Model(inputs=inputs, outputs=outputs)


def _unet_conv_block(tf, inputs, n_filters, dropout_prob=0.0, max_pooling=True):
    L = tf.keras.layers
    conv = L.Conv2D(n_filters, 3, activation="relu", padding="same",
                    kernel_initializer="he_normal")(inputs)
    conv = L.Conv2D(n_filters, 3, activation="relu", padding="same",
                    kernel_initializer="he_normal")(conv)
    if dropout_prob > 0:
        conv = L.Dropout(dropout_prob)(conv)
    next_layer = L.MaxPooling2D(pool_size=(2, 2))(conv) if max_pooling else conv
    return next_layer, conv


def _unet_upsampling_block(tf, expansive_input, contractive_input, n_filters):
    L = tf.keras.layers
    up = _layer(tf, "Conv2DTranspose")(n_filters, 3, strides=(2, 2),
                                       padding="same")(expansive_input)
    merge = L.Concatenate(axis=3)([up, contractive_input])
    conv = L.Conv2D(n_filters, 3, activation="relu", padding="same",
                    kernel_initializer="he_normal")(merge)
    return L.Conv2D(n_filters, 3, activation="relu", padding="same",
                    kernel_initializer="he_normal")(conv)


def _unet(tf, n_filters=32, n_classes=23):
    """The course's week-3 U-Net, input 96x128x3, 23 classes, per-pixel logits."""
    L = tf.keras.layers
    inputs = L.Input(shape=(96, 128, 3))
    c1 = _unet_conv_block(tf, inputs, n_filters)
    c2 = _unet_conv_block(tf, c1[0], n_filters * 2)
    c3 = _unet_conv_block(tf, c2[0], n_filters * 4)
    c4 = _unet_conv_block(tf, c3[0], n_filters * 8, dropout_prob=0.3)
    c5 = _unet_conv_block(tf, c4[0], n_filters * 16, dropout_prob=0.3, max_pooling=False)
    u6 = _unet_upsampling_block(tf, c5[0], c4[1], n_filters * 8)
    u7 = _unet_upsampling_block(tf, u6, c3[1], n_filters * 4)
    u8 = _unet_upsampling_block(tf, u7, c2[1], n_filters * 2)
    u9 = _unet_upsampling_block(tf, u8, c1[1], n_filters)
    conv9 = L.Conv2D(n_filters, 3, activation="relu", padding="same",
                     kernel_initializer="he_normal")(u9)
    outputs = L.Conv2D(n_classes, 1, padding="same")(conv9)
    return tf.keras.Model(inputs=inputs, outputs=outputs)


def _c3d(tf):
    """A small C3D-style video classifier: clips of 16 frames of 32x32 RGB, three 3x3x3
    conv stages of 16, 32 and 64 filters (the first pool keeps the time axis), global
    average pooling, 10 classes. (At 64x64 or twice the filters a train step of 8 clips
    takes 0.7-1.6 s in PyTorch on 2 cores: too slow for the suite.)"""
    L = tf.keras.layers
    return tf.keras.Sequential([
        L.Input(shape=(16, 32, 32, 3)),
        _layer(tf, "Conv3D")(16, 3, activation="relu", padding="same"),
        _layer(tf, "MaxPooling3D")((1, 2, 2)),
        _layer(tf, "Conv3D")(32, 3, activation="relu", padding="same"),
        _layer(tf, "MaxPooling3D")(2),
        _layer(tf, "Conv3D")(64, 3, activation="relu", padding="same"),
        _layer(tf, "GlobalAveragePooling3D")(),
        L.Dense(10, activation="softmax"),
    ])


def _convmixer(tf):
    """keras.io's ConvMixer ("Patches are all you need?") at CIFAR size, scaled to the
    suite: 2x2 patches to 64 channels, 4 blocks of a 5x5 depthwise conv (GELU, batch norm,
    residual add) and a 1x1 conv (GELU, batch norm), global average pooling, 10 classes."""
    L = tf.keras.layers

    def act_bn(x):
        return L.BatchNormalization()(L.Activation("gelu")(x))

    inputs = L.Input(shape=(32, 32, 3))
    x = act_bn(L.Conv2D(64, 2, strides=2)(inputs))
    for _ in range(4):
        mixed = act_bn(_layer(tf, "DepthwiseConv2D")(5, padding="same")(x))
        x = act_bn(L.Conv2D(64, 1)(L.Add()([mixed, x])))
    x = L.GlobalAveragePooling2D()(x)
    return tf.keras.Model(inputs, L.Dense(10, activation="softmax")(x))


def _vit(tf):
    """A small vision transformer as keras.io builds one, scaled to the suite: 4x4 patches of
    32x32 images embedded in 64 dimensions by a strided conv, 4 pre-norm blocks of
    LayerNormalization, MultiHeadAttention (4 heads of 16) and a GELU MLP of 128, residual
    adds, average pooling of the 64 tokens, 10 classes."""
    L = tf.keras.layers
    inputs = L.Input(shape=(32, 32, 3))
    x = L.Reshape((64, 64))(L.Conv2D(64, 4, strides=4)(inputs))
    for _ in range(4):
        h = L.LayerNormalization(epsilon=1e-6)(x)
        x = L.Add()([x, _layer(tf, "MultiHeadAttention")(num_heads=4, key_dim=16)(h, h)])
        h = L.LayerNormalization(epsilon=1e-6)(x)
        x = L.Add()([x, L.Dense(64)(L.Dense(128, activation="gelu")(h))])
    x = L.GlobalAveragePooling1D()(x)
    return tf.keras.Model(inputs, L.Dense(10, activation="softmax")(x))


BUILDERS = {"mnist": _mnist, "vgg": _vgg, "resnet50": _resnet50, "mobilenetv2": _mobilenetv2,
            "unet": _unet, "c3d": _c3d, "convmixer": _convmixer, "vit": _vit}


def build(tf, name: str):
    """The compiled model ``name`` (Adam with Keras's defaults). Raises `MissingLayer`."""
    if name in ("happy", "signs"):
        try:  # run as a script from this folder (a TensorFlow venv without convnp)
            from worker_keras import build as build_notes_model
        except ImportError:
            from convnp.bench.worker_keras import build as build_notes_model
        return build_notes_model(tf, name)
    if name not in BUILDERS:
        raise ValueError(f"unknown suite model {name!r}; expected one of {MODELS}")
    net = BUILDERS[name](tf)
    if name in SEGMENTATION:
        loss = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        loss = "categorical_crossentropy"
    net.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return net
