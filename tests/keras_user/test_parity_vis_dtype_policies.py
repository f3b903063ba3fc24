"""``tf.keras.dtype_policies`` against Keras 3.15 on TensorFlow 2.21 (missing in convnp
before; the expected values, types and reprs are what TF 2.21 printed)."""

import numpy as np
import pytest

import convnp as tf

dp = tf.keras.dtype_policies


def test_namespace_and_one_policy_class():
    names = {"AWQDTypePolicy", "DTypePolicy", "DTypePolicyMap", "FloatDTypePolicy",
             "GPTQDTypePolicy", "Int4DTypePolicy", "QuantizedDTypePolicy",
             "QuantizedFloat8DTypePolicy", "deserialize", "get", "serialize"}
    assert names <= set(dir(dp))
    # TF 2.21: keras.DTypePolicy, dtype_policies.DTypePolicy and mixed_precision.Policy are one
    # class; FloatDTypePolicy is a subclass of it
    assert tf.keras.DTypePolicy is dp.DTypePolicy is tf.keras.mixed_precision.Policy
    assert tf.keras.FloatDTypePolicy is dp.FloatDTypePolicy is not dp.DTypePolicy
    assert isinstance(dp.FloatDTypePolicy("float32"), dp.DTypePolicy)
    assert type(tf.keras.config.dtype_policy()) is dp.DTypePolicy
    # TF 2.21 hands back one global policy object: the one set last
    assert tf.keras.config.dtype_policy() is tf.keras.mixed_precision.global_policy()
    mine = dp.DTypePolicy("float32")
    tf.keras.config.set_dtype_policy(mine)
    try:
        assert tf.keras.config.dtype_policy() is mine
    finally:
        tf.keras.config.set_dtype_policy("float32")
    assert type(tf.keras.layers.Dense(2).dtype_policy).__name__ == "DTypePolicy"


def test_policy_attributes_config_and_equality():
    p = dp.DTypePolicy("float32")
    assert repr(p) == str(p) == '<DTypePolicy "float32">'
    assert repr(dp.FloatDTypePolicy("float32")) == '<DTypePolicy "float32">'
    assert (p.name, p.compute_dtype, p.variable_dtype, p.quantization_mode) == (
        "float32", "float32", "float32", None)
    assert p.get_config() == {"name": "float32"}
    assert dp.DTypePolicy.from_config(p.get_config()) == p
    assert dp.DTypePolicy().name == "float32"  # the global policy
    assert dp.DTypePolicy("float64").compute_dtype == "float64"
    assert dp.DTypePolicy("int32").variable_dtype == "int32"
    assert p == dp.FloatDTypePolicy("float32") and p != "float32"
    with pytest.raises(TypeError):  # unhashable in TF 2.21 (equality by value)
        hash(p)
    with pytest.raises(AttributeError):  # read-only
        p.name = "float64"
    with pytest.raises(TypeError):
        dp.DTypePolicy(3)
    with pytest.raises(ValueError):
        dp.DTypePolicy("foo")


def test_get():
    assert repr(dp.get("float64")) == '<DTypePolicy "float64">'
    assert dp.get(None).name == "float32"
    p = dp.DTypePolicy("float32")
    assert dp.get(p) is p
    assert dp.get({"class_name": "DTypePolicy", "config": {"name": "float32"}}) == p
    assert dp.get(np.float64).name == "float64" and dp.get(np.dtype("float32")).name == "float32"
    assert repr(dp.get("int8_from_float32")) == '<QuantizedDTypePolicy "int8_from_float32">'
    assert type(dp.get("int4_from_float32")) is dp.QuantizedDTypePolicy
    assert repr(dp.get("int4/64_from_float32")) == '<Int4DTypePolicy "int4/64_from_float32">'
    assert type(dp.get("gptq/4/128_from_float32")) is dp.GPTQDTypePolicy
    assert type(dp.get("float8_from_float32")) is dp.QuantizedFloat8DTypePolicy
    for bad in ("foo", 3, "int8"):
        with pytest.raises(ValueError):
            dp.get(bad)


def test_serialize_and_deserialize():
    assert dp.serialize(dp.DTypePolicy("float64")) == {
        "module": "keras", "class_name": "DTypePolicy", "config": {"name": "float64"},
        "registered_name": None}
    assert dp.serialize(dp.FloatDTypePolicy("float32"))["class_name"] == "FloatDTypePolicy"
    assert dp.serialize(dp.QuantizedFloat8DTypePolicy("float8", "float32")) == {
        "module": "keras.dtype_policies", "class_name": "QuantizedFloat8DTypePolicy",
        "config": {"mode": "float8", "source_name": "float32", "amax_history_length": 1024},
        "registered_name": None}
    assert dp.serialize(dp.GPTQDTypePolicy("gptq/4/128", "float32"))["config"] == {
        "mode": "gptq/4/128", "source_name": "float32"}
    for policy in (dp.DTypePolicy("float64"), dp.QuantizedDTypePolicy("int8", "float32"),
                   dp.Int4DTypePolicy("int4/128", "float32")):
        back = dp.deserialize(dp.serialize(policy))
        assert type(back) is type(policy) and back == policy
    assert dp.deserialize("float32") == "float32"  # a string comes back as it is


