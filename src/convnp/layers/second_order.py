"""Second-order gradients through layer and model calls.

A tape records a layer or model call as one operation whose VJP is the layer's ``backward``.
When `GradientTape.gradient` runs while other tapes record (a gradient penalty: the norm of
d critic / d images, differentiated with respect to the critic's weights), that VJP is itself
an operation of those outer tapes: its inputs are the output gradients, the call's inputs
and the weights; its outputs the input gradients and the weight gradients. This module
computes the VJP of that VJP.

For one call ``y = f(x, W)`` with backward ``(dx, dW) = B(dy; x, W)`` and cotangents
``t_dx``, ``t_dW`` of ``dx`` and ``dW``:

* the cotangent of ``dy`` is the Jacobian-vector product ``J_x t_dx + J_W t_dW`` (``B`` is
  linear in ``dy``, and f's linearisation is its adjoint);
* the cotangents of ``x`` and ``W`` are f's second derivatives contracted with ``dy`` and
  the tangents: zero in ``x`` for layers that are piecewise linear in it (ReLU, dropout,
  padding), the mixed x-W terms for bilinear ones (convolutions, Dense), and the curvature
  of a smooth activation.

Each layer gives these three through ``Layer.second_order(dy, t_dx, t_weights)``
(`by_kind` covers the layers that only need to say how their Jacobian acts). A model runs
them forward over its calls, in the order of its forward pass (the tangents travel as
activations do), then backward over its calls for the cotangents that second derivatives
leave on intermediate values. A layer without a rule raises `NotImplementedError` naming it,
only when a second-order gradient actually has to pass through it.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

from convnp.tensor import tape as _tape

_local = threading.local()


# ----------------------------------------------------------------------------- bookkeeping


@contextlib.contextmanager
def _thread_setting(name: str, value):
    """This thread's ``name`` setting is ``value`` while the block runs."""
    saved = getattr(_local, name, None)
    setattr(_local, name, value)
    try:
        yield
    finally:
        setattr(_local, name, saved)


def collecting(store: dict):
    """While the block runs, every model graph's backward keeps the output gradient of each
    of its calls in ``store`` (by graph), for a second-order pass over the same calls."""
    return _thread_setting("collect", store)


def reading(store: dict):
    """The gradients `collecting` kept, for the nested models' rules inside the block."""
    return _thread_setting("read", store)


def keep_output_gradient(graph, schedule: list, position: int, dy) -> None:
    """Called by `Graph.backward` for each call it visits (a no-op unless `collecting`)."""
    store = getattr(_local, "collect", None)
    if store is None:
        return
    kept = store.setdefault(id(graph), {"schedule": schedule, "dys": {}})
    if position in kept["dys"]:
        kept["twice"] = True  # a nested model called twice: its calls' states collide
    kept["dys"][position] = None if dy is None else np.array(dy)


refuse = _tape.no_second_order_rule


# ----------------------------------------------------------------------------- a recorded call


def call_second(layer, vjp, snapshot, xs: list, variables: list, n_outputs: int,
                losses: list, multi_in: bool):
    """The differentiable VJP of one recorded layer or model call (`record`'s ``second``).

    ``vjp`` is the call's first-order VJP (output gradients -> input gradients + weight
    gradients), ``snapshot`` the layer's state right after its forward."""

    def second(grads: list) -> list:
        plain = [_tape._plain(g) for g in grads]
        kept: dict = {}
        with collecting(kept), _tape.paused():
            results = vjp(plain)
        tensors = [None if r is None else _tape.new_tensor(r) for r in results]
        present = [i for i, t in enumerate(tensors) if t is not None]
        n_x = len(xs)

        def outer_vjp(cotangents: list) -> list:
            full: list = [None] * len(tensors)
            for i, c in zip(present, cotangents):
                full[i] = None if c is None else np.asarray(_tape.value_of(c))
            t_dxs, t_vgs = full[:n_x], full[n_x:]
            t_weights = {id(v): c for v, c in zip(variables, t_vgs) if c is not None}
            if losses and any(g is not None for g in plain[n_outputs:]):
                raise refuse(f"the losses that {_describe(layer)} adds (add_loss)")
            with snapshot, reading(kept), _tape.paused():
                t_dys, x_bars, w_bars = _call_rule(layer, plain[:n_outputs], t_dxs,
                                                   t_weights, multi_in)
            return (list(t_dys) + [None] * len(losses) + list(x_bars)
                    + [w_bars.get(id(v)) for v in variables])

        _tape.record([tensors[i] for i in present], list(grads) + list(xs) + list(variables),
                     outer_vjp)
        return tensors

    return second


def _describe(layer) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


