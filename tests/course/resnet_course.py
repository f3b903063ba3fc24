"""The week-2 ResNet-50 blocks written the way the course's notebook writes them.

Own wording; the same Keras calls in the same order: 1x1 / fxf / 1x1 convolutions, each
followed by ``BatchNormalization(axis=3)(X, training=training)``, ReLU ``Activation``s, an
``Add`` with the shortcut, initializers passed as callables taking ``seed=``.
"""

from __future__ import annotations

import convnp as tf

tfl = tf.keras.layers
random_uniform = tf.keras.initializers.random_uniform
glorot_uniform = tf.keras.initializers.glorot_uniform


def identity_block(X, f, filters, training=True, initializer=random_uniform):
    F1, F2, F3 = filters
    shortcut = X
    X = tfl.Conv2D(filters=F1, kernel_size=1, strides=(1, 1), padding="valid",
                   kernel_initializer=initializer(seed=0))(X)
    X = tfl.BatchNormalization(axis=3)(X, training=training)
    X = tfl.Activation("relu")(X)
    X = tfl.Conv2D(filters=F2, kernel_size=f, strides=(1, 1), padding="same",
                   kernel_initializer=initializer(seed=0))(X)
    X = tfl.BatchNormalization(axis=3)(X, training=training)
    X = tfl.Activation("relu")(X)
    X = tfl.Conv2D(filters=F3, kernel_size=1, strides=(1, 1), padding="valid",
                   kernel_initializer=initializer(seed=0))(X)
    X = tfl.BatchNormalization(axis=3)(X, training=training)
    X = tfl.Add()([X, shortcut])
    return tfl.Activation("relu")(X)


def convolutional_block(X, f, filters, s=2, training=True, initializer=glorot_uniform):
    F1, F2, F3 = filters
    shortcut = X
    X = tfl.Conv2D(filters=F1, kernel_size=1, strides=(s, s), padding="valid",
                   kernel_initializer=initializer(seed=0))(X)
    X = tfl.BatchNormalization(axis=3)(X, training=training)
    X = tfl.Activation("relu")(X)
    X = tfl.Conv2D(filters=F2, kernel_size=f, strides=(1, 1), padding="same",
                   kernel_initializer=initializer(seed=0))(X)
    X = tfl.BatchNormalization(axis=3)(X, training=training)
    X = tfl.Activation("relu")(X)
    X = tfl.Conv2D(filters=F3, kernel_size=1, strides=(1, 1), padding="valid",
                   kernel_initializer=initializer(seed=0))(X)
    X = tfl.BatchNormalization(axis=3)(X, training=training)
    shortcut = tfl.Conv2D(filters=F3, kernel_size=1, strides=(s, s), padding="valid",
                          kernel_initializer=initializer(seed=0))(shortcut)
    shortcut = tfl.BatchNormalization(axis=3)(shortcut, training=training)
    X = tfl.Add()([X, shortcut])
    return tfl.Activation("relu")(X)


def ResNet50(input_shape=(64, 64, 3), classes=6):
    X_input = tfl.Input(input_shape)
    X = tfl.ZeroPadding2D((3, 3))(X_input)
    X = tfl.Conv2D(64, (7, 7), strides=(2, 2), kernel_initializer=glorot_uniform(seed=0))(X)
    X = tfl.BatchNormalization(axis=3)(X)
    X = tfl.Activation("relu")(X)
    X = tfl.MaxPooling2D((3, 3), strides=(2, 2))(X)
    X = convolutional_block(X, f=3, filters=[64, 64, 256], s=1)
    for _ in range(2):
        X = identity_block(X, 3, [64, 64, 256])
    X = convolutional_block(X, f=3, filters=[128, 128, 512], s=2)
    for _ in range(3):
        X = identity_block(X, 3, [128, 128, 512])
    X = convolutional_block(X, f=3, filters=[256, 256, 1024], s=2)
    for _ in range(5):
        X = identity_block(X, 3, [256, 256, 1024])
    X = convolutional_block(X, f=3, filters=[512, 512, 2048], s=2)
    for _ in range(2):
        X = identity_block(X, 3, [512, 512, 2048])
    X = tfl.AveragePooling2D(pool_size=(2, 2))(X)
    X = tfl.Flatten()(X)
    X = tfl.Dense(classes, activation="softmax", kernel_initializer=glorot_uniform(seed=0))(X)
    return tf.keras.Model(inputs=X_input, outputs=X)
