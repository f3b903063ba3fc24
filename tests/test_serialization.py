"""The one registry helper (`convnp.serialization`): every Keras spelling of every family,
close matches for unknown names, and users' own objects (register_keras_serializable,
custom_objects, CustomObjectScope) saved and loaded by name."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf
from convnp import activations, initializers, losses, metrics, optimizers, regularizers
from convnp import serialization as S


def _table(text: str) -> dict[str, str]:
    """``"Target: spelling spelling ..."`` lines -> ``{spelling: target}``."""
    table = {}
    for line in text.strip().splitlines():
        target, _, spellings = line.partition(":")
        table.update(dict.fromkeys(spellings.split(), target.strip()))
    return table


# Keras 3 / tf.keras 2.21 spellings (keras.<family>.get accepts each), by the class (or the
# activation) each one stands for
INITIALIZER_SPELLINGS = _table("""
Constant: Constant constant
GlorotNormal: GlorotNormal glorot_normal
GlorotUniform: GlorotUniform glorot_uniform
HeNormal: HeNormal he_normal
HeUniform: HeUniform he_uniform
Identity: Identity identity IdentityInitializer
LecunNormal: LecunNormal lecun_normal
LecunUniform: LecunUniform lecun_uniform
Ones: Ones ones one
Orthogonal: Orthogonal orthogonal OrthogonalInitializer
RandomNormal: RandomNormal random_normal normal
RandomUniform: RandomUniform random_uniform uniform
TruncatedNormal: TruncatedNormal truncated_normal
VarianceScaling: VarianceScaling variance_scaling
Zeros: Zeros zeros zero
""")
LOSS_SPELLINGS = _table("""
BinaryCrossentropy: BinaryCrossentropy binary_crossentropy bce BCE
CategoricalCrossentropy: CategoricalCrossentropy categorical_crossentropy
SparseCategoricalCrossentropy: SparseCategoricalCrossentropy sparse_categorical_crossentropy
MeanSquaredError: MeanSquaredError mean_squared_error mse MSE
MeanAbsoluteError: MeanAbsoluteError mean_absolute_error mae MAE
MeanAbsolutePercentageError: MeanAbsolutePercentageError mean_absolute_percentage_error mape MAPE
MeanSquaredLogarithmicError: MeanSquaredLogarithmicError mean_squared_logarithmic_error msle MSLE
Huber: Huber huber huber_loss
LogCosh: LogCosh log_cosh logcosh
Poisson: Poisson poisson
KLDivergence: KLDivergence kl_divergence kld KLD kullback_leibler_divergence
Hinge: Hinge hinge
SquaredHinge: SquaredHinge squared_hinge
CategoricalHinge: CategoricalHinge categorical_hinge
CosineSimilarity: CosineSimilarity cosine_similarity
""")
# compile()'s "accuracy" is resolved from the data, in any case
METRIC_SPELLINGS = _table("""
AutoAccuracy: accuracy acc Accuracy
BinaryAccuracy: binary_accuracy BinaryAccuracy
CategoricalAccuracy: categorical_accuracy CategoricalAccuracy
SparseCategoricalAccuracy: sparse_categorical_accuracy SparseCategoricalAccuracy
TopKCategoricalAccuracy: top_k_categorical_accuracy TopKCategoricalAccuracy
SparseTopKCategoricalAccuracy: sparse_top_k_categorical_accuracy SparseTopKCategoricalAccuracy
MeanSquaredError: mean_squared_error MeanSquaredError mse MSE
Precision: precision Precision
Recall: recall Recall
AUC: auc AUC
Mean: mean Mean
RootMeanSquaredError: RootMeanSquaredError root_mean_squared_error
MeanAbsoluteError: MeanAbsoluteError mean_absolute_error mae MAE
MeanAbsolutePercentageError: MeanAbsolutePercentageError mean_absolute_percentage_error mape
MeanSquaredLogarithmicError: MeanSquaredLogarithmicError mean_squared_logarithmic_error msle
LogCoshError: LogCoshError log_cosh_error logcosh
Poisson: Poisson poisson
KLDivergence: KLDivergence kl_divergence kld KLD
Hinge: Hinge hinge
SquaredHinge: SquaredHinge squared_hinge
CategoricalHinge: CategoricalHinge categorical_hinge
CosineSimilarity: CosineSimilarity cosine_similarity
BinaryCrossentropy: BinaryCrossentropy binary_crossentropy bce BCE
CategoricalCrossentropy: CategoricalCrossentropy categorical_crossentropy
SparseCategoricalCrossentropy: SparseCategoricalCrossentropy sparse_categorical_crossentropy
IoU: IoU io_u
MeanIoU: MeanIoU mean_io_u
OneHotMeanIoU: OneHotMeanIoU one_hot_mean_io_u
""")
OPTIMIZER_SPELLINGS = _table("""
SGD: sgd SGD
Adam: adam Adam
RMSprop: rmsprop RMSprop
AdamW: adamw AdamW
Adagrad: adagrad Adagrad
Adamax: adamax Adamax
Nadam: nadam Nadam
""")
ACTIVATION_SPELLINGS = _table("""
relu: relu
sigmoid: sigmoid
softmax: softmax
tanh: tanh
linear: linear
softplus: softplus
softsign: softsign
elu: elu
selu: selu
silu: silu swish
leaky_relu: leaky_relu
relu6: relu6
exponential: exponential
gelu: gelu
hard_sigmoid: hard_sigmoid
hard_silu: hard_silu hard_swish
mish: mish
log_softmax: log_softmax
log_sigmoid: log_sigmoid
hard_tanh: hard_tanh
celu: celu
""")
REGULARIZER_SPELLINGS = _table("""
L1: l1 L1
L2: l2 L2
L1L2: l1_l2 L1L2
""")


@pytest.mark.parametrize("module,spellings", [
    (initializers, INITIALIZER_SPELLINGS), (losses, LOSS_SPELLINGS),
    (metrics, METRIC_SPELLINGS), (optimizers, OPTIMIZER_SPELLINGS),
    (regularizers, REGULARIZER_SPELLINGS),
], ids=["initializers", "losses", "metrics", "optimizers", "regularizers"])
def test_every_keras_spelling_resolves(module, spellings):
    for spelling, class_name in spellings.items():
        if "IoU" in class_name:  # needs num_classes: the name resolves to the class
            assert module.METRICS.lookup(spelling).__name__ == class_name
            continue
        obj = module.get(spelling)
        assert type(obj).__name__ == class_name, spelling
        # and through a Keras config dict of its class
        assert type(module.deserialize(module.serialize(obj))).__name__ == class_name


def test_every_activation_spelling_resolves():
    for spelling, name in ACTIVATION_SPELLINGS.items():
        assert activations.get(spelling).name == name
        assert activations.deserialize(activations.serialize(spelling)).name == name
        assert tf.keras.activations.get(spelling) is activations.get(spelling)


def test_initializer_spellings_are_attributes_of_both_namespaces():
    for spelling, class_name in INITIALIZER_SPELLINGS.items():
        cls = getattr(initializers, class_name)
        assert getattr(tf.keras.initializers, spelling) is cls, spelling
        assert getattr(initializers, spelling) is cls, spelling
        assert spelling in tf.keras.initializers.__all__
    # the course's spelling builds an initializer
    draw = tf.keras.initializers.glorot_uniform(seed=0)((3, 4))
    assert draw.shape == (3, 4) and draw.dtype == np.float32


def test_function_spellings_stand_for_their_class():
    assert isinstance(losses.get(losses.mse), losses.MeanSquaredError)
    assert losses.MSE is losses.mean_squared_error
    assert metrics.get(metrics.binary_accuracy).name == "binary_accuracy"
    assert activations.get(activations.relu) is activations.get("relu")
    # the per-sample functions take the class's arguments
    smooth = losses.binary_crossentropy([[1.0]], [[0.7]], label_smoothing=0.2)
    np.testing.assert_allclose(
        smooth, losses.BinaryCrossentropy(label_smoothing=0.2).per_sample([[1.0]], [[0.7]]))


@pytest.mark.parametrize("module,typo,expected", [
    (initializers, "glorot_unifrom", "glorot_uniform"),
    (losses, "binary_crosentropy", "binary_crossentropy"),
    (metrics, "binary_acuracy", "binary_accuracy"),
    (optimizers, "adamm", "adam"),
    (activations, "rellu", "relu"),
    (regularizers, "l3", "l1"),
])
def test_unknown_name_lists_close_matches(module, typo, expected):
    with pytest.raises(ValueError, match=rf"unknown .*'{typo}'; did you mean .*'{expected}'"):
        module.get(typo)


def test_unknown_config_class_is_a_value_error():
    with pytest.raises(ValueError, match="did you mean 'Adam'"):
        optimizers.deserialize({"class_name": "Adan", "config": {}})
    with pytest.raises(ValueError, match="must be a dict"):
        losses.deserialize({"class_name": "MeanSquaredError", "config": [1]})
    with pytest.raises(TypeError, match="optimizer must be a name"):
        optimizers.get(3)


def test_orthogonal_initializer():
    for shape in [(5, 3), (3, 5), (2, 2, 4, 6)]:
        w = initializers.Orthogonal(gain=2.0, seed=3)(shape)
        assert w.shape == shape
        flat = w.reshape(-1, shape[-1]).astype(np.float64) / 2.0
        small = min(flat.shape)
        gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
        np.testing.assert_allclose(gram, np.eye(small), atol=1e-5)
    seeded = initializers.Orthogonal(seed=1)
    np.testing.assert_array_equal(seeded((4, 4)), seeded((4, 4)))
    assert not np.array_equal(initializers.Orthogonal(seed=2)((4, 4)), seeded((4, 4)))
    with pytest.raises(ValueError, match="two or more axes"):
        initializers.Orthogonal()((4,))
    with pytest.raises(ValueError, match="gain"):
        initializers.Orthogonal(gain=float("nan"))
    clone = initializers.deserialize(initializers.serialize(initializers.Orthogonal(1.5, 7)))
    assert clone.get_config() == {"gain": 1.5, "seed": 7}


# ------------------------------------------------------------------ users' own objects


def test_registered_names_and_objects(clean_registry):
    @tf.keras.saving.register_keras_serializable(package="Mine", name="half")
    def halved(y_true, y_pred):
        return (y_pred - y_true) / 2

    assert tf.keras.saving.get_registered_name(halved) == "Mine>half"
    assert tf.keras.utils.get_registered_object("Mine>half") is halved
    assert tf.keras.saving.get_registered_object("nothing") is None
    assert tf.keras.saving.get_registered_name(losses.mse) == "mean_squared_error"
    with pytest.raises(ValueError, match="package"):
        tf.keras.saving.register_keras_serializable(package="a>b")

    class NoConfig:
        pass

    with pytest.raises(TypeError, match="get_config"):
        tf.keras.saving.register_keras_serializable()(NoConfig)


def test_custom_object_scope_is_per_block_and_thread():
    def doubled(x):
        return 2 * x

    with pytest.raises(ValueError, match="unknown activation"):
        activations.get("doubled")
    with tf.keras.saving.custom_object_scope({"doubled": doubled}):
        np.testing.assert_array_equal(activations.get("doubled")(np.ones(2)), [2.0, 2.0])
        with tf.keras.utils.CustomObjectScope({"other": doubled}):
            assert tf.keras.saving.get_registered_object("doubled") is doubled
            assert tf.keras.saving.get_registered_object("other") is doubled
        assert tf.keras.saving.get_registered_object("other") is None
        import threading

        seen = []
        thread = threading.Thread(
            target=lambda: seen.append(S.get_registered_object("doubled")))
        thread.start()
        thread.join()
        assert seen == [None]
    with pytest.raises(ValueError):
        activations.get("doubled")
    with pytest.raises(TypeError, match="dict"):
        S.CustomObjectScope(["doubled"])


def test_registered_loss_class_round_trips_by_name(clean_registry):
    @tf.keras.saving.register_keras_serializable(package="Mine")
    class ScaledMSE(losses.Loss):
        def __init__(self, scale=2.0, name="scaled_mse", reduction="sum_over_batch_size"):
            super().__init__(name=name, reduction=reduction)
            self.scale = scale

        def call(self, y_true, y_pred):
            return self.scale * tf.reduce_mean(tf.square(y_pred - y_true), axis=-1)

        def get_config(self):
            return {**super().get_config(), "scale": self.scale}

    data = losses.serialize(ScaledMSE(scale=3.0))
    assert data["class_name"] == "Mine>ScaledMSE"
    clone = losses.deserialize(data)
    assert isinstance(clone, ScaledMSE) and clone.scale == 3.0
    assert isinstance(losses.get("ScaledMSE"), ScaledMSE)  # the bare name finds it too
    value = float(clone(np.zeros((2, 3), "f4"), np.ones((2, 3), "f4")))
    assert value == pytest.approx(3.0)


def _model_with(layer, activation):
    from convnp.models import Sequential

    return Sequential([tf.keras.layers.Dense(3, activation=activation, input_shape=(4,)),
                       layer])


def test_custom_layer_loss_and_activation_save_and_load(tmp_path, clean_registry):
    @tf.keras.saving.register_keras_serializable(package="Mine")
    class Shift(tf.keras.layers.Layer):
        def __init__(self, amount=1.0, **kwargs):
            super().__init__(**kwargs)
            self.amount = amount

        def call(self, inputs):
            return inputs + self.amount

        def get_config(self):
            return {**super().get_config(), "amount": self.amount}

    @tf.keras.saving.register_keras_serializable(package="Mine")
    def cubed(x):
        return x ** 3

    def l1_loss(y_true, y_pred):
        return tf.reduce_mean(tf.abs(y_pred - y_true), axis=-1)

    x = np.random.default_rng(0).standard_normal((5, 4)).astype("f4")
    model = _model_with(Shift(0.5), cubed)
    model.compile(optimizer="sgd", loss=l1_loss)
    path = tmp_path / "custom.convnp"
    model.save(path)
    with pytest.raises(ValueError, match="l1_loss"):  # not registered, not in custom_objects
        tf.keras.models.load_model(path)
    loaded = tf.keras.models.load_model(path, custom_objects={"l1_loss": l1_loss})
    assert isinstance(loaded.layers[-1], Shift) and loaded.layers[-1].amount == 0.5
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.compiled_loss.fn is l1_loss
    y = np.zeros((5, 3), "f4")
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))
    # without registration the layer is found through custom_objects alone
    S.get_custom_objects().clear()
    with pytest.raises(ValueError, match="unknown (activation 'cubed'|layer class 'Shift')"):
        tf.keras.models.load_model(path, custom_objects={"l1_loss": l1_loss})
    again = tf.keras.models.load_model(
        path, custom_objects={"Shift": Shift, "cubed": cubed, "l1_loss": l1_loss})
    np.testing.assert_array_equal(again.predict(x, verbose=0), model.predict(x, verbose=0))


def test_generic_keras_object_serialization(clean_registry):
    reg = regularizers.L2(0.3)
    data = tf.keras.saving.serialize_keras_object(reg)
    # TF 2.21 (Keras 3): the entry names the Keras module, which finds the class again
    assert data == {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.3},
                    "registered_name": None}
    assert tf.keras.saving.deserialize_keras_object(data).get_config() == {"l2": 0.3}
    bare = {"class_name": "L2", "config": {"l2": 0.3}}
    back = tf.keras.saving.deserialize_keras_object(bare, module_objects={"L2": regularizers.L2})
    assert back.get_config() == {"l2": 0.3}
    with pytest.raises(TypeError, match="could not locate class"):  # TF 2.21's TypeError
        tf.keras.saving.deserialize_keras_object(bare)
