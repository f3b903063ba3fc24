"""`Model.summary()`: the Keras 3 layer table and parameter totals.

    Model: "sequential"
    ┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
    ┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
    ┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
    │ conv2d (Conv2D)                 │ (None, 64, 64, 32)     │         4,736 │
    └─────────────────────────────────┴────────────────────────┴───────────────┘
     Total params: 4,736 (18.50 KB)

Functional models whose graph is not a plain chain get a fourth column, "Connected to".
When the output stream cannot encode the box-drawing characters, ASCII ones are used.
"""

from __future__ import annotations

import re
import shutil
import sys

import numpy as np

from convnp.layers._slots import slot_order
from convnp.layers.base import OutputPick
from convnp.progbar import print_msg

_BOX = {
    "top": "┏━┳┓", "head": "┃┃┃", "under_head": "┡━╇┩", "row": "│││",
    "between": "├─┼┤", "bottom": "└─┴┘",
}
_ASCII = {
    "top": "+-++", "head": "|||", "under_head": "+=++", "row": "|||",
    "between": "+-++", "bottom": "+-++",
}


def readable_size(n_bytes: float) -> str:
    """Bytes in the largest unit that keeps the number >= 1: ``147.00 KB``."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n_bytes < 1024 or unit == "TB":
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.2f} TB"  # pragma: no cover


def _count_and_bytes(variables) -> tuple[int, int]:
    count = sum(int(v.value.size) for v in variables)
    size = sum(int(v.value.nbytes) for v in variables)
    return count, size


def _is_chain(model) -> bool:
    """Whether Keras prints the model without "Connected to": its test is on calls by depth
    (the longest path from a call to a model output), not on how many outputs the model has.
    At each depth there must be one call reading at most one tensor, and no layer may be
    called twice. So a layer returning two outputs, or a model that also outputs an
    intermediate tensor, is still a chain; a layer applied twice in a row is not."""
    graph = model._graph
    if len(graph.inputs) != 1 or graph.shared:
        return False
    # each value's call: an output pick's value belongs to the call it picks from
    call_of = {slot: slot for slot in graph.input_slots}
    for node in graph.nodes:
        picked = isinstance(node.layer, OutputPick)
        call_of[node.out] = call_of[node.inputs[0]] if picked else node.out
    depth = {call_of[slot]: 0 for slot in graph.output_slots}
    for node in reversed(graph.nodes):  # every call after the calls that read it
        if isinstance(node.layer, OutputPick):
            continue
        if len(_arguments(node)) > 1:
            return False
        below = depth.get(node.out, 0) + 1
        for slot in node.inputs:
            depth[call_of[slot]] = max(depth.get(call_of[slot], 0), below)
    return len(set(depth.values())) == len(depth)


def _name(layer, prefix: str = "") -> str:
    return f"{prefix}{layer.name} ({type(layer).__name__})"


def _trainable_mark(layer) -> str:
    # Keras: "-" for a layer without weights, else Y/N from its trainable flag
    if not getattr(layer, "weights", None):
        return "-"
    return "Y" if layer.trainable else "N"


def _layer_shapes(model) -> dict:
    """Output shape text of each layer of a (built) Sequential/functional model, by id."""
    shapes: dict[int, str] = {}
    graph = model._graph
    if graph is None or model._subclassed or model._step_only:
        for layer in model.layers:
            shape = getattr(layer, "output_shape", None) if layer.built else None
            shapes[id(layer)] = "?" if shape is None else str(tuple(shape))
        return shapes
    for t in graph.inputs:
        shapes[id(t.layer)] = str(tuple(t.shape))
    for node in graph.calls:
        shapes.setdefault(id(node.layer), _shape_text(graph.tensors[node.out]))
    return shapes


def _shape_text(tensor) -> str:
    """A call's output shape as Keras prints it: a list of shapes for several outputs."""
    if tensor.outputs is not None:
        return str([tuple(part.shape) for part in tensor.outputs])
    return str(tuple(tensor.shape))


def _top_level(model, connected: bool) -> list[tuple]:
    """(layer, row cells) of the model's own layers, in Keras's order."""
    graph = model._graph
    entries = []
    if graph is None or model._subclassed or model._step_only:
        # the layers it holds, as Keras lists them; before the model is built, Keras 3 prints
        # "?" and "0 (unbuilt)" for the layers not built yet
        shapes = _layer_shapes(model)
        for layer in model.layers:
            params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
            entries.append((layer, [_name(layer), shapes[id(layer)], params]
                            + (["-"] if connected else [])))
        return entries
    is_sequential = type(model).__name__ == "Sequential"
    inputs = {} if is_sequential else {id(t.layer): t for t in graph.inputs}
    calls: dict[int, list] = {}  # a shared layer is one row listing all its calls' inputs
    for node in graph.calls:
        calls.setdefault(id(node.layer), []).append(node)
    # rows in `model.layers` order (Keras's: deepest first), as Keras 3 prints a functional
    # model; a Sequential's are its layers (not the ops making a mask, as in Keras)
    order = [id(t.layer) for t in graph.inputs] + [
        id(layer) for layer in model.layers] if is_sequential else \
        [id(layer) for layer in graph.layers]
    for lid in order:
        if lid in inputs:
            t = inputs[lid]
            row = [_name(t.layer), str(tuple(t.shape)), "0"]
            if connected:
                row.append("-")
            entries.append((t.layer, row))
            continue
        nodes = calls.get(lid)
        if nodes is None:  # a Sequential's input layer (not listed)
            continue
        layer = nodes[0].layer
        row = [_name(layer), _shape_text(graph.tensors[nodes[0].out]),
               f"{layer.count_params():,}"]
        if connected:
            sources = [f"{source.name}[{call}][{index}]"
                       for node in nodes for source, call, index in map(graph.ref,
                                                                         _arguments(node))]
            row.append(", ".join(sources))
        entries.append((layer, row))
    return entries


