"""Weight paths in keras.io's convnet examples: PatchConvNet's attention pooling holds a
Sequential MLP, models are subclassed or Sequential.

Keras 3 names a weight from the name scopes open when it is made: the layers' and the
models' (a Sequential builds its layers inside its own scope, a subclassed model its layers
during its call). A functional model's layers are made before the model, so its name is not
in their paths. The expected paths are TensorFlow 2.21's for the same programs.
"""

import numpy as np

import convnp as tf

keras = tf.keras
layers = keras.layers

X = np.zeros((2, 4), "float32")


def _kernel_paths(model) -> list[str]:
    return [v.path for v in model.weights if v.path.endswith("kernel")]


class AttentionPooling(layers.Layer):
    """A user's layer with a Sequential MLP made in `build`, as PatchConvNet's."""

    def build(self, input_shape):
        self.mlp = keras.Sequential([layers.Dense(3), layers.Dense(3)])
        self.head = layers.Dense(2)

    def call(self, x):
        return self.head(self.mlp(x))


def test_sequential_inside_a_user_layer():
    keras.backend.clear_session()
    inputs = keras.Input((4,))
    model = keras.Model(inputs, AttentionPooling()(inputs))
    assert _kernel_paths(model) == [  # TF 2.21
        "attention_pooling/sequential/dense/kernel",
        "attention_pooling/sequential/dense_1/kernel",
        "attention_pooling/dense_2/kernel"]


def test_sequential_models_name_their_layers_weights():
    keras.backend.clear_session()
    built_at_once = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    called = keras.Sequential([layers.Dense(2)])
    called(X)
    fitted = keras.Sequential([layers.Dense(2)])
    fitted.compile("sgd", "mse")
    fitted.fit(X, X[:, :2], verbose=0)
    extended = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    extended.add(layers.Dense(3))
    # TF 2.21
    assert _kernel_paths(built_at_once) == ["sequential/dense/kernel"]
    assert _kernel_paths(called) == ["sequential_1/dense_1/kernel"]
    assert _kernel_paths(fitted) == ["sequential_2/dense_2/kernel"]
    assert _kernel_paths(extended) == ["sequential_3/dense_3/kernel", "sequential_3/dense_4/kernel"]


class Classifier(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.stem = layers.Dense(2)
        self.mlp = keras.Sequential([layers.Dense(2)])

    def call(self, x):
        return self.mlp(self.stem(x))


def test_subclassed_model_names_the_weights_its_call_makes():
    keras.backend.clear_session()
    called = Classifier()
    called(X)
    predicted = Classifier(name="mine")
    predicted.predict(X, verbose=0)
    fitted = Classifier()
    fitted.compile("sgd", "mse")
    fitted.fit(X, X[:, :2], verbose=0)
    # TF 2.21 (not the model's internal call layer, "mine_call", as convnp wrote before)
    assert _kernel_paths(called) == ["classifier/dense/kernel",
                                     "classifier/sequential/dense_1/kernel"]
    assert _kernel_paths(predicted) == ["mine/dense_2/kernel", "mine/sequential_1/dense_3/kernel"]
    assert _kernel_paths(fitted) == ["classifier_1/dense_4/kernel",
                                     "classifier_1/sequential_2/dense_5/kernel"]


def test_functional_models_keep_their_layers_paths():
    keras.backend.clear_session()
    inputs = keras.Input((4,))
    inner = keras.Model(inputs, layers.Dense(3)(inputs))
    outer_inputs = keras.Input((4,))
    nested_sequential = keras.Sequential([layers.Dense(2)])
    outer = keras.Model(outer_inputs, nested_sequential(inner(outer_inputs)))
    # TF 2.21: the inner functional model's layer was made before it, the Sequential's inside
    assert _kernel_paths(outer) == ["dense/kernel", "sequential/dense_1/kernel"]


def test_optimizer_slots_follow_the_paths():
    keras.backend.clear_session()
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2, name="d")])
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9), "mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 2), "float32"), verbose=0)
    assert [v.path for v in model.optimizer.variables] == [  # TF 2.21
        "sgd/iteration", "sgd/learning_rate", "sgd/sequential_d_kernel_momentum",
        "sgd/sequential_d_bias_momentum"]