def _call_rule(layer, dys: list, t_dxs: list, t_weights: dict, multi_in: bool):
    """(cotangent per output gradient, cotangent per input, cotangent per weight id)."""
    if layer._graph is not None:
        return graph_rule(layer._graph, t_dxs, t_weights, layer)
    if len(dys) != 1:
        raise refuse(f"{_describe(layer)} (a layer with several outputs)")
    t_dy, x_bar, w_bars = layer.second_order(dys[0], t_dxs if multi_in else t_dxs[0],
                                             t_weights)
    return [t_dy], (list(x_bar) if multi_in else [x_bar]), w_bars


def model_rule(model, dy, t_dx, t_weights: dict):
    """`Layer.second_order` of a model used as a layer in another model."""
    multi_in = len(model._graph.input_slots) > 1
    multi_out = len(model._graph.output_slots) > 1
    if multi_out:
        raise refuse(f"{_describe(model)} (a nested model with several outputs)")
    t_dys, x_bars, w_bars = graph_rule(model._graph, list(t_dx) if multi_in else [t_dx],
                                       t_weights, model)
    return t_dys[0], (x_bars if multi_in else x_bars[0]), w_bars


# ----------------------------------------------------------------------------- a model's graph


def graph_rule(graph, t_inputs: list, t_weights: dict, model):
    """The second-order rule of a whole model: forward over its calls with the tangents,
    then backward over them with what second derivatives left on intermediate values."""
    kept = (getattr(_local, "read", None) or {}).get(id(graph))
    if kept is None:
        raise refuse(f"{_describe(model)} (its backward pass was not kept)")
    if kept.get("twice"):
        raise refuse(f"{_describe(model)} called twice inside another model")
    schedule, dys = kept["schedule"], kept["dys"]
    if schedule is not graph.nodes:
        raise refuse(f"{_describe(model)} (it ran fused layers; run it under "
                     "convnp.config.plain_path())")
    if graph._activity:
        raise refuse(f"{_describe(model)} (a layer's activity regularizer)")
    tangents: list = [None] * len(graph.tensors)
    for slot, t in zip(graph.input_slots, t_inputs):
        tangents[slot] = t
    x_bars: list = [None] * len(graph.tensors)
    w_bars: dict = {}
    read: set = set()  # values the first-order backward read (`second_order_reads_input`)
    for position, node in enumerate(schedule):
        dy = dys.get(position)
        t_in = [tangents[s] for s in node.inputs]
        layer = node.layer
        t_own = {id(v): t_weights[id(v)] for v in layer.weights_to_train()
                 if id(v) in t_weights}
        if dy is None or (all(t is None for t in t_in) and not t_own):
            continue  # no gradient went through this call, or no cotangent comes back to it
        if node.template is not None:
            raise refuse(f"{_describe(layer)} (called with a mask or extra arguments)")
        _restore(graph, position, layer)
        t_dy, x_bar, w_bar = layer.second_order(dy, t_in if node.multi else t_in[0], t_own)
        reads = getattr(layer, "second_order_reads_input", None)  # a nested model: yes
        if reads is None or reads():
            # a fused activation read the call's own output before it: its weights too
            fused = getattr(layer, "kernel", None) is not None
            read.update([node.out] if fused else node.inputs)
        tangents[node.out] = t_dy
        for s, xb in zip(node.inputs, x_bar if node.multi else [x_bar]):
            x_bars[s] = plus(x_bars[s], xb)
        _add_all(w_bars, w_bar)
    # second derivatives left cotangents on values inside the model: take them back through
    # the calls that made those values, as a plain backward pass does
    grads = list(x_bars)
    if any(g is not None for i, g in enumerate(grads) if i not in graph.input_slots):
        for position in reversed(range(len(schedule))):
            node = schedule[position]
            g = grads[node.out]
            if g is None or node.out in graph.input_slots:
                continue
            _restore(graph, position, node.layer)
            dx, own = backward_keeping(node.layer, g)
            _add_all(w_bars, own)
            for s, d in zip(node.inputs, node.gradients(dx)):
                grads[s] = plus(grads[s], d)
    _zeros_upstream(graph, read, w_bars, grads, t_inputs)
    t_outputs = [tangents[s] for s in graph.output_slots]
    return t_outputs, [grads[s] for s in graph.input_slots], w_bars


