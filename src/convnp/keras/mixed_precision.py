"""``tf.keras.mixed_precision``: dtype policies. convnp computes in float32 (float64 where a
layer is given ``dtype="float64"``) on the CPU, where half-precision arithmetic is no faster in
NumPy; so the float32 policy is the only one, and asking for a mixed one says so."""

from __future__ import annotations

from convnp.optimizers import LossScaleOptimizer  # Keras's second name for it

_POLICIES = ("float32", "mixed_float16", "mixed_bfloat16", "float16", "bfloat16", "float64")


class DTypePolicy:
    """A dtype policy: ``DTypePolicy("float32")`` (``compute_dtype`` and ``variable_dtype``
    float32; the global policy, also what ``DTypePolicy()`` gives), ``DTypePolicy("float64")``
    for one layer (``Dense(3, dtype=DTypePolicy("float64"))``, ``layer.dtype_policy`` of such a
    layer), or an integer/bool dtype's name as Keras takes it. The mixed and half-precision
    policies are refused (``ValueError``): the global policy stays float32.

    Keras 3's ``keras.DTypePolicy``, ``keras.dtype_policies.DTypePolicy`` and the legacy
    ``keras.mixed_precision.Policy`` are this one class, as in Keras."""

    def __init__(self, name=None):
        if name is None:  # Keras: the global policy
            name = "float32"
        if not isinstance(name, str):
            raise TypeError(f"DTypePolicy: the name must be a string such as 'float32', got "
                            f"{name!r} ({type(name).__name__})")
        if name != "float64" and not _whole_number_dtype(name):
            _check(name, type(self).__name__)
        self._name = name
        self._compute_dtype = self._variable_dtype = name

    # read-only, as in Keras
    name = property(lambda self: self._name, doc="The policy's name.")
    compute_dtype = property(lambda self: self._compute_dtype,
                             doc="The dtype layers compute in.")
    variable_dtype = property(lambda self: self._variable_dtype,
                              doc="The dtype of the layers' weights.")

    @property
    def quantization_mode(self):
        """None: a float policy is not quantized."""
        return None

    def get_config(self) -> dict:
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __eq__(self, other) -> bool:
        # Keras: a plain policy equals a plain (or Float) policy of the same name; any other
        # policy class equals only its own class with the same config; a string is not equal
        if not isinstance(other, DTypePolicy):
            return False
        plain = (DTypePolicy, FloatDTypePolicy)
        if type(self) in plain or type(other) in plain:
            return type(self) in plain and type(other) in plain and self.name == other.name
        return type(self) is type(other) and self.get_config() == other.get_config()

    __hash__ = None  # unhashable, as Keras' policies (equality is by value)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self.name}">'


Policy = DTypePolicy  # the legacy name (one class in Keras too)


class FloatDTypePolicy(DTypePolicy):
    """Keras 3's second name of the float policy (a subclass there too, printed as
    ``<DTypePolicy "...">``)."""


def _whole_number_dtype(name: str) -> bool:
    """True for the integer and bool dtype names Keras policies take (``"int32"``, ...)."""
    return name in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                    "uint64")


def _check(name, who: str) -> None:
    if isinstance(name, Policy):
        name = name.name
    if not isinstance(name, str):  # Keras' set_dtype_policy raises ValueError here
        raise ValueError(  # noqa: TRY004
            f"{who}: expected the name of a policy (such as 'float32') or a "
            f"DTypePolicy, got {name!r} ({type(name).__name__})")
    if name not in _POLICIES:
        raise ValueError(f"{who}: unknown dtype policy {name!r}; Keras knows {list(_POLICIES)}")
    if name != "float32":
        raise ValueError(f"{who}({name!r}) is not supported: convnp computes in float32 on the "
                         "CPU (mixed precision speeds up GPUs and TPUs, not NumPy); keep "
                         "'float32', or give a layer dtype='float64'")


_global_policy: DTypePolicy | None = None  # the object set last (Keras hands that one back)


def set_global_policy(policy) -> None:
    """Only ``"float32"`` (Keras's default), which changes nothing."""
    global _global_policy
    _check(policy, "set_global_policy")
    _global_policy = policy if isinstance(policy, DTypePolicy) else DTypePolicy(policy)


def global_policy() -> DTypePolicy:
    """The global policy, float32; the same object each time, as in Keras."""
    global _global_policy
    if _global_policy is None:
        _global_policy = DTypePolicy("float32")
    return _global_policy


# Keras 3's names of the same two functions
dtype_policy = global_policy
set_dtype_policy = set_global_policy

__all__ = ["DTypePolicy", "FloatDTypePolicy", "LossScaleOptimizer", "Policy", "dtype_policy",
           "global_policy", "set_dtype_policy", "set_global_policy"]
