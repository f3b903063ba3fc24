"""``keras.Model.from_config`` of a TF 2.21 model's ``get_config()`` (Keras 3's own layout:
module, registered_name and the calls' args in each entry) builds the same model, as Keras
does; convnp's own configs still load as before."""

import json

import numpy as np

import convnp as tf

# TF 2.21's get_config() of Model(Input((4,), name="x") -> Dense(3, name="h") -> Dense(2,
# name="d"), name="m"), as its to_json() writes it
TF_CONFIG = json.loads(
    "{\"name\": \"m\", \"trainable\": true, \"layers\": [{\"module\": \"keras.layers\", \"class_name\":"
    " \"InputLayer\", \"config\": {\"batch_shape\": [null, 4], \"dtype\": \"float32\", \"sparse\": fa"
    "lse, \"ragged\": false, \"name\": \"x\", \"optional\": false}, \"registered_name\": null, \"nam"
    "e\": \"x\", \"inbound_nodes\": []}, {\"module\": \"keras.layers\", \"class_name\": \"Dense\", \"co"
    "nfig\": {\"name\": \"h\", \"trainable\": true, \"dtype\": {\"module\": \"keras\", \"class_name\": \""
    "DTypePolicy\", \"config\": {\"name\": \"float32\"}, \"registered_name\": null}, \"units\": 3, \""
    "activation\": \"linear\", \"use_bias\": true, \"kernel_initializer\": {\"module\": \"keras.ini"
    "tializers\", \"class_name\": \"GlorotUniform\", \"config\": {\"seed\": null, \"input_axes\": nu"
    "ll, \"output_axes\": null}, \"registered_name\": null}, \"bias_initializer\": {\"module\": \""
    "keras.initializers\", \"class_name\": \"Zeros\", \"config\": {}, \"registered_name\": null}, "
    "\"kernel_regularizer\": null, \"bias_regularizer\": null, \"kernel_constraint\": null, \"bi"
    "as_constraint\": null, \"quantization_config\": null}, \"registered_name\": null, \"build_"
    "config\": {\"input_shape\": [null, 4]}, \"name\": \"h\", \"inbound_nodes\": [{\"args\": [{\"clas"
    "s_name\": \"__keras_tensor__\", \"config\": {\"shape\": [null, 4], \"dtype\": \"float32\", \"ker"
    "as_history\": [\"x\", 0, 0]}}], \"kwargs\": {}}]}, {\"module\": \"keras.layers\", \"class_name"
    "\": \"Dense\", \"config\": {\"name\": \"d\", \"trainable\": true, \"dtype\": {\"module\": \"keras\", "
    "\"class_name\": \"DTypePolicy\", \"config\": {\"name\": \"float32\"}, \"registered_name\": null}"
    ", \"units\": 2, \"activation\": \"linear\", \"use_bias\": true, \"kernel_initializer\": {\"modu"
    "le\": \"keras.initializers\", \"class_name\": \"GlorotUniform\", \"config\": {\"seed\": null, \""
    "input_axes\": null, \"output_axes\": null}, \"registered_name\": null}, \"bias_initializer"
    "\": {\"module\": \"keras.initializers\", \"class_name\": \"Zeros\", \"config\": {}, \"registered"
    "_name\": null}, \"kernel_regularizer\": null, \"bias_regularizer\": null, \"kernel_constra"
    "int\": null, \"bias_constraint\": null, \"quantization_config\": null}, \"registered_name\""
    ": null, \"build_config\": {\"input_shape\": [null, 3]}, \"name\": \"d\", \"inbound_nodes\": [{"
    "\"args\": [{\"class_name\": \"__keras_tensor__\", \"config\": {\"shape\": [null, 3], \"dtype\": "
    "\"float32\", \"keras_history\": [\"h\", 0, 0]}}], \"kwargs\": {}}]}], \"input_layers\": [\"x\", "
    "0, 0], \"output_layers\": [\"d\", 0, 0]}"
)


def test_a_tensorflow_models_config_builds_the_model():
    model = tf.keras.Model.from_config(TF_CONFIG)
    assert [layer.name for layer in model.layers] == ["x", "h", "d"]
    assert model.name == "m"
    assert tuple(model(np.ones((1, 4), "float32")).shape) == (1, 2)
    assert [w.shape for w in model.get_weights()] == [(4, 3), (3,), (3, 2), (2,)]


def test_convnps_own_config_still_round_trips():
    inp = tf.keras.Input((4,), name="x")
    model = tf.keras.Model(inp, tf.keras.layers.Dense(2, name="d")(inp), name="m")
    again = tf.keras.Model.from_config(model.get_config())
    assert [layer.name for layer in again.layers] == ["x", "d"]