def _zeros_upstream(graph, read: set, w_bars: dict, grads: list, t_inputs: list) -> None:
    """Zeros, in place of None, for the weights and inputs upstream of the values the
    first-order backward read. TensorFlow's gradient that read a value (a LeakyReLU's
    input) depends on everything that made it, so differentiating it again gives each of
    those a gradient, zeros where no second derivative reaches it (a conv bias before a
    LeakyReLU, a LayerNormalization's beta, a conditional critic's label branch), where
    None would mean the critic's weight does not enter the penalty at all."""
    producers = {node.out: node for node in graph.nodes}
    seen: set = set()
    pending = list(read)
    while pending:
        slot = pending.pop()
        if slot in seen:
            continue
        seen.add(slot)
        node = producers.get(slot)
        if node is None:
            continue  # a model input
        for v in node.layer.weights_to_train():
            if w_bars.get(id(v)) is None:
                w_bars[id(v)] = np.zeros(v.value.shape, v.value.dtype)
        pending.extend(node.inputs)
    for slot, t in zip(graph.input_slots, t_inputs):
        if slot in seen and grads[slot] is None and t is not None:
            grads[slot] = np.zeros(np.shape(t), np.asarray(t).dtype)


def _restore(graph, position: int, layer) -> None:
    if graph.is_shared(layer):
        layer.restore_call_state(graph._states.get(position))


def plus(a, b):
    if b is None:
        return a
    return b if a is None else a + b


def _add_all(total: dict, part: dict) -> None:
    for key, value in part.items():
        if value is not None:
            total[key] = plus(total.get(key), value)


# ----------------------------------------------------------------------------- layer helpers


def backward_keeping(layer, dy):
    """``layer.backward(dy)`` leaving the layer's forward state as it was (backward takes
    it); returns the input gradient and the weight gradients by weight id."""
    state = layer.capture_call_state()
    needs = layer.needs_input_gradient
    saved = {id(v): v.grad for v in layer.weights_to_train()}
    layer.needs_input_gradient = True
    try:
        dx = layer.backward(dy)
        grads = {id(v): v.grad for v in layer.weights_to_train()}
    finally:
        layer.needs_input_gradient = needs
        layer.restore_call_state(state)
        for v in layer.weights_to_train():
            v.grad = saved.get(id(v))
    return dx, grads


def call_keeping(layer, x):
    """``layer.call(x)`` (in inference mode) leaving the layer's forward state as it was."""
    state = layer.capture_call_state()
    try:
        return layer.call(x, training=False)
    finally:
        layer.restore_call_state(state)


def by_kind(layer, dy, t_dx, t_weights: dict):
    """`Layer.second_order` for the layers that declare ``second_order_kind``:

    * ``"diagonal"``: the layer acts number by number (ReLU, dropout, an activation), so its
      Jacobian is diagonal and the tangent goes through ``backward`` itself; a smooth
      activation adds its curvature (`Layer.curvature_term`);
    * ``"linear"``: the call is linear in its input (flatten, reshape, padding, average
      pooling), so the Jacobian-vector product is the call on the tangent.
    """
    if layer._graph is not None:
        return model_rule(layer, dy, t_dx, t_weights)
    kind = layer.second_order_kind
    if kind is None or any(t is not None for t in t_weights.values()):
        raise refuse(_describe(layer))
    if t_dx is None:
        return None, None, {}
    if kind == "diagonal":
        t_dy, _ = backward_keeping(layer, t_dx)
        return t_dy, layer.curvature_term(dy, t_dx), {}
    if kind == "linear":
        return call_keeping(layer, t_dx), None, {}
    raise refuse(_describe(layer))


def activation_terms(layer, dy, u, saved, through_activation):
    """For ``dz = act'(z) * dy`` (a layer's fused activation; ``through_activation(g)`` is
    ``act'(z) * g``) and a cotangent ``u`` of ``dz``: the cotangent of ``dy`` and the one of
    ``z`` (None when the activation is piecewise linear)."""
    t_dy = through_activation(u)
    if saved is None or len(saved) == 1:  # linear, or ReLU (only its output kept)
        return t_dy, None
    z, y = saved
    return t_dy, layer.activation.second_term(dy, u, z, y)


