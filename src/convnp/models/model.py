"""`Model`: a functional graph of layers, with Keras's weight, config and calling API.

compile and the training step come from `engine.py`, evaluate/predict from `inference.py`,
fit from `training.py`, the summary table from `summary.py`. `Sequential` (in
`sequential.py`) is a `Model` whose graph is a chain it builds itself.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import numpy as np

from convnp._floats import quiet
from convnp.layers import _masks, second_order, taped
from convnp.layers._slots import fill, slots_of, template_of
from convnp.layers.base import (
    DtypeNames,
    KerasTensor,
    Layer,
    LayerContract,
    NodeAccess,
    _inside,
    assign_weights,
    record_call,
    record_outputs,
    unique_name,
    with_arguments,
)
from convnp.models import compile_utils, file_hooks, subclassed
from convnp.models import data_adapter as da
from convnp.models.custom_step import CustomStepMixin
from convnp.models.functional import Graph, Input, input_tensor_of
from convnp.models.summary import print_summary
from convnp.models.training import TrainingMixin
from convnp.serialization import CustomObjectScope, get_registered_name, get_registered_object
from convnp.tensor.eager import to_eager
from convnp.tensor.tape import recording
from convnp.variables import TrackedVariables, Variable


def _flatten_ends(tensors, role: str):
    """``(keys, tensors)``: a dict of tensors (``Model(inputs={...})``) as its sorted keys and
    the tensors in that order, as Keras 3 flattens it; anything else as ``(None, tensors)``."""
    if not isinstance(tensors, dict):
        return None, tensors
    if not tensors:
        raise ValueError(f"Model needs at least one tensor in `{role}`, got an empty dict")
    bad = [key for key in tensors if not isinstance(key, str)]
    if bad:
        raise TypeError(f"Model `{role}` dict keys must be strings, got {bad}")
    keys = sorted(tensors)
    return keys, [tensors[key] for key in keys]

def _one_in_container(tensors) -> type | None:
    """``list`` or ``tuple`` for one tensor given in one (``Model([inp], [out])``), else
    None. Keras 3 gives such a model's ``input`` / ``output`` (and the result of calling it
    on a tensor) back in that container; predict and calls on data give the bare array."""
    if isinstance(tensors, (list, tuple)) and len(tensors) == 1 \
            and isinstance(tensors[0], KerasTensor):
        return type(tensors)
    return None


def _check_unique_names(layers) -> None:
    """Refuse a functional model whose layers (its own, not those inside nested models) share
    a name, as Keras does: weight files and configs find layers by name, so such a model
    could be saved but never loaded. A layer called twice is one layer."""
    counts: dict[str, int] = {}
    for layer in {id(layer): layer for layer in layers}.values():
        counts[layer.name] = counts.get(layer.name, 0) + 1
    for name, n in counts.items():
        if n > 1:
            raise ValueError(f'The name "{name}" is used {n} times in the model. All '
                             "operation names should be unique.")


def is_data(input_shape) -> bool:
    """Whether ``build``'s argument is data (an array or a tensor) instead of a shape. Keras
    reads no shape from it and builds nothing, without an error: the TF video tutorial calls
    ``model.build(frames)`` on a batch of clips."""
    return hasattr(input_shape, "shape") and hasattr(input_shape, "dtype")


def _acts_when_called_directly(layer, seen=None) -> bool:
    """Whether ``layer`` holds (or is) a layer that runs differently when its model is called
    with ``training`` left out: an augmentation layer, which augments then, as in Keras."""
    seen = set() if seen is None else seen
    if id(layer) in seen:
        return False
    seen.add(id(layer))
    if layer._mode_when_unset is True:
        return True
    inner = list(layer._graph.layers) if layer._graph is not None else []
    inner += list(layer.__dict__.get("_tracked_layers", ()))
    return any(_acts_when_called_directly(sub, seen) for sub in inner)


def _check_model_dtype(dtype) -> None:
    """``Model(dtype=...)``: Keras 3's base constructor takes it (a subclass's config
    carries it back); convnp's models compute in float32, the dtype of their layers."""
    if dtype is None:
        return
    name = dtype
    if isinstance(dtype, dict):  # a serialized DTypePolicy
        name = (dtype.get("config") or {}).get("name")
    elif not isinstance(dtype, str):
        name = getattr(dtype, "name", dtype)
    try:
        ok = np.dtype(name) == np.float32
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"Model(dtype=...): convnp models compute in float32 (give another "
                         f"dtype to their layers), got {dtype!r}")