def _arguments(node) -> list[int]:
    """The value slots a call read, one per tensor argument (as Keras's "Connected to" lists
    them: ``MultiHeadAttention()(x, x)`` reads ``x`` twice)."""
    template = node.template
    if template is None and type(node.layer).__name__ == "TFOpLambda":  # an op on tensors
        template = (node.layer.args, node.layer.kwargs)
    if template is None:
        return node.inputs
    return [node.inputs[i] for i in slot_order(template)]


def _nested_rows(layer, level: int, connected: bool, show_trainable: bool) -> list[list[str]]:
    """The rows of a nested model's layers, indented under it as Keras 3 prints them."""
    inner = getattr(layer, "layers", None)
    if not inner or layer._graph is None:  # not a model (its graph is None), or unbuilt
        return []
    shapes = _layer_shapes(layer)
    prefix = "   " * level + "\u2514 "
    rows = []
    for sub in inner:
        row = [_name(sub, prefix), shapes.get(id(sub), "?"), f"{sub.count_params():,}"]
        if connected:
            row.append("-")  # Keras: only the outer model's calls are listed
        if show_trainable:
            row.append(_trainable_mark(sub))
        rows.append(row)
        rows.extend(_nested_rows(sub, level + 1, connected, show_trainable))
    return rows


def _select(entries: list, layer_range) -> list:
    """Keras's layer_range: the first layer whose name matches the first pattern through the
    last one matching the second (regular expressions, matched from the start)."""
    if layer_range is None:
        return entries
    if not isinstance(layer_range, (list, tuple)) or len(layer_range) != 2:
        raise ValueError("summary(layer_range=...) expects a list or tuple of 2 layer names, "
                         f"got {layer_range!r}")
    if not all(isinstance(n, str) for n in layer_range):
        raise ValueError(f"summary(layer_range=...) expects strings, got {layer_range!r}")
    names = [layer.name for layer, _ in entries]
    first = [i for i, n in enumerate(names) if re.match(layer_range[0], n)]
    last = [i for i, n in enumerate(names) if re.match(layer_range[1], n)]
    if not first or not last:
        raise ValueError(f"summary(layer_range={tuple(layer_range)!r}): no layer of the model "
                         f"matches; its layers are {names}")
    lo, hi = (min(first), max(last)) if min(first) <= max(last) else (min(last), max(first))
    return entries[lo:hi + 1]


def _column_widths(line_length: int, positions) -> list[int]:
    """Widths of the text in each column, as Keras's table (rich) lays them out: each column
    gets up to ``positions[i] * line_length`` (padding included), then the borders' room is
    taken evenly from all columns."""
    widths, current = [], 0
    for pos in positions:
        width = int(pos * line_length) - current
        if width < 4:
            raise ValueError(f"summary: line_length={line_length} with positions={positions} "
                             "leaves a column narrower than 4 characters")
        widths.append(width)
        current += width
    excess = sum(widths) - (line_length - len(widths) - 1)
    if excess > 0:
        shares, left = len(widths), excess
        for i, width in enumerate(widths):
            cut = min(width, round(left / shares))
            widths[i] = width - cut
            left -= cut
            shares -= 1
    return [max(w - 2, 1) for w in widths]


def _wrap(text: str, width: int, ellipsis: str = "\u2026") -> list[str]:
    """Word-wrap as rich does: a line breaks between words (leading spaces are kept); a
    word longer than the column is cut with an ellipsis."""
    lines: list[str] = []
    for part in text.split("\n"):
        words = re.findall(r"\s*\S+\s*", part) or [""]
        line = ""
        for word in words:
            if line and len(line) + len(word.rstrip()) > width:
                lines.append(line.rstrip())
                line = word
            else:
                line += word
        lines.append(line.rstrip())
    return [ln if len(ln) <= width else ln[:width - 1] + ellipsis for ln in lines]


