"""`tf.custom_gradient` and `tf.recompute_grad`: functions whose gradient the user chooses.

``@tf.custom_gradient`` decorates ``f(*x) -> (y, grad_fn)``. Called under a recording tape,
the decorated function records ONE entry: its outputs ``y`` depend on ``f``'s tensor
arguments (and on the trainable Variables ``f`` reads), and its vector-Jacobian product is
``grad_fn(*upstream)``, whatever ``f`` computed inside (gradient reversal, guided ReLU,
straight-through rounding). ``f``'s own operations are kept off the user's tapes.

Variables: ``f`` runs under a private tape that only notes which trainable Variables it
reads. When it reads any, ``grad_fn`` must take a ``variables`` keyword and return
``(input_gradients, variable_gradients)``, as TensorFlow requires (TypeError otherwise).

``tf.recompute_grad(f)`` trades memory for compute in TensorFlow (the forward is run again
during the backward pass). convnp's tape keeps what the ops need either way, so it returns a
function with ``f``'s values and gradients.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from convnp.tensor import eager
from convnp.tensor import ops as _ops
from convnp.tensor.tape import GradientTape, is_variable, new_tensor, record, value_of


def _flat(values) -> list:
    out = []
    for v in values:
        if isinstance(v, (list, tuple)):
            out.extend(_flat(v))
        else:
            out.append(v)
    return out


def _takes_variables(grad_fn) -> bool:
    try:
        parameters = inspect.signature(grad_fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: assume it does
        return True
    return any(p.name == "variables" or p.kind is p.VAR_KEYWORD for p in parameters)


def _run_off_the_tapes(f, args, kwargs):
    """``f(*args, **kwargs)`` with the user's tapes paused, under a private tape that notes
    the trainable Variables ``f`` reads; returns ``(result, variables)``. With no tape
    recording there is nothing to differentiate: ``f`` just runs."""
    paused = list(eager.active_tapes)
    if not paused:
        return f(*args, **kwargs), []
    eager.active_tapes.clear()
    probe = GradientTape(persistent=True)
    try:
        with probe:
            result = f(*args, **kwargs)
    finally:
        eager.active_tapes[:] = paused
    return result, [v for v in probe.watched_variables() if v.trainable]


def _as_list(given) -> list:
    return list(given) if isinstance(given, (list, tuple)) else [given]


def custom_gradient(f=None, *, who: str = "tf.custom_gradient"):
    """Decorator: ``f(*x)`` returns ``(y, grad_fn)``; on a tape the gradient of ``y`` with
    respect to each tensor argument is what ``grad_fn(*upstream)`` returns (one upstream
    gradient per output of ``y``; one result per tensor argument, or a single one for a
    single argument). See the module docstring for Variables read inside ``f``.

    ``grad_fn`` may be written ``grad(*args, upstream=None)`` as Keras's examples do: it is
    called with the upstream gradients positionally, as TensorFlow calls it.
    """
    if f is None:
        return functools.partial(custom_gradient, who=who)
    if not callable(f):
        raise TypeError(f"{who} expects a function, got {type(f).__name__}")
    name = getattr(f, "__name__", "f")

    @functools.wraps(f)
    def call(*args, **kwargs):
        result, variables = _run_off_the_tapes(f, args, kwargs)
        if not (isinstance(result, (tuple, list)) and len(result) == 2 and callable(result[1])):
            raise TypeError(f"{who}: {name} must return (outputs, grad_fn), got "
                            f"{type(result).__name__}")
        y, grad_fn = result
        if variables and not _takes_variables(grad_fn):
            read = ", ".join(v.name for v in variables)
            raise TypeError(f"{who}: {name} reads Variables ({read}), so its grad_fn must "
                            "take a keyword argument 'variables' and return "
                            "(input_gradients, variable_gradients)")
        several = isinstance(y, (list, tuple))
        outputs = [_ops.convert_to_tensor(v) for v in (y if several else [y])]
        inputs = [a for a in _flat(args) if isinstance(a, np.ndarray) or is_variable(a)]

        def vjp(grads):
            upstream = [new_tensor(np.zeros(o.shape, o.dtype) if g is None else np.asarray(g))
                        for g, o in zip(grads, outputs)]
            if variables:
                given, var_given = grad_fn(*upstream, variables=variables)
                var_given = _as_list(var_given)
                if len(var_given) != len(variables):
                    raise ValueError(f"{who}: grad_fn returned {len(var_given)} Variable "
                                     f"gradients for the {len(variables)} Variables {name} "
                                     "reads")
            else:
                given, var_given = grad_fn(*upstream), []
            given = _as_list(given)
            if len(given) != len(inputs):
                raise ValueError(f"{who}: grad_fn returned {len(given)} gradients for "
                                 f"{len(inputs)} tensor arguments of {name}")
            return [None if g is None else np.asarray(value_of(g))
                    for g in given + var_given]

        if inputs or variables:
            record(outputs, inputs + variables, vjp)
        if several:
            return type(y)(outputs) if type(y) in (list, tuple) else outputs
        return outputs[0]

    return call


def recompute_grad(f):
    """``tf.recompute_grad``: ``f`` itself, with its values and gradients (TensorFlow's
    memory saving has nothing to save here: the tape keeps what each op needs either way)."""
    if not callable(f):
        raise TypeError(f"tf.recompute_grad expects a function, got {type(f).__name__}")

    @functools.wraps(f)
    def call(*args, **kwargs):
        return f(*args, **kwargs)

    return call