class Model(DtypeNames, TrainingMixin, CustomStepMixin, LayerContract, TrackedVariables,
            NodeAccess):
    """A model defined by its input and output tensors, as ``tf.keras.Model``.

    >>> import convnp as tf
    >>> inputs = tf.keras.Input(shape=(8, 8, 3))
    >>> x = tf.keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    >>> outputs = tf.keras.layers.Dense(2, activation="softmax")(tf.keras.layers.Flatten()(x))
    >>> model = tf.keras.Model(inputs=inputs, outputs=outputs)
    >>> model.count_params()
    402

    Args:
        inputs: a `KerasTensor` from `Input` (or a list of them).
        outputs: the `KerasTensor` (or list) computed from ``inputs`` by layer calls.
        name: the model's name (default ``functional``, ``functional_1``, ...).
        trainable: whether fit updates the weights.

    Raises:
        ValueError: an output does not depend only on the given inputs.
    """

    _default_name = "functional"
    #: True for subclasses of Model with their own `call` (see `convnp.models.subclassed`).
    _subclassed: bool = False
    #: True for users' subclasses without any `call` (see `convnp.models.subclassed`).
    _may_be_step_only: bool = False
    #: True where the graph is made by the first data seen (Sequential).
    _builds_lazily: bool = False
    _trainable: bool = True
    _mode_when_unset = None  # called directly, each layer inside takes its own default

    def __new__(cls, *args, **kwargs):
        # Model(inputs, outputs) makes a `Functional`, as in Keras: the course's grader lists a
        # nested base model by that class name
        functional = cls is Model and (args or kwargs.get("inputs") is not None
                                       or kwargs.get("outputs") is not None)
        instance = super().__new__(Functional if functional else cls)
        if cls._subclassed and cls.get_config is Model.get_config:
            # a user's model class with no get_config of its own: Keras 3 makes its config
            # from the constructor's arguments, as for a user's layer (`Layer.__new__`)
            from convnp.layers.base import _constructor_arguments

            instance.__dict__["_auto_config"] = _constructor_arguments(cls, args, kwargs)
        return instance

    def __init__(self, inputs=None, outputs=None, name: str | None = None,
                 trainable: bool = True, dtype=None, **kwargs):
        if kwargs:
            raise TypeError(f"Model got unexpected keyword argument(s) {sorted(kwargs)}")
        _check_model_dtype(dtype)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"model name must be a str, got {type(name).__name__}")
        self.name = name or unique_name(self._default_name)
        self._graph: Graph | None = None
        # the model's own variables (a subclassed model's `add_weight`, or Variables set as
        # its attributes), before its layers' in `weights`, as in Keras 3
        self._variables: list[Variable] = []
        self._init_training_state()
        if inputs is None and outputs is None and type(self) is Model:
            raise ValueError("Model(inputs=..., outputs=...) needs both inputs and outputs")
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("Model(inputs=..., outputs=...) needs both inputs and outputs")
            self._input_keys, inputs = _flatten_ends(inputs, "inputs")
            # inputs given in a list inside a list, as TF 2.x's Grad-CAM recipe writes
            # ``Model([model.inputs], [...])``: Keras 3 flattens them (and gives `input` back
            # in that nesting); calls take the data flat or nested the same way
            self._input_nesting, inputs = compile_utils.nesting_of(inputs)
            self._output_keys, outputs = _flatten_ends(outputs, "outputs")
            self._one_input_in = _one_in_container(inputs)
            self._one_output_in = _one_in_container(outputs)
            self._outputs_in_tuple = isinstance(outputs, tuple)
            if isinstance(outputs, tuple) and hasattr(type(outputs), "_fields"):
                self._outputs_namedtuple = type(outputs)
            self._output_nesting, outputs = compile_utils.nesting_of(outputs)
            graph = Graph(inputs, outputs)
            _check_unique_names(graph.layers)
            self._set_graph(graph)
        if not trainable:
            self.trainable = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        subclassed.mark_subclass(cls)

    def _build_for_shape(self, batch_shape) -> None:
        if self._subclassed and self._graph is None:
            subclassed.run_user_build(self, batch_shape)
            if self._graph is None:  # (the user's build may have built it)
                self._set_graph(subclassed.build_graph(self, batch_shape))
            return
        super()._build_for_shape(batch_shape)

    def _set_graph(self, graph: Graph) -> None:
        self._graph = graph
        self._nested_inputs = graph.inputs
        self._nested_outputs = graph.outputs
        if self._checkpoint_pending is not None:  # restored before the weights existed
            self._apply_checkpoint_pending()

    # -- structure ---------------------------------------------------------------------------

    @property
    def built(self) -> bool:
        return self._graph is not None

    # The graph's tensors and shapes below exist once the model is built. Before, reading one
    # raises AttributeError, as in Keras 3, so that ``hasattr(model, "input_shape")`` answers
    # False instead of raising (the message still says how to build the model).

    @property
    def inputs(self) -> list[KerasTensor]:
        self._require_built_attribute("inputs")
        return list(self._graph.inputs)

    @property
    def outputs(self) -> list[KerasTensor]:
        self._require_built_attribute("outputs")
        return list(self._graph.outputs)

    @property
    def input(self):
        """The input tensor (a list for multi-input models, a dict for ``inputs={...}``)."""
        self._require_built_attribute("input")
        if self._input_nesting is not None:
            return compile_utils.pack(self._input_nesting, list(self._graph.inputs))
        if self._one_input_in is not None:
            return self._one_input_in(self._graph.inputs)
        return self._structured(self._graph.inputs, self._input_keys)

    @property
    def output(self):
        """The output tensor (a list for several outputs, a dict for ``outputs={...}``)."""
        self._require_built_attribute("output")
        if self._one_output_in is not None:
            return self._one_output_in(self._graph.outputs)
        return self._structured_outputs(self._graph.outputs)

    @property
    def input_shape(self):
        self._require_built_attribute("input_shape")
        shapes = [t.shape for t in self._graph.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        self._require_built_attribute("output_shape")
        shapes = [t.shape for t in self._graph.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def layers(self) -> list[Layer]:
        """Every layer, in execution order (functional models list their InputLayer first;
        subclassed models list the layers assigned to their attributes)."""
        if self._subclassed or self._step_only:
            return list(self.__dict__.get("_tracked_layers", []))
        return self._graph.layers if self._graph else []

    @property
    def _step_only(self) -> bool:
        """A user's model with no ``call`` and no graph: it holds other models and trains
        through its own `train_step` (fit runs it without a forward of its own)."""
        return self._may_be_step_only and self._graph is None

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """A layer by ``name`` or by position ``index`` in `layers`."""
        if name is not None and index is not None:
            raise ValueError("give get_layer either `name` or `index`, not both")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"get_layer(index={index}): model '{self.name}' has {len(layers)} layers"
                )
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(
                f"no layer named '{name}' in model '{self.name}'; layers are "
                f"{[lay.name for lay in layers]}"
            )
        raise ValueError("get_layer needs `name` or `index`")

    def _require_built_attribute(self, what: str) -> None:
        """`_require_built` for an attribute: its error as an AttributeError."""
        try:
            self._require_built(what)
        except (ValueError, NotImplementedError) as error:
            raise AttributeError(str(error)) from None

    def _require_built(self, what: str) -> None:
        if self._step_only:
            raise NotImplementedError(
                f"model '{self.name}' has no {what}: {type(self).__name__} does not implement "
                "call(). It trains through its train_step (fit, and evaluate with a "
                "test_step); call the models it holds directly, or define call().")
        if self._graph is None:
            raise ValueError(
                f"model '{self.name}' has no {what} yet: it is not built. Give the first layer "
                "an `input_shape=`, start with tf.keras.Input(...), or call build(input_shape) "
                "or fit/predict first."
            )

    def build(self, input_shape=None) -> None:
        """Functional models are built when defined: ``build`` changes nothing and checks
        nothing (Keras 3's takes any argument, a shape that differs or a batch of data too).
        A subclassed model builds its layers by calling itself on zeros of that shape; given
        data instead of a shape (`is_data`) it builds nothing, as Keras."""
        if self._subclassed and self._graph is None:
            if is_data(input_shape):
                return
            if input_shape is None:
                raise ValueError(f"build() of subclassed model '{self.name}' needs "
                                 "`input_shape` (with the batch axis, e.g. (None, 28, 28, 1))")
            self._build_for_shape(tuple(input_shape))
            return
        self._require_built("graph")

    # -- weights -----------------------------------------------------------------------------

    add_weight = Layer.add_weight  # a subclassed model's own variables, as a layer's

    @property
    def weights(self) -> list[Variable]:
        return list(self._variables) + [v for layer in self.layers for v in layer.weights]

    # Keras' rule: a frozen model has no trainable weights of its own, whatever its layers
    # say (`fit` on it trains nothing); but a model *inside* another one is looked through:
    # the enclosing model trains the inner layers that are trainable themselves (a layer set
    # back to trainable after `inner.trainable = False`). Checked against Keras 3.15.1.

    @property
    def trainable_weights(self) -> list[Variable]:
        return self.weights_to_train() if self.trainable else []

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return self._layers_non_trainable_weights() if self.trainable else self.weights

    def weights_to_train(self) -> list[Variable]:
        """What an enclosing model trains of this one: the trainable weights of the layers,
        by their own flags (not the model's)."""
        return [v for v in self._variables if v.trainable] + [
            v for layer in self.layers for v in layer.weights_to_train()]

    def _layers_non_trainable_weights(self) -> list[Variable]:
        return [v for v in self._variables if not v.trainable] + [
            v for layer in self.layers for v in (
                layer._layers_non_trainable_weights() if isinstance(layer, Model)
                else layer.non_trainable_weights)]

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        # Keras freezes (or unfreezes) every layer of the model with it. TF 2.21 skips an
        # assignment of the very object the attribute holds (its trackable objects ignore
        # ``self.x = self.x``): ``model.trainable = True`` on a trainable model leaves the
        # layers frozen one by one as they are; ``= 1`` or a change still reaches them all.
        if value is self._trainable:
            return
        self._trainable = bool(value)
        for layer in self.layers:
            layer.trainable = bool(value)

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every weight, layer by layer (Keras order: kernel, bias; BN gamma, beta,
        moving_mean, moving_variance)."""
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights) -> None:
        """Overwrite every weight from a list in `get_weights` order.

        Raises:
            ValueError: wrong number of arrays, or an array of the wrong shape (nothing is
                written in either case).
        """
        assign_weights(f"model '{self.name}'", self.weights, weights)

    def count_params(self) -> int:
        """The number of scalars in the weights (each variable once).

        Raises:
            ValueError: the model is not built yet (as in Keras 3).
        """
        if not self.built and not self._step_only:
            raise ValueError(f"count_params() of model '{self.name}': the model is not built "
                             "yet; call build(input_shape), call it on data, or start it "
                             "with tf.keras.Input(...)")
        unique = {id(v): v for v in self.weights}
        return int(sum(v.value.size for v in unique.values()))

    # -- calling -----------------------------------------------------------------------------

    def _adjust_input_ranks(self, arrays: list) -> list:
        """Inputs with one trailing axis of size 1 more, or less, than an ``Input`` declares,
        reshaped to its rank: Keras 3's functional models take ``(m, H, W)`` images for an
        ``(H, W, 1)`` input, and ``(m, k, 1)`` for a ``(k,)`` one (keras.io's CT-scan example
        predicts on a volume without its channel axis). A subclassed model's call is the
        user's code and takes what it is given."""
        if self._graph is None or self._subclassed or len(arrays) != len(self._graph.inputs):
            return arrays  # the shape check names a wrong count
        adjusted = []
        for array, tensor in zip(arrays, self._graph.inputs):
            rank = len(tensor.shape)
            if array.ndim == rank - 1 and tensor.shape[-1] == 1:
                array = array[..., np.newaxis]
            elif array.ndim == rank + 1 and array.shape[-1] == 1:
                array = array[..., 0]
            adjusted.append(array)
        return adjusted

    def _check_input_shapes(self, shapes) -> None:
        expected = [t.shape for t in self._graph.inputs]
        if len(shapes) != len(expected):
            raise ValueError(
                f"model '{self.name}' expects {len(expected)} input(s), got {len(shapes)}"
            )
        for want, got in zip(expected, shapes):
            got = tuple(got)
            other_sizes = len(got) == len(want) and any(
                w is not None and g is not None and w != g for w, g in zip(want[1:], got[1:]))
            other_rank = len(got) != len(want)
            if (other_sizes or other_rank) and self._subclassed and len(expected) == 1:
                # a subclassed model's call is the user's code, which takes whatever sizes
                # (and ranks: Barlow Twins' augmentor maps single images in a dataset, then
                # may see a batch) its layers take, as in Keras: its one-call graph is made
                # anew for them
                self._set_graph(subclassed.build_graph(self, (None,) + got[1:]))
                return
            wider = len(got) == len(want) and any(
                w is not None and g is None for w, g in zip(want[1:], got[1:]))
            if wider and self._subclassed and len(expected) == 1:
                # called on a KerasTensor of unknown sizes (keras.io's RetinaNet: its model
                # built on images, then called on Input([None, None, 3])): Keras traces the
                # call anew, so an output size that follows the input's is unknown too, not
                # the size the first images gave. When the trial calls cannot run, the
                # graph made for those images stays, as before.
                self._rebuild_for_unknown_sizes((None,) + got[1:])
                return
            if len(got) != len(want) or other_sizes:
                raise ValueError(
                    f"model '{self.name}' expects input of shape {want} (batch axis None), "
                    f"got data of shape {got}"
                )

    def _rebuild_for_unknown_sizes(self, batch_shape) -> None:
        """A subclassed model's one-call graph made anew for inputs of ``batch_shape``, which
        has unknown sizes; its output shape comes from trial calls at two sizes
        (`trial_through_sources`), so that an output axis following the input's size is
        unknown. When no trial runs, the graph made for the earlier data stays."""
        from convnp.models.functional import trial_through_sources

        wrapper = subclassed.ModelCall(self)
        try:
            shape = trial_through_sources(
                [Input(batch_shape=batch_shape)],
                lambda values: wrapper.call(values[0], training=False))
            self._set_graph(subclassed.build_graph(self, batch_shape, wrapper, shape))
        except Exception:  # noqa: BLE001,S110 (sizes its layers cannot take)
            pass

    @quiet  # infinities and NaNs without NumPy's warnings, as TensorFlow (`convnp._floats`)
    def __call__(self, inputs, training: bool | None = None, mask=None):
        """Run the model on arrays (returns `EagerTensor`s), or use it as a layer on KerasTensors.

        As a layer inside another model (e.g. a pretrained base), the model's weights become
        part of the outer model. ``training=False`` given here fixes the nested model in
        inference mode for good (BatchNormalization keeps its moving statistics even while
        the outer model trains), as Keras does for frozen bases.

        ``mask`` (one per input; by default the masks the inputs carry, as Keras's
        ``Functional.call`` takes them) reaches the layers inside, and the outputs carry the
        masks the model's layers give them (`convnp.models.mask_flow`).

        Weights that layers make during the call (a subclassed model's first call, a
        Sequential built by it) sit below the model's name in their ``path``, as in Keras 3.
        """
        with _inside(self):
            return self._run_call(inputs, training, mask)

    def _run_call(self, inputs, training: bool | None, mask):
        """`__call__` inside the model's weight-path scope."""
        if self._step_only:
            self._require_built("forward pass")
        if isinstance(inputs, dict) and self._graph is not None:
            # by input name (the keys of ``inputs={...}``), in the model's input order
            inputs = compile_utils.match(inputs, self.input_names, "inputs", "__call__")
            inputs = inputs if len(inputs) > 1 else inputs[0]
        if isinstance(inputs, KerasTensor) or (
            isinstance(inputs, (list, tuple)) and inputs
            and all(isinstance(t, KerasTensor) for t in inputs)
        ):
            return self._call_symbolic(inputs, training, mask)
        if self._subclassed and self._graph is None and not isinstance(inputs, (list, dict)):
            return self._first_call(inputs, training)
        masks = self._input_masks(inputs, mask)
        xs = self._prepare_inputs(inputs, "__call__")
        if training is None:  # inside a user's call: that call's mode (Keras 3)
            training = taped.inherited_training()
        if training is None and not _acts_when_called_directly(self):
            training = False  # the same as inference for every layer it holds
        mode = None if training is None else bool(training)
        left_out = taped.training_left_out() if mode is None else contextlib.nullcontext()
        with self._step_lock, left_out:  # never in the middle of a training step (threads)
            if self._subclassed:
                if recording():  # the user's own ops are recorded on the active tape
                    return self._graph.nodes[0].layer.run(taped.eager_inputs(inputs), mode)
                return to_eager(self._structured_outputs(self._graph.forward(xs, training=mode)))

            def forward(_):
                # with no tape recording nothing backpropagates: inference-only when not
                # training (a direct call with augmentation layers runs them all: mode None)
                outs = self._graph.forward(xs, training=mode,
                                           inference=mode is False and not recording(),
                                           masks=masks)
                return outs[0] if len(outs) == 1 else outs

            if recording() and self._outputs_read_inside():
                outs = self._call_layer_by_layer(inputs, mode)
            else:
                outs = taped.call_on_arrays(self, inputs, mode, forward)
                output_masks = self._graph._output_masks
                if output_masks is not None:  # what its layers gave its outputs, as Keras's
                    for out, found in zip(outs if isinstance(outs, list) else [outs],
                                          output_masks):
                        if found is not None:
                            _masks.set_mask(out, to_eager(found))
            if self._output_keys is None and self._output_nesting is None and \
                    not self._outputs_in_tuple:
                return outs
            return self._structured_outputs(outs if isinstance(outs, list) else [outs])

    def _first_call(self, inputs, training):
        """A subclassed model's first call on data: the user's ``call`` runs once, on that
        data (building its layers), and the one-call graph takes its output shape from what
        it returned. So no trial call on made-up data runs the user's code first (a counter
        in ``call`` counts one, and one image is not taken for a batch of one)."""
        x = da.as_float_array(inputs, self._compute_dtype(), "__call__(): x")
        if self._checkpoint_pending is not None:
            # a checkpoint restored before the weights existed: make them (a trial call) and
            # take its values first, so that this call already computes with them
            self._build_for_shape((None,) + x.shape[1:])
            return self(inputs, training=training)
        subclassed.run_user_build(self, x.shape)  # as Keras: the shape of this first call
        if training is None:
            training = taped.inherited_training()
        wrapper = subclassed.ModelCall(self)
        left_out = taped.training_left_out() if training is None and \
            _acts_when_called_directly(self) else contextlib.nullcontext()
        with self._step_lock, left_out:
            out = wrapper.run(taped.eager_inputs(inputs) if recording() else x, training)
        subclassed.note_structure(self, out)
        self._set_graph(subclassed.build_graph(self, (None,) + x.shape[1:], wrapper,
                                               subclassed.output_shapes(out)))
        return out if recording() else to_eager(out)

    def _outputs_read_inside(self) -> bool:
        """Whether an output is also read by a later call of this model (a Grad-CAM model
        returning a conv's output and the prediction made from it)."""
        outputs = set(self._graph.output_slots)
        return any(s in outputs for node in self._graph.nodes for s in node.inputs)

    def _call_layer_by_layer(self, inputs, training):
        """Call each layer on tensors, so that the active tapes record every call: a gradient
        taken w.r.t. an output that later calls read then flows through those calls (as one
        recorded call the model would only link its outputs to its inputs)."""
        graph = self._graph
        values: list = [None] * len(graph.tensors)
        for slot, x in zip(graph.input_slots, inputs if len(graph.inputs) > 1 else [inputs]):
            values[slot] = x
        for node in graph.nodes:
            arg = [values[s] for s in node.inputs] if node.multi else values[node.inputs[0]]
            fixed = node.layer._fixed_training  # training None: each layer's own default
            mode = training if fixed is None else fixed
            if node.template is not None:  # a call with several tensor arguments
                call_in, call_args, call_kwargs = fill(node.template, arg)
                values[node.out] = node.layer(call_in, *call_args, training=mode, **call_kwargs)
            else:
                values[node.out] = node.layer(arg, training=mode)
        outs = [values[s] for s in graph.output_slots]
        return outs if len(outs) > 1 else outs[0]

    # -- a model as a layer of another model ---------------------------------------------------

    def _call_symbolic(self, inputs, training: bool | None, mask=None) -> KerasTensor:
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if self._graph is None:
            self._build_for_shape(tensors[0].shape)
        self._check_input_shapes([t.shape for t in tensors])
        self._fixed_training = training
        if mask is None and isinstance(inputs, KerasTensor) and training is None \
                and not self._subclassed:
            mask = inputs._keras_mask  # recorded as Keras records it (a call on one tensor)
        template = None
        if mask is not None:  # one graph node reading the inputs and the mask
            tensors = []
            template = template_of((inputs, (), {"mask": mask}), tensors)
        batch = tensors[0].shape[0]
        shapes = [(batch,) + tuple(t.shape[1:]) for t in self._graph.outputs]
        if len(shapes) > 1:  # one output tensor each, in the order of `outputs`
            outputs = record_outputs(self, tensors, shapes)
            outputs[0].inputs[0].call_template = template
            # in the model's own structure, as Keras 3 gives them: a dict by key, a tuple
            return self._structured_outputs(outputs)
        out = KerasTensor(shapes[0], layer=self, inputs=tensors)
        out.call_template = template
        out = record_call(self, tensors, out)
        return out if self._one_output_in is None else self._one_output_in([out])

    def _input_masks(self, inputs, mask) -> list | None:
        """The mask of each input of a direct call: ``mask`` (one, or one per input), else
        the masks the inputs carry (eager results of `Masking` or an embedding)."""
        if self._graph is None or self._subclassed:
            return None
        count = len(self._graph.inputs)
        if mask is None:
            found = _masks.mask_of(inputs if isinstance(inputs, (list, tuple)) else [inputs])
        else:
            found = list(mask) if isinstance(mask, (list, tuple)) and count > 1 else [mask]
        if len(found) != count or not _masks.any_mask(found):
            return None
        return [None if m is None else np.asarray(m) for m in found]

    def call(self, inputs, training: bool = False, mask=None):
        """Forward as a layer of an outer model (inputs already checked by the outer one);
        a list of arrays for a model with several outputs. ``mask``: the inputs' masks
        (one, or a list with one per input), as Keras's ``Functional.call`` takes them."""
        if self._fixed_training is not None:
            training = self._fixed_training
        xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        masks = None
        if mask is not None:
            masks = list(mask) if isinstance(mask, (list, tuple)) and len(xs) > 1 else [mask]
        # None (an outer model called directly) passes on: each layer takes its own default
        mode = None if training is None else bool(training)
        outs = self._graph.forward(xs, training=mode, masks=masks)
        return outs[0] if len(outs) == 1 else outs

    def backward(self, dy):
        """Backward as a layer: sets the nested weights' ``.grad``; returns the input
        gradient (a list for several inputs; None when ``needs_input_gradient`` is False).
        With several outputs ``dy`` is a list, None for an output nothing read."""
        self._graph.plan_backward(input_gradients=self.needs_input_gradient)
        dxs = self._graph.backward(list(dy) if len(self._graph.outputs) > 1 else [dy])
        return dxs[0] if len(dxs) == 1 else dxs

    def second_order(self, dy, t_dx, t_weights: dict):
        """Second-order rule as a layer in another model: its calls' rules, in order
        (`convnp.layers.second_order.graph_rule`)."""
        return second_order.model_rule(self, dy, t_dx, t_weights)

    @property
    def dtype(self):
        return self._compute_dtype() if self._graph is not None else np.dtype(np.float32)

    def summary(self, line_length: int | None = None, positions=None,
                print_fn=None, expand_nested: bool = False, show_trainable: bool = False,
                layer_range=None) -> None:
        """Print a table of layers, output shapes and parameter counts, then the totals (for
        a model not built yet, its layers with unknown shapes, as Keras 3 prints it)."""
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable,
                      layer_range=layer_range)

    # -- files (convnp.io does the work, found through models.file_hooks) ------------------

    def save(self, filepath, overwrite: bool = True, include_optimizer: bool = True,
             zipped=None, **kwargs) -> None:
        """Write architecture, weights, compile settings and optimizer state to one file
        (see `convnp.io.saving.save_model`; ``metadata=`` is convnp's own argument).

        Keras 3's other arguments are taken as TF 2.21 takes them: Keras 2's ``save_format``
        is ignored with a deprecation warning when the extension says the format (``.keras``,
        ``.h5``) and refused otherwise; ``zipped=False`` (an unzipped directory) is refused
        for a ``.keras`` path, as in Keras, and not supported by convnp otherwise. Any other
        keyword is a ValueError, as Keras's."""
        path = str(filepath)
        save_format = kwargs.pop("save_format", None)
        if save_format:
            if not path.endswith((".h5", ".hdf5", ".keras")):
                raise ValueError(f"save_format={save_format!r} is deprecated in Keras 3 and "
                                 "not used: pass a file path ending in '.keras' or '.h5' "
                                 f"instead (received filepath={path!r})")
            warnings.warn(f"The `save_format` argument is deprecated in Keras 3; the format "
                          f"comes from the file path (received save_format={save_format!r})",
                          DeprecationWarning, stacklevel=2)
        unknown = sorted(k for k in kwargs if k != "metadata")
        if unknown:
            raise ValueError(f"Model.save: the following argument(s) are not supported: "
                             f"{unknown}")
        if zipped is not None and not isinstance(zipped, bool):
            raise TypeError(f"Model.save(zipped=...) expects a bool or None, got {zipped!r}")
        if zipped is False:
            if path.endswith(".keras"):
                raise ValueError("when using zipped=False, the filepath should not end in "
                                 f"'.keras' (Keras writes a directory then); got {path!r}")
            raise NotImplementedError("Model.save(zipped=False): convnp writes .keras files "
                                      "as zip archives only")
        file_hooks.get("save_model")(self, filepath, overwrite=overwrite,
                                     include_optimizer=include_optimizer, **kwargs)

    def save_weights(self, filepath, overwrite: bool = True) -> None:
        """Write only the weights (``.weights.npz``, or Keras's ``.weights.h5`` layout)."""
        file_hooks.get("save_weights")(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch: bool = False, by_name: bool = False,
                     **kwargs) -> None:
        """Load weights written by `save_weights` into this (same-architecture) model; with
        ``skip_mismatch=True`` a layer whose weights differ in count or shape from the file's
        keeps its own, with a warning (Keras 3's argument). ``by_name=True`` (legacy HDF5
        files only, as in Keras 3) loads each layer of the file into the model's layer of
        that name and leaves the others: the Keras 2 transfer-learning recipe. Another
        keyword is a ValueError, as in TF 2.21."""
        if kwargs:
            raise ValueError(f"load_weights: invalid keyword arguments {sorted(kwargs)}")
        for arg, value in (("skip_mismatch", skip_mismatch), ("by_name", by_name)):
            if not isinstance(value, bool):
                raise TypeError(f"load_weights({arg}=...) expects a bool, got {value!r}")
        if by_name:
            file_hooks.get("load_weights")(self, filepath, skip_mismatch=skip_mismatch,
                                           by_name=True)
        else:
            file_hooks.get("load_weights")(self, filepath, skip_mismatch=skip_mismatch)

    def export(self, filepath, format: str = "tf_saved_model", verbose=None,
               input_signature=None, **kwargs) -> str:
        """Keras 3's export for inference; convnp writes ``format="onnx"`` (see
        `convnp.io.saving.export_model`)."""
        return file_hooks.get("export_model")(self, filepath, format=format, verbose=verbose,
                                              input_signature=input_signature, **kwargs)

    def _subclass_config(self) -> dict[str, Any]:
        """Keras 3's config of a user's Model subclass: the base entries, which
        ``cls(**config)`` takes back, and the constructor's arguments when the class keeps
        the base get_config (recorded by `__new__`; ``name`` left out when ``__init__``
        cannot take it). Arguments other than plain values (numbers, strings, booleans,
        None, lists and dicts of them) are not written, and the config is the base one: as
        in TF 2.21, whose model config then holds no argument it was given."""
        config: dict[str, Any] = {"name": self.name}
        auto = vars(self).get("_auto_config")
        if type(self).get_config is Model.get_config and auto is not None:
            with_arguments(config, type(self), auto)
        config["trainable"] = self.trainable
        config["dtype"] = "float32"
        return config

    def to_json(self, **kwargs) -> str:
        """The architecture as JSON, as Keras 3 writes it (``module``, ``class_name``,
        ``config``, ``registered_name``, ``build_config``; ``compile_config`` once compiled),
        so that ``tf.keras.models.model_from_json`` in TensorFlow reads it too. A model Keras
        could not rebuild (a layer only convnp has, an unbuilt model) gets convnp's own
        layout, `get_config` wrapped as ``{"class_name", "config"}``; convnp reads both.
        ``kwargs`` go to `json.dumps`, as in Keras."""
        import json

        written = file_hooks.get("keras_json_config")(self)
        if written is not None:
            return json.dumps(written, **kwargs)

        def encode(value):
            # a Lambda's function: its registered name, or a ValueError naming the layer
            if callable(getattr(value, "json_config", None)):
                return value.json_config()
            raise TypeError(f"a value of type {type(value).__name__} in the config of model "
                            f"'{self.name}' cannot be written as JSON: {value!r:.200}")

        name = "Sequential" if type(self).__name__ == "Sequential" else "Functional"
        return json.dumps({"class_name": name, "config": self.get_config()}, default=encode,
                          **kwargs)

    # -- config ------------------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """JSON-able description: each layer's class and config plus who feeds whom.

        A user's Model subclass (its own ``call``) has no graph to describe: its config is
        Keras 3's base one, ``name``, ``trainable`` and ``dtype`` (what a subclass's
        ``get_config`` extends with ``super().get_config()``), and, for a class with no
        get_config of its own, its constructor's arguments (see `_subclass_config`).

        One entry per layer call, in execution order. ``layers[i]["inbound_nodes"]`` lists the
        tensors the call reads (empty for input layers): the name of the layer that made it,
        or ``[name, k]`` when it is that layer's call number ``k > 0`` (a shared layer), or
        ``[name, k, i]`` for output ``i > 0`` of a call with several outputs. A
        shared layer's later calls are entries with ``"shared_call": k`` and no ``config``.
        ``input_layers`` / ``output_layers`` name the model's ends as ``[layer_name, k, i]``,
        as Keras writes them.
        """
        if self._subclassed:
            return self._subclass_config()
        self._require_built("config")
        graph = self._graph
        call_of = graph.call_index

        def ref(slot: int):
            layer, call, index = graph.ref(slot)
            if index:
                return [layer.name, call, index]
            return layer.name if call == 0 else [layer.name, call]

        entries = []
        for layer in graph.input_layers:
            entries.append({"class_name": type(layer).__name__, "name": layer.name,
                            "config": layer.get_config(), "inbound_nodes": []})
        for node in graph.calls:
            k = call_of[node.out]
            entry = {**layer_entry(node.layer), "name": node.layer.name}
            if k == 0:
                entry["config"] = node.layer.get_config()
            else:
                entry["shared_call"] = k
            entry["inbound_nodes"] = [ref(s) for s in node.inputs]
            entry["multi_input"] = bool(node.multi)
            if node.template is not None:  # layer(x, g, scale=2.0): the call's arguments
                from convnp.layers.op_layer import encode

                entry["call_template"] = encode(node.template, f"layer '{node.layer.name}'")
            fixed = node.layer._fixed_training
            if fixed is not None:  # layer(x, training=...): e.g. a frozen base model
                entry["call_kwargs"] = {"training": bool(fixed)}
            entries.append(entry)
        ends_in = [[t.layer.name, 0, 0] for t in graph.inputs]
        ends_out = [[layer.name, call, index]
                    for layer, call, index in map(graph.ref, graph.output_slots)]
        if self._output_nesting is not None:
            ends_out = compile_utils.pack(self._output_nesting, ends_out)
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": entries,
            # a dict for ``inputs={...}`` / ``outputs={...}``, as Keras writes them
            "input_layers": ends_in if self._input_keys is None
            else dict(zip(self._input_keys, ends_in)),
            "output_layers": ends_out if self._output_keys is None
            else dict(zip(self._output_keys, ends_out)),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects=None) -> Model:
        """Rebuild a functional model from `get_config` output (fresh weights); a user's
        Model subclass is ``cls(**config)``, as in Keras."""
        if cls._subclassed:
            return cls(**config)
        if _written_by_keras(config):  # a TF model's get_config(): Keras 3's own layout
            return file_hooks.get("model_from_keras_config")(
                {"class_name": "Functional", "config": config}, custom_objects)

        tensors: dict[tuple[str, int], Any] = {}  # a list for a call with several outputs
        layers: dict[str, Any] = {}

        def key(ref) -> tuple[str, int]:
            return (ref, 0) if isinstance(ref, str) else (str(ref[0]), int(ref[1]))

        def tensor(ref) -> KerasTensor:
            made = tensors[key(ref)]
            index = int(ref[2]) if not isinstance(ref, str) and len(ref) > 2 else 0
            if isinstance(made, list):
                if not 0 <= index < len(made):
                    raise ValueError(f"model config: {ref} names output {index} of a call "
                                     f"with {len(made)} outputs")
                return made[index]
            if index:
                raise ValueError(f"model config: {ref} names output {index} of a call with "
                                 "one output")
            return made

        for entry in config["layers"]:
            k = int(entry.get("shared_call", 0))
            if k:
                if entry["name"] not in layers:
                    raise ValueError(f"model config: call {k} of layer '{entry['name']}' comes "
                                     "before the layer is defined")
                layer = layers[entry["name"]]
            else:
                layer = layers[entry["name"]] = _layer_from_entry(entry, custom_objects)
            inbound = entry.get("inbound_nodes", [])
            if not inbound:
                tensors[(entry["name"], 0)] = input_tensor_of(layer)
                continue
            missing = [n for n in inbound if key(n) not in tensors]
            if missing:
                raise ValueError(
                    f"model config: layer '{entry['name']}' is fed by {missing}, which are not "
                    "defined before it"
                )
            args = [tensor(n) for n in inbound]
            multi = entry.get("multi_input", len(args) > 1)
            kwargs = {}
            if "call_kwargs" in entry:
                kwargs["training"] = bool(entry["call_kwargs"].get("training"))
            if "call_template" in entry:  # a call with several tensor arguments
                from convnp.layers.op_layer import decode

                where = f"model config: layer '{entry['name']}'"
                template = decode(entry["call_template"], where)
                if not (isinstance(template, tuple) and len(template) == 3
                        and isinstance(template[1], tuple) and isinstance(template[2], dict)
                        and slots_of(template) == set(range(len(args)))):
                    raise ValueError(f"{where}: unreadable call_template (it must place each "
                                     f"of the call's {len(args)} tensors)")
                call_in, call_args, call_kwargs = fill(template, args)
                tensors[(entry["name"], k)] = layer(call_in, *call_args,
                                                    **{**call_kwargs, **kwargs})
                continue
            tensors[(entry["name"], k)] = layer(args if multi else args[0], **kwargs)
        def ends(entries, read):
            if isinstance(entries, dict):  # a model made with inputs={...} / outputs={...}
                return {key: read(*value) for key, value in entries.items()}
            found = [read(*value) if isinstance(value[0], str) else ends(value, read)
                     for value in entries]  # a nested list: outputs=[[a, b], ...]
            return found if len(found) > 1 else found[0]

        inputs = ends(config["input_layers"], lambda name, *_: tensors[(name, 0)])
        outputs = ends(config["output_layers"], lambda *ref: tensor(list(ref)))
        model = cls(inputs=inputs, outputs=outputs, name=config.get("name"))
        if config.get("trainable") is False:
            model.trainable = False
        return model

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


class Functional(Model):
    """What ``Model(inputs=..., outputs=...)`` returns (Keras's class name for it)."""


def layer_entry(layer) -> dict[str, Any]:
    """The start of a layer's entry in a model's config: ``{"class_name": ...}``, and the
    ``"registered_name"`` (``"package>Name"``) of a user's class registered with
    ``register_keras_serializable``, as Keras 3 writes it: two registered classes of one
    name (``blocks>Residual`` and another package's ``Residual``) are then told apart when
    the config is read back."""
    cls = type(layer)
    entry = {"class_name": cls.__name__}
    registered = get_registered_name(cls)
    if registered != cls.__name__ and get_registered_object(registered) is cls:
        entry["registered_name"] = registered
    return entry


def _layer_from_entry(entry: dict[str, Any], custom_objects=None):
    """A layer, or a nested model, from its ``{"class_name", "config"}`` entry.

    ``custom_objects`` (class name -> class) is searched before the registry, and is handed on
    to nested models so that a user's layer inside them is found too; it is in scope while
    the layer is made, so that the objects its config names (a PointNet T-net Dense's user
    ``activity_regularizer``) are found as TF 2.21 finds them. A ``registered_name`` that
    names a registered class picks that class (before the class name is looked up).
    """
    with CustomObjectScope(custom_objects):
        return _layer_in_scope(entry, custom_objects)


def _layer_in_scope(entry: dict[str, Any], custom_objects=None):
    """`_layer_from_entry`'s work, with ``custom_objects`` in scope."""
    from convnp.layers import get_layer_class

    name = entry["class_name"]
    registered = entry.get("registered_name")
    if isinstance(registered, str) and name not in (custom_objects or {}):
        cls = get_registered_object(registered)
        if isinstance(cls, type):
            return cls.from_config(dict(entry["config"]))
    if name in MODEL_CLASSES and name not in (custom_objects or {}):
        return MODEL_CLASSES[name].from_config(dict(entry["config"]),
                                               custom_objects=custom_objects)
    return get_layer_class(name, custom_objects).from_config(dict(entry["config"]))


#: Model classes by the class name configs give them; `Sequential` adds itself when its module
#: loads (it builds on `Model`, so this module never imports it).
MODEL_CLASSES: dict[str, type] = {"Functional": Model, "Model": Model}


__all__ = ["Input", "Model"]


def _written_by_keras(config) -> bool:
    """Whether a functional model's config is Keras 3's (each layer entry names its module;
    convnp's own entries do not)."""
    layers = config.get("layers") if isinstance(config, dict) else None
    return isinstance(layers, list) and any(isinstance(entry, dict) and "module" in entry
                                            for entry in layers)