def _can_encode(stream, text: str) -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def print_summary(model, line_length: int | None = None, positions=None, print_fn=None,
                  expand_nested: bool = False, show_trainable: bool = False,
                  layer_range=None) -> None:
    """Print the table through ``print_fn`` (default `print`), one call per line.

    ``line_length`` defaults to Keras's (88 columns, 108 with "Connected to", 12 more with
    ``show_trainable``, at most the terminal's width less 4); ``positions`` are the right
    edges of the columns as fractions of it. ``expand_nested`` lists each nested model's
    layers under it, ``layer_range`` (two names or regular expressions) the top-level
    layers from the first match through the last.
    """
    connected = model._graph is not None and not model._step_only and \
        type(model).__name__ != "Sequential" and not _is_chain(model)
    headers = ["Layer (type)", "Output Shape", "Param #"]
    right = ["left", "left", "right"]
    default_length = 88
    default_positions = [0.45, 0.80, 1.0]
    if connected:
        headers.append("Connected to")
        right.append("left")
        default_length = 108
        default_positions = [0.3, 0.56, 0.74, 1.0]
    if positions is None:
        positions = default_positions
    else:
        positions = [float(p) for p in positions]
        if len(positions) != len(headers) or any(
                not 0 < p <= 1 for p in positions) or positions != sorted(positions):
            raise ValueError(f"summary(positions=...) expects {len(headers)} increasing "
                             f"fractions of line_length in (0, 1] (one right edge per column: "
                             f"{headers}), got {positions}")
    if show_trainable:
        default_length += 12
        positions = [p * 0.9 for p in positions] + [1.0]
        headers.append("Trainable")
        right.append("center")
    if line_length is None:
        line_length = min(default_length, shutil.get_terminal_size().columns - 4)
    elif isinstance(line_length, bool) or not isinstance(line_length, int) or line_length < 1:
        raise ValueError(f"summary(line_length=...) expects a positive int, got {line_length!r}")
    widths = _column_widths(line_length, positions)

    entries = _select(_top_level(model, connected), layer_range)

    if print_fn is None:
        stream = sys.stdout
        chars = _BOX if _can_encode(stream, "┏━┃│└") else _ASCII

        def print_fn(line: str) -> None:
            print_msg(line, stream=stream)
    else:
        chars = _BOX

    def rule(kind: str) -> str:
        left, fill, mid, end = chars[kind]
        return left + mid.join(fill * (w + 2) for w in widths) + end

    def align(text: str, width: int, how: str) -> str:
        if how == "right":
            return text.rjust(width)
        if how == "center":
            pad = width - len(text)
            return " " * (pad // 2) + text + " " * (pad - pad // 2)
        return text.ljust(width)

    def cells(values: list[str], kind: str) -> list[str]:
        bar_left, bar_mid, bar_right = chars[kind]
        wrapped = [_wrap(v, w, "\u2026" if chars is _BOX else "~")
                   for v, w in zip(values, widths)]
        height = max(len(c) for c in wrapped)
        lines = []
        for i in range(height):
            parts = []
            for col, w in enumerate(widths):
                text = wrapped[col][i] if i < len(wrapped[col]) else ""
                parts.append(" " + align(text, w, right[col]) + " ")
            lines.append(bar_left + bar_mid.join(parts) + bar_right)
        return lines

    rows = []
    for layer, row in entries:
        rows.append(row + ([_trainable_mark(layer)] if show_trainable else []))
        if expand_nested:
            rows.extend(_nested_rows(layer, 1, connected, show_trainable))
    if chars is not _BOX:
        rows = [[c.replace("\u2514", "-") for c in r] for r in rows]

    print_fn(f'Model: "{model.name}"')
    print_fn(rule("top"))
    for line in cells(headers, "head"):
        print_fn(line)
    print_fn(rule("under_head"))
    for i, row in enumerate(rows):
        for line in cells(row, "row"):
            print_fn(line)
        print_fn(rule("between" if i < len(rows) - 1 else "bottom"))

    trainable, trainable_bytes = _count_and_bytes(model.trainable_weights)
    frozen, frozen_bytes = _count_and_bytes(model.non_trainable_weights)
    optimizer_count, optimizer_bytes = _optimizer_params(model)
    total = trainable + frozen + optimizer_count
    total_bytes = trainable_bytes + frozen_bytes + optimizer_bytes
    print_fn(f" Total params: {total:,} ({readable_size(total_bytes)})")
    print_fn(f" Trainable params: {trainable:,} ({readable_size(trainable_bytes)})")
    print_fn(f" Non-trainable params: {frozen:,} ({readable_size(frozen_bytes)})")
    if optimizer_count:
        print_fn(f" Optimizer params: {optimizer_count:,} ({readable_size(optimizer_bytes)})")


def _optimizer_params(model) -> tuple[int, int]:
    """Numbers the optimizer keeps once it has taken a step, as Keras counts them: its
    ``variables`` (the step count, the learning rate unless a schedule gives it, the slots)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(optimizer, "built", False):
        return 0, 0
    variables = getattr(optimizer, "variables", None)
    if variables is None:  # an object of the user's that only has get_state
        state = optimizer.get_state()
        return (sum(int(np.asarray(v).size) for v in state.values()),
                sum(int(np.asarray(v).nbytes) for v in state.values()))
    count, size = 0, 0
    for variable in variables:
        value = np.asarray(variable.value)
        count += int(value.size)
        size += int(value.nbytes)
    return count, size
