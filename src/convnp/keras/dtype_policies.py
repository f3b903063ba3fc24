"""``tf.keras.dtype_policies``: Keras 3's dtype-policy classes and ``get`` / ``serialize`` /
``deserialize``.

``DTypePolicy`` and ``FloatDTypePolicy`` are the one policy class of
`convnp.keras.mixed_precision` (float32, float64 for a layer, integer names as Keras takes
them; the mixed and half-precision ones are refused there). ``DTypePolicyMap`` maps layer
paths (exact, or a regular expression matching the whole path) to policies, with a default
for the rest, as Keras 3.15's.

The quantized policies (``QuantizedDTypePolicy``, ``QuantizedFloat8DTypePolicy``,
``Int4DTypePolicy``, ``GPTQDTypePolicy``, ``AWQDTypePolicy``) exist so that configs naming
them read, print, compare and write back as in Keras; convnp does not quantize, so a layer
given one refuses with ``NotImplementedError`` (`convnp.layers.base`).
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping

import numpy as np

from convnp.keras.mixed_precision import DTypePolicy, FloatDTypePolicy, global_policy

__all__ = ["AWQDTypePolicy", "DTypePolicy", "DTypePolicyMap", "FloatDTypePolicy",
           "GPTQDTypePolicy", "Int4DTypePolicy", "QuantizedDTypePolicy",
           "QuantizedFloat8DTypePolicy", "deserialize", "get", "serialize"]

QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")


class QuantizedDTypePolicy(DTypePolicy):
    """A quantized policy's description: ``mode`` (one of ``QUANTIZATION_MODES``) applied to
    a model first trained under ``source_name`` (the global policy's name when None). Its
    ``name`` is ``"<mode>_from_<source_name>"``. convnp does not run quantized layers."""

    def __init__(self, mode, source_name=None):
        if source_name is None:
            source_name = global_policy().name
        super().__init__(source_name)  # checks the source dtype, sets compute/variable dtype
        self._check_mode(mode)
        self._name = f"{mode}_from_{source_name}"
        self._source_name = source_name
        self._quantization_mode = mode

    def _check_mode(self, mode) -> None:
        if mode not in QUANTIZATION_MODES:
            raise ValueError(f"{type(self).__name__}: mode must be one of "
                             f"{list(QUANTIZATION_MODES)}, got {mode!r}")

    @property
    def quantization_mode(self):
        return self._quantization_mode

    def get_config(self) -> dict:
        return {"mode": self._quantization_mode, "source_name": self._source_name}

    def __repr__(self) -> str:
        return f'<{type(self).__name__} "{self.name}">'


class QuantizedFloat8DTypePolicy(QuantizedDTypePolicy):
    """The float8 policy, with the length of its scaling history."""

    default_amax_history_length = 1024

    def __init__(self, mode, source_name=None, amax_history_length=1024):
        super().__init__(mode, source_name)
        if not isinstance(amax_history_length, int) or isinstance(amax_history_length, bool):
            raise TypeError(f"QuantizedFloat8DTypePolicy: amax_history_length must be an "
                            f"integer, got {amax_history_length!r}")
        self.amax_history_length = amax_history_length

    def get_config(self) -> dict:
        return {**super().get_config(), "amax_history_length": self.amax_history_length}


def _mode_numbers(mode, prefix: str, count: int, layout: str, who: str) -> list[int]:
    """The integers after ``prefix`` in a mode such as ``"gptq/4/128"``."""
    parts = mode.split("/") if isinstance(mode, str) else []
    if len(parts) != count + 1 or parts[0] != prefix or not all(p.isdigit() for p in parts[1:]):
        raise ValueError(f"{who}: mode must look like {layout!r}, got {mode!r}")
    return [int(p) for p in parts[1:]]


class _ModeWithNumbers(QuantizedDTypePolicy):
    """A quantized policy whose mode carries numbers (``"int4/128"``, ``"gptq/4/128"``):
    ``quantization_mode`` and ``mode`` are the bare mode, the config keeps the whole one."""

    _prefix = ""
    _fields: tuple[str, ...] = ()
    _layout = ""

    def __init__(self, mode, source_name=None):
        numbers = _mode_numbers(mode, self._prefix, len(self._fields), self._layout,
                                type(self).__name__)
        super().__init__(self._prefix, source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self._full_mode = mode
        for field, number in zip(self._fields, numbers):
            setattr(self, field, number)

    @property
    def mode(self) -> str:
        return self._prefix

    def get_config(self) -> dict:
        return {"mode": self._full_mode, "source_name": self._source_name}


class Int4DTypePolicy(_ModeWithNumbers):
    """int4 with sub-channel blocks: mode ``"int4/<block_size>"``."""

    _prefix, _fields, _layout = "int4", ("block_size",), "int4/<block_size>"


class GPTQDTypePolicy(_ModeWithNumbers):
    """GPTQ: mode ``"gptq/<weight_bits>/<group_size>"``."""

    _prefix, _fields = "gptq", ("weight_bits", "group_size")
    _layout = "gptq/<weight_bits>/<group_size>"


class AWQDTypePolicy(_ModeWithNumbers):
    """AWQ: mode ``"awq/<weight_bits>/<group_size>"``."""

    _prefix, _fields = "awq", ("weight_bits", "group_size")
    _layout = "awq/<weight_bits>/<group_size>"


def _quantized_from_name(name: str) -> QuantizedDTypePolicy:
    """``"int8_from_float32"``, ``"int4/128_from_float32"``, ... as its policy object."""
    parts = name.split("_from_")
    if len(parts) != 2:
        raise ValueError(f"dtype policy {name!r}: a quantized policy's name is "
                         "'<mode>_from_<source dtype>', such as 'int8_from_float32'")
    mode, source = parts
    if mode.startswith("float8"):
        return QuantizedFloat8DTypePolicy(mode, source)
    for cls in (Int4DTypePolicy, GPTQDTypePolicy, AWQDTypePolicy):
        if mode.startswith(cls._prefix + "/"):
            return cls(mode, source)
    return QuantizedDTypePolicy(mode, source)


class DTypePolicyMap(DTypePolicy, MutableMapping):
    """Policies per layer path: ``policy_map`` maps a path (``"dense/kernel"``) or a regular
    expression matching whole paths to a policy; other paths get ``default_policy`` (the
    global policy when None). ``name`` is ``"map_<default policy's name>"``; the dtypes and
    quantization mode are the default policy's."""

    def __init__(self, default_policy=None, policy_map=None):
        if isinstance(default_policy, DTypePolicyMap):
            raise ValueError(  # noqa: TRY004 (Keras raises ValueError here)
                "DTypePolicyMap: default_policy cannot itself be a DTypePolicyMap")
        if policy_map is not None and not isinstance(policy_map, dict):
            raise TypeError(f"DTypePolicyMap: policy_map must be a dict, got "
                            f"{type(policy_map).__name__}")
        self._default_policy_arg = default_policy
        self._default_policy = get(default_policy)
        self._policy_map = {}
        for key, policy in (policy_map or {}).items():
            self[key] = policy

    @property
    def default_policy(self):
        return self._default_policy

    name = property(lambda self: f"map_{self._default_policy.name}")
    compute_dtype = property(lambda self: self._default_policy.compute_dtype)
    variable_dtype = property(lambda self: self._default_policy.variable_dtype)
    quantization_mode = property(lambda self: self._default_policy.quantization_mode)

    def __getitem__(self, key):
        if key in self._policy_map:
            return self._policy_map[key]
        matches = [pattern for pattern in self._policy_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(f"DTypePolicyMap: the path {key!r} matches several keys "
                             f"{matches}; each path may match one key at most")
        return self._policy_map[matches[0]] if matches else self._default_policy

    def __setitem__(self, key, policy):
        if key in self._policy_map:
            raise ValueError(f"DTypePolicyMap: {key!r} is already mapped to "
                             f"{self._policy_map[key]!r}; keys cannot be set twice")
        try:
            policy = get(policy)
        except (TypeError, ValueError) as error:
            raise ValueError(f"DTypePolicyMap: cannot use {policy!r} as the policy of "
                             f"{key!r}: {error}") from None
        self._policy_map[key] = policy

    def __delitem__(self, key):
        return self._policy_map.pop(key)

    def __contains__(self, key) -> bool:
        return key in self._policy_map

    def __len__(self) -> int:
        return len(self._policy_map)

    def __iter__(self):
        return iter(self._policy_map)

    def __eq__(self, other) -> bool:
        return (isinstance(other, DTypePolicyMap)
                and other._default_policy == self._default_policy
                and other._policy_map == self._policy_map)

    __hash__ = None  # unhashable, as Keras' policies (equality is by value)

    def get_config(self) -> dict:
        # With no default given, Keras writes the mapped policies without their source dtype
        # (name None), so a reloaded map follows the global policy of the program loading it.
        # (Keras does this by changing the policies themselves; here only the config.)
        policies = {}
        for key, policy in self._policy_map.items():
            entry = serialize(policy)
            if self._default_policy_arg is None:
                entry["config"] = dict(entry["config"])
                entry["config"]["source_name" if "source_name" in entry["config"]
                                else "name"] = None
            policies[key] = entry
        return {"default_policy": self._default_policy_arg, "policy_map": policies}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        policy_map = {key: deserialize(entry, custom_objects)
                      for key, entry in (config.get("policy_map") or {}).items()}
        return cls(default_policy=config.get("default_policy"), policy_map=policy_map)

    def __repr__(self) -> str:
        mapping = [(key, policy.name) for key, policy in self._policy_map.items()]
        return (f"<DTypePolicyMap at {hex(id(self))} default_policy="
                f"{self._default_policy.name}, mapping={mapping}>")


_CLASSES = {cls.__name__: cls for cls in (
    DTypePolicy, FloatDTypePolicy, QuantizedDTypePolicy, QuantizedFloat8DTypePolicy,
    Int4DTypePolicy, GPTQDTypePolicy, AWQDTypePolicy, DTypePolicyMap)}


def get(identifier):
    """A policy from ``identifier``: None (the global policy), a policy (itself), a name
    (``"float32"``, ``"int8_from_float32"``), a NumPy dtype, or a serialized policy dict."""
    if identifier is None:
        return global_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier.startswith(QUANTIZATION_MODES):
            return _quantized_from_name(identifier)
        return DTypePolicy(identifier)
    try:
        name = np.dtype(identifier).name
    except TypeError:
        name = None
    if name is None or isinstance(identifier, (bool, int, float)):
        raise ValueError(f"dtype_policies.get: expected a policy name such as 'float32', a "
                         f"DTypePolicy or its config dict, got {identifier!r}")
    return DTypePolicy(name)


def serialize(dtype_policy) -> dict:
    """``dtype_policy`` as the dict Keras writes: ``{"module", "class_name", "config",
    "registered_name"}``."""
    if not isinstance(dtype_policy, DTypePolicy):
        raise TypeError(f"dtype_policies.serialize: expected a DTypePolicy, got "
                        f"{type(dtype_policy).__name__}")
    name = type(dtype_policy).__name__
    module = "keras" if name in ("DTypePolicy", "FloatDTypePolicy") else "keras.dtype_policies"
    return {"module": module, "class_name": name, "config": dtype_policy.get_config(),
            "registered_name": None}


def deserialize(config, custom_objects=None):
    """The policy a `serialize` dict describes (``{"class_name", "config"}`` is enough). A
    string comes back unchanged, as in Keras."""
    if isinstance(config, str):
        return config
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError(f"dtype_policies.deserialize: expected a dict with 'class_name' and "
                        f"'config', got {config!r}")
    cls = (custom_objects or {}).get(config["class_name"]) or _CLASSES.get(config["class_name"])
    if cls is None:
        raise ValueError(f"dtype_policies.deserialize: unknown policy class "
                         f"{config['class_name']!r}; known: {sorted(_CLASSES)}")
    arguments = config.get("config") or {}
    if cls is DTypePolicyMap:
        return cls.from_config(arguments, custom_objects)
    return cls.from_config(arguments)
