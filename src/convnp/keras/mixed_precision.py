"""``tf.keras.mixed_precision``: dtype policies. convnp computes in float32 (float64 where a
layer is given ``dtype="float64"``) on the CPU, where half-precision arithmetic is no faster in
NumPy; so the float32 policy is the only one, and asking for a mixed one says so."""

from __future__ import annotations

from convnp.optimizers import LossScaleOptimizer  # Keras's second name for it

_POLICIES = ("float32", "mixed_float16", "mixed_bfloat16", "float16", "bfloat16", "float64")


class Policy:
    """A dtype policy: ``Policy("float32")`` (``compute_dtype`` and ``variable_dtype``
    float32), or ``Policy("float64")`` for one layer (``Dense(3, dtype=Policy("float64"))``,
    ``layer.dtype_policy`` of such a layer); the global policy stays float32."""

    def __init__(self, name: str):
        if name != "float64":  # a layer's own dtype may be float64 (not the global policy)
            _check(name, "Policy")
        self.name = name
        self.compute_dtype = self.variable_dtype = name

    def __repr__(self) -> str:
        return f'<Policy "{self.name}">'


DTypePolicy = Policy  # Keras 3's name


def _check(name, who: str) -> None:
    if isinstance(name, Policy):
        name = name.name
    if name not in _POLICIES:
        raise ValueError(f"{who}: unknown dtype policy {name!r}; Keras knows {list(_POLICIES)}")
    if name != "float32":
        raise ValueError(f"{who}({name!r}) is not supported: convnp computes in float32 on the "
                         "CPU (mixed precision speeds up GPUs and TPUs, not NumPy); keep "
                         "'float32', or give a layer dtype='float64'")


def set_global_policy(policy) -> None:
    """Only ``"float32"`` (Keras's default), which changes nothing."""
    _check(policy, "set_global_policy")


def global_policy() -> Policy:
    return Policy("float32")


# Keras 3's names of the same two functions
dtype_policy = global_policy
set_dtype_policy = set_global_policy

__all__ = ["DTypePolicy", "LossScaleOptimizer", "Policy", "dtype_policy", "global_policy",
           "set_dtype_policy", "set_global_policy"]