def bilinear_rule(layer, dy, t_dx, t_weights: dict, x, saved, forward, backward,
                  through_activation):
    """The rule of a layer ``y = act(forward(x, kernel) + bias)`` whose ``forward`` is linear
    in the input and in the kernel (convolutions, Dense).

    ``forward(x, kernel)`` computes the product without bias; ``backward(dz, x, kernel,
    need_dx)`` gives its ``(dx, dkernel)`` (``dx`` may be None when not ``need_dx``); ``through_activation(g)`` is ``act'(z) * g`` (the layer's
    `_utils.activate_backward`). With ``dz = act'(z) dy``: the cotangent of ``dz`` is
    ``forward(t_dx, W) + forward(x, t_dW) + t_db``; the kernel gets ``backward(dz, t_dx,
    W)``'s kernel part and the input ``backward(dz, x, t_dW)``'s input part (the mixed
    terms); a smooth activation's curvature goes back through the layer as a gradient."""
    kernel = layer.kernel
    bias = getattr(layer, "bias", None)
    W = kernel.value
    dy = np.asarray(dy, dtype=W.dtype)
    dz = through_activation(dy)
    t_W = t_weights.get(id(kernel))
    t_b = None if bias is None else t_weights.get(id(bias))
    u = None
    w_bar = x_bar = None
    if t_dx is not None:
        t_dx = np.asarray(t_dx, dtype=W.dtype)
        u = forward(t_dx, W)
        w_bar = backward(dz, t_dx, W, False)[1]
    if t_W is not None:
        t_W = np.asarray(t_W, dtype=W.dtype)
        u = plus(u, forward(x, t_W))
        x_bar = backward(dz, x, t_W, True)[0]
    if t_b is not None:
        u = plus(u, np.broadcast_to(np.asarray(t_b, W.dtype).reshape(-1), dz.shape))
    if u is None:
        return None, None, {}
    t_dy, z_bar = activation_terms(layer, dy, u, saved, through_activation)
    b_bar = None
    if z_bar is not None:
        dx_z, dW_z = backward(z_bar, x, W, True)
        x_bar, w_bar = plus(x_bar, dx_z), plus(w_bar, dW_z)
        b_bar = z_bar.reshape(-1, z_bar.shape[-1]).sum(axis=0)
    w_bars = {id(kernel): w_bar}
    if bias is not None:
        w_bars[id(bias)] = b_bar
    return t_dy, x_bar, w_bars


def cached_op_rule(layer, dy, t_dx, t_weights: dict, x, saved, run, run_backward,
                   through_activation):
    """`bilinear_rule` for a kernel layer whose op pairs ``run(x, kernel) -> (z, cache)``
    (no bias) with ``run_backward(dz, cache, need_dx) -> (dx, dkernel, ...)``: the substituted
    products run the op again (one more forward for each backward it needs)."""

    def forward(inputs, kernel):
        return run(inputs, kernel)[0]

    def backward(dz, inputs, kernel, need_dx):
        dx, dkernel = run_backward(dz, run(inputs, kernel)[1], need_dx)[:2]
        return dx, dkernel

    return bilinear_rule(layer, dy, t_dx, t_weights, x, saved, forward, backward,
                         through_activation)


def normalization_rule(dy, t_dx, t_gamma, t_beta, x_hat, inv_std, gamma, stats_axes: tuple,
                       param_axes: tuple):
    """The rule of ``y = gamma * x_hat + beta`` with ``x_hat = (x - mean) * inv_std`` and the
    statistics taken over ``stats_axes`` of the input itself (a training batch
    normalization, a layer normalization); ``gamma`` and the cotangents ``t_gamma``,
    ``t_beta`` broadcast against the input, whose ``param_axes`` their gradients sum over.

    With ``g = gamma * dy``, backward is ``dx = inv_std (g - mean(g) - x_hat mean(g x_hat))``.
    The cotangent of ``dy``: that same projection of ``t_dx * inv_std``, times gamma (plus
    ``x_hat t_gamma + t_beta``); of gamma: its sum against ``dy``. Of the input: ``x_hat``'s
    own Jacobian applied to the derivative ``G`` of the contracted gradient in ``x_hat``,
    plus the term of ``inv_std``'s dependence on the input (``- P x_hat inv_std**2 / n``)."""
    n = int(np.prod([np.shape(dy)[a] for a in stats_axes]))

    def mean(a):
        return a.mean(axis=stats_axes, keepdims=True)

    def total(a):
        return a.sum(axis=stats_axes, keepdims=True)

    g = dy if gamma is None else dy * gamma
    t_dy = gamma_bar = None
    big_g = spread = None
    if t_dx is not None:
        v = t_dx * inv_std
        w = v - mean(v) - x_hat * mean(v * x_hat)
        t_dy = w if gamma is None else gamma * w
        gamma_bar = (dy * w).sum(axis=param_axes)
        g_x = mean(g * x_hat)
        t_x = total(t_dx * x_hat)
        spread = total(t_dx * g) - mean(g) * total(t_dx) - t_x * g_x
        big_g = inv_std * (-t_dx * g_x - t_x * g / n)
    if t_gamma is not None:
        t_dy = plus(t_dy, t_gamma * x_hat)
        big_g = plus(big_g, t_gamma * dy)
    if t_beta is not None:
        t_dy = plus(t_dy, np.broadcast_to(t_beta, np.shape(dy)))
    x_bar = None
    if big_g is not None:
        x_bar = inv_std * (big_g - mean(big_g) - x_hat * mean(big_g * x_hat))
        if spread is not None:
            x_bar = x_bar - spread * x_hat * inv_std * inv_std / n
    return t_dy, x_bar, gamma_bar
