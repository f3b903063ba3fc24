"""What `compile` chose for each model output, and how per-output data is matched to outputs.

A model with several outputs takes, as Keras does:

* ``loss``: one loss for every output, a list (one per output, ``None`` for no loss) or a
  dict by output name (outputs left out get no loss);
* ``loss_weights``: a list or dict of floats (default 1); the training loss is
  ``sum(weight_i * loss_i)``;
* ``metrics``: for one output a list; for several, a list with one entry (a metric or a
  list of metrics) per output, or a dict by output name;
* ``weighted_metrics``: the same shapes; these are updated with the sample weights (and the
  class weights) given to fit/evaluate, the others without;
* targets ``y`` (and inputs ``x`` for several inputs) as a list in output (input) order or a
  dict by output (input) name.

Logged names follow Keras 3: ``loss`` (the weighted total), with several losses
``<output>_loss`` (the unweighted loss of that output), and ``<output>_<metric>`` for each
metric, then each weighted metric, in that order (evaluate's list). A weighted metric whose
name an earlier metric took logs as ``[<output>_]weighted_<metric>`` (numbered ``_1``, ``_2``
when taken again), as Keras 3's ``CompileMetrics`` names it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any


@dataclass
class OutputSpec:
    """Loss, weight and metrics of one model output."""

    name: str
    loss: Any = None  # a convnp.losses.Loss, or None: the output is not trained on
    weight: float = 1.0
    metrics: list = field(default_factory=list)
    loss_id: Any = None  # what the user passed (kept for saving)
    metric_ids: list = field(default_factory=list)
    weighted: list = field(default_factory=list)  # metrics updated with the sample weights
    weighted_ids: list = field(default_factory=list)


def spread(value, names: list[str], what: str, *, nested_lists: bool = False) -> list:
    """One entry per output from a dict by output name, a list with one entry per output, or
    (``value`` not a list/dict) the same value for every output.

    Raises:
        ValueError: a dict key that is no output name, or a list of the wrong length.
    """
    n = len(names)
    if isinstance(value, dict) and "class_name" not in value:
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"compile(): `{what}` names {unknown}, which are not outputs of "
                             f"the model; the output names are {names}")
        return [value.get(name) for name in names]
    if isinstance(value, (list, tuple)) and (not nested_lists or n > 1):
        if len(value) != n:
            raise ValueError(f"compile(): `{what}` is a list of {len(value)} entries but the "
                             f"model has {n} output(s) {names}; give one entry per output or "
                             "a dict by output name")
        return list(value)
    return [value] * n


def _per_output(metrics, names: list[str], what: str) -> list:
    """One list of metric identifiers per output from ``compile``'s ``metrics`` (or
    ``weighted_metrics``)."""
    if metrics is None:
        metrics = []
    if len(names) > 1:
        if not isinstance(metrics, (list, tuple, dict)):
            raise TypeError(f"compile(): `{what}` must be a list or a dict, got "
                            f"{type(metrics).__name__}")
        if isinstance(metrics, (list, tuple)) and not metrics:
            return [[] for _ in names]
        return spread(metrics, names, what)
    return [metrics]


def _as_list(ids) -> list:
    return [] if ids is None else (list(ids) if isinstance(ids, (list, tuple)) else [ids])


def resolve(loss, loss_weights, metrics, names: list[str], named: bool = True,
            weighted_metrics=None) -> list[OutputSpec]:
    """Per-output specs for ``compile(loss, loss_weights, metrics)``. ``named`` False: the
    outputs have no names of their own (a subclassed model's), so with several each logs
    under its loss's name (``mse_loss``) and its metrics under theirs, as Keras 3 does."""
    from convnp import losses

    several = len(names) > 1
    single_config = isinstance(loss, dict) and "class_name" in loss  # one serialized loss
    if (isinstance(loss, (list, tuple, dict)) and not single_config) or several:
        loss_ids = spread(loss, names, "loss")
    else:
        loss_ids = [loss]
    if loss_weights is None:
        weights = [1.0] * len(names)
    else:
        if not isinstance(loss_weights, (list, tuple, dict, int, float)):
            raise TypeError("compile(): `loss_weights` must be a float, a list or a dict by "
                            f"output name, got {type(loss_weights).__name__}")
        weights = [1.0 if w is None else float(w)
                   for w in spread(loss_weights, names, "loss_weights")]
    per_output = _per_output(metrics, names, "metrics")
    weighted_per_output = _per_output(weighted_metrics, names, "weighted_metrics")
    specs = []
    seen: set[int] = set()
    compiled_losses = [losses.get(i) if i is not None else None for i in loss_ids]
    if not named and several:
        names = [_loss_label(i, c) for i, c in zip(loss_ids, compiled_losses)]
    taken: dict[str, int] = {}  # metric names so far (unnamed outputs: numbered apart)
    for name, compiled, loss_id, weight, ids in zip(_distinct(names), compiled_losses,
                                                    loss_ids, weights, per_output):
        ids = _as_list(ids)
        objects = [_compiled_metric(m, compiled) for m in ids]
        if several:
            labels = [f"{name}_{m.name}" if named else m.name for m in objects]
            labels = [_numbered(label, taken) for label in labels]
            objects = [_renamed(m, label, id(m) in seen) for m, label in zip(objects, labels)]
            seen.update(id(m) for m in objects)
        if compiled is not None:  # reduction="none": Keras logs the mean, steps on the sum
            compiled = losses.for_training(compiled)
        specs.append(OutputSpec(name, compiled, weight, objects, loss_id, ids))
    if not several:
        # Keras 3 numbers a name met twice (metrics=["mse", "mse"] logs mse and mse_1, two
        # Precision() precision and precision_1); as for the weighted metrics below, the
        # user's object keeps its name and a copy takes the number
        numbered = []
        for m in specs[0].metrics:
            label = _numbered(m.name, taken)
            if label != m.name or id(m) in seen:
                m = _renamed(m, label, True)
            seen.add(id(m))
            numbered.append(m)
        specs[0].metrics = numbered
    for spec, compiled, ids in zip(specs, compiled_losses, weighted_per_output):
        spec.weighted_ids = _as_list(ids)
        prefix = f"{spec.name}_" if several and named else ""
        for m in (_compiled_metric(i, compiled) for i in spec.weighted_ids):
            label = prefix + m.name
            if label in taken:  # Keras 3: the same metric unweighted came first
                label = _numbered(f"{prefix}weighted_{m.name}", taken)
            else:
                taken[label] = 1
            if label != m.name or id(m) in seen:  # a copy: the user's object keeps its name
                m = _renamed(m, label, True)
            seen.add(id(m))
            spec.weighted.append(m)
    logged = log_names(specs)
    if len(set(logged)) != len(logged):
        raise ValueError(f"metric names must be distinct and not 'loss', got {logged[1:]}")
    return specs


def _compiled_metric(identifier, compiled_loss):
    """The metric ``compile`` makes of one entry of ``metrics``: a metric given by a string
    logs under that string as written, as in Keras 3 (``"AUC"`` logs ``AUC`` and ``val_AUC``,
    ``"MSE"`` logs ``MSE``), though the metric made standalone by that name is called
    ``auc``, ``mean_squared_error``. A fresh object, so renaming it touches nothing of the
    user's."""
    from convnp import metrics as metrics_module

    metric = metrics_module.get(identifier, loss=compiled_loss)
    if isinstance(identifier, str):
        metric.name = identifier
    return metric


def _loss_label(loss_id, compiled) -> str:
    """What Keras 3 calls an unnamed output in its logs: the loss as given (``"mse"``), else
    its name."""
    if isinstance(loss_id, str):
        return loss_id
    if compiled is None:
        return "output"
    return str(getattr(compiled, "name", None) or getattr(compiled, "__name__", "output"))


def _numbered(label: str, taken: dict[str, int]) -> str:
    """``label``, or ``label_1``, ``label_2``... when it was taken before."""
    k = taken.get(label, 0)
    taken[label] = k + 1
    return label if k == 0 else f"{label}_{k}"


def _distinct(names: list[str]) -> list[str]:
    """Output names for the logs, each once: outputs of one call with several (a layer
    returning a tuple) share their layer's name, so its second output logs as ``name_1``,
    and so on. (Keras 3 logs one ``name_loss`` for them all and numbers the metrics.)"""
    counts: dict[str, int] = {}
    distinct = []
    for name in names:
        k = counts.get(name, 0)
        counts[name] = k + 1
        distinct.append(name if k == 0 else f"{name}_{k}")
    return distinct


def _renamed(metric, name: str, again: bool):
    """``metric`` under its per-output name; a copy when the same object already serves
    another output (each output needs its own running totals)."""
    if again:
        metric = _separate(metric)
    metric.name = name
    return metric


def _separate(metric):
    """A metric of its own like ``metric``: a deep copy (its settings and current state),
    which also copies a user's metric whose constructor takes arguments its config does not
    give. The copy drops the views of the state `Metric.variables` made (they read the
    original) and makes its own when asked."""
    twin = copy.deepcopy(metric)
    twin.__dict__.pop("_state_views", None)
    return twin


def loss_names(specs: list[OutputSpec]) -> list[str]:
    """``<output>_loss`` for each output with a loss, when there are several such outputs."""
    with_loss = [s for s in specs if s.loss is not None]
    return [f"{s.name}_loss" for s in with_loss] if len(with_loss) > 1 else []


def log_names(specs: list[OutputSpec]) -> list[str]:
    """The keys of fit's logs and the order of evaluate's list."""
    return ["loss"] + loss_names(specs) + [m.name for s in specs for m in s.metrics] + [
        m.name for s in specs for m in s.weighted]


def match(data, names: list[str], what: str, method: str, required=None) -> list:
    """Per-input (or per-output) data from a list in order or a dict by name.

    ``required[i]`` False lets entry ``i`` be missing from a dict (an output with no loss).
    """
    if isinstance(data, dict):
        unknown = sorted(set(data) - set(names))
        if unknown:
            raise ValueError(f"{method}(): {what} has keys {unknown}; the model's {what} names "
                             f"are {names}")
        missing = [n for i, n in enumerate(names)
                   if n not in data and (required is None or required[i])]
        if missing:
            raise ValueError(f"{method}(): {what} is missing {missing} (names: {names})")
        return [data.get(n) for n in names]
    if isinstance(data, (list, tuple)) and len(data) == len(names):
        return list(data)
    raise ValueError(f"{method}(): the model has {len(names)} {what} {names}; pass a list of "
                     f"{len(names)} arrays or a dict by name, got {type(data).__name__}"
                     + (f" of length {len(data)}" if isinstance(data, (list, tuple)) else ""))


def nesting_of(outputs) -> tuple[list | None, Any]:
    """``(template, flat list)`` for outputs given as lists (or tuples) inside a list, such as
    ``[layer.output for layer in ...]`` over layers that return several tensors; the template
    is that nesting with each tensor's flat index in its place. ``(None, outputs)`` for
    anything else."""
    if not isinstance(outputs, (list, tuple)) or \
            not any(isinstance(item, (list, tuple)) for item in outputs):
        return None, outputs
    flat: list = []

    def walk(item):
        if isinstance(item, (list, tuple)):
            return [walk(part) for part in item]
        flat.append(item)
        return len(flat) - 1

    return walk(outputs), flat


def pack(template: list, values: list) -> list:
    """``values`` (flat) in the nesting of ``template`` (`nesting_of`)."""
    return [pack(t, values) if isinstance(t, list) else values[t] for t in template]


def flatten_as(template: list | None, value, what: str):
    """``value`` given in the nesting of the outputs (``template``, `nesting_of`: losses
    ``[["mse", "mae"], "mse"]`` or targets ``[[y_a, y_b], y_c]`` for ``outputs=[[a, b], c]``)
    as one flat list in output order; anything that does not nest like that (a flat list, a
    dict, one loss for all) as it is."""
    if template is None or not isinstance(value, (list, tuple)) or len(value) != len(template) \
            or not any(isinstance(t, list) and isinstance(v, (list, tuple))
                       for t, v in zip(template, value)):
        return value
    flat: list = []

    def walk(t, v) -> None:
        if not isinstance(t, list):
            flat.append(v)
            return
        if not isinstance(v, (list, tuple)) or len(v) != len(t):
            raise ValueError(f"{what}: expected the nesting of the model's outputs "
                             f"{template}, got {type(v).__name__} where a list of {len(t)} "
                             "goes")
        for ti, vi in zip(t, v):
            walk(ti, vi)

    walk(template, value)
    return flat