def test_quantized_policies_describe_and_refuse_on_use():
    q = dp.QuantizedDTypePolicy("int8")
    assert (q.name, q.compute_dtype, q.variable_dtype, q.quantization_mode) == (
        "int8_from_float32", "float32", "float32", "int8")
    assert q.get_config() == {"mode": "int8", "source_name": "float32"}
    assert q == dp.QuantizedDTypePolicy("int8", "float32") and q != dp.DTypePolicy("float32")
    int4 = dp.Int4DTypePolicy("int4/128", "float32")
    assert (int4.block_size, int4.mode, int4.quantization_mode) == (128, "int4", "int4")
    gptq = dp.GPTQDTypePolicy("gptq/4/128")
    assert (gptq.weight_bits, gptq.group_size) == (4, 128)
    assert dp.QuantizedFloat8DTypePolicy("float8").amax_history_length == 1024
    with pytest.raises(ValueError):
        dp.QuantizedDTypePolicy("foo", "float32")
    with pytest.raises(ValueError):
        dp.Int4DTypePolicy("int4")
    with pytest.raises(TypeError):
        dp.QuantizedFloat8DTypePolicy("float8", amax_history_length=1.5)
    # TF builds such a layer (to quantize it later); convnp does not quantize and says so
    with pytest.raises(NotImplementedError, match="quantize"):
        tf.keras.layers.Dense(2, dtype=q)
    with pytest.raises(NotImplementedError, match="quantize"):
        tf.keras.layers.Dense(2, dtype="int8_from_float32")


def test_dtype_policy_map():
    m = dp.DTypePolicyMap()
    assert isinstance(m, dp.DTypePolicy) and m.name == "map_float32"
    assert (m.compute_dtype, m.variable_dtype, m.quantization_mode) == ("float32", "float32",
                                                                        None)
    m["dense/kernel"] = dp.DTypePolicy("float64")
    assert m["dense/kernel"].name == "float64" and m["other"].name == "float32"
    assert len(m) == 1 and list(m.keys()) == ["dense/kernel"] and "dense/kernel" in m
    with pytest.raises(ValueError):  # a key is set once
        m["dense/kernel"] = "float32"
    with pytest.raises(ValueError):
        m["b"] = 3
    # no default given: the entries are written without their dtype (TF 2.21's config)
    assert m.get_config() == {"default_policy": None, "policy_map": {"dense/kernel": {
        "module": "keras", "class_name": "DTypePolicy", "config": {"name": None},
        "registered_name": None}}}
    assert dp.serialize(m)["module"] == "keras.dtype_policies"
    back = dp.DTypePolicyMap.from_config(m.get_config())
    assert back["dense/kernel"].name == "float32"  # the global policy, as in TF
    full = dp.DTypePolicyMap("float32", {"a": dp.DTypePolicy("float64")})
    assert full.get_config()["policy_map"]["a"]["config"] == {"name": "float64"}
    assert dp.deserialize(dp.serialize(full))["a"].name == "float64"
    regex = dp.DTypePolicyMap("float32", {"dense.*": dp.DTypePolicy("float64")})
    assert regex["dense_1/kernel"].name == "float64"  # a key matching the whole path
    regex[".*kernel"] = "float64"
    with pytest.raises(ValueError):
        regex["dense_1/kernel"]
    assert m.pop("dense/kernel").name == "float64" and len(m) == 0
    with pytest.raises(KeyError):
        del m["zz"]
    with pytest.raises(ValueError):
        dp.DTypePolicyMap(dp.DTypePolicyMap())
    with pytest.raises(TypeError):
        dp.DTypePolicyMap(policy_map=[1])
    assert "default_policy=float32, mapping=[('a', 'float64')]>" in repr(full)


def test_layer_dtype_policy_can_be_set_before_build():
    # TF 2.21: layer.dtype_policy = "float64" gives compute_dtype "float64" and that policy
    layer = tf.keras.layers.Dense(2)
    layer.dtype_policy = "float64"
    assert layer.compute_dtype == "float64" and repr(layer.dtype_policy) == \
        '<DTypePolicy "float64">'
    assert np.asarray(layer(np.ones((1, 3)))).dtype == np.float64
    assert layer.kernel.dtype == np.float64
    layer.dtype_policy = dp.DTypePolicy("float64")  # the same dtype: fine once built
    with pytest.raises(ValueError, match="built"):
        layer.dtype_policy = "float32"
    other = tf.keras.layers.Dense(2)
    other.dtype_policy = {"class_name": "DTypePolicy", "config": {"name": "float64"}}
    assert other.variable_dtype == "float64"
    with pytest.raises(NotImplementedError):
        other.dtype_policy = "int8_from_float32"
