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

import sys
import textwrap

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
    graph = model._graph
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        return False
    return all(len(n.inputs) == 1 for n in graph.nodes) and all(
        c <= 1 for c in graph.n_consumers
    )


def _rows(model, connected: bool) -> list[list[str]]:
    graph = model._graph
    rows = []
    if model._subclassed or model._step_only:  # the layers it holds, as Keras lists them
        for layer in model.layers:
            shape = getattr(layer, "output_shape", None)
            rows.append([f"{layer.name} ({type(layer).__name__})",
                         "?" if shape is None else str(tuple(shape)), f"{layer.count_params():,}"]
                        + (["-"] if connected else []))
        return rows
    is_sequential = type(model).__name__ == "Sequential"
    if not is_sequential:
        for t in graph.inputs:
            row = [f"{t.layer.name} ({type(t.layer).__name__})", str(tuple(t.shape)), "0"]
            if connected:
                row.append("-")
            rows.append(row)
    calls: dict[int, list] = {}  # a shared layer is one row listing all its calls' inputs
    for node in graph.nodes:
        calls.setdefault(id(node.layer), []).append(node)
    for nodes in calls.values():
        layer = nodes[0].layer
        out_shape = graph.tensors[nodes[0].out].shape
        row = [f"{layer.name} ({type(layer).__name__})", str(tuple(out_shape)),
               f"{layer.count_params():,}"]
        if connected:
            sources = [f"{graph.tensors[s].layer.name}[{graph.call_index[s]}][0]"
                       for node in nodes for s in node.inputs]
            row.append(",\n".join(sources))
        rows.append(row)
    return rows


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for part in text.split("\n"):
        lines.extend(textwrap.wrap(part, width, break_on_hyphens=False) or [""])
    return lines


def _can_encode(stream, text: str) -> bool:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def print_summary(model, line_length: int | None = None, print_fn=None,
                  show_trainable: bool = False) -> None:
    """Print the table through ``print_fn`` (default `print`), one call per line."""
    connected = not model._step_only and type(model).__name__ != "Sequential" \
        and not _is_chain(model)
    headers = ["Layer (type)", "Output Shape", "Param #"]
    widths = [31, 22, 13]
    if connected:
        headers.append("Connected to")
        widths = [29, 22, 10, 22]
    total_width = sum(widths) + 3 * len(widths) + 1
    if line_length is not None and line_length < total_width:
        # shrink proportionally, but keep every column usable
        scale = max(line_length - 3 * len(widths) - 1, 4 * len(widths)) / sum(widths)
        widths = [max(4, int(w * scale)) for w in widths]
    right = [False, False, True, False]

    if print_fn is None:
        stream = sys.stdout
        chars = _BOX if _can_encode(stream, "┏━┃│└") else _ASCII

        def print_fn(line: str) -> None:
            print(line, file=stream)
    else:
        chars = _BOX

    def rule(kind: str) -> str:
        left, fill, mid, end = chars[kind]
        return left + mid.join(fill * (w + 2) for w in widths) + end

    def cells(values: list[str], kind: str) -> list[str]:
        bar_left, bar_mid, bar_right = chars[kind]
        wrapped = [_wrap(v, w) for v, w in zip(values, widths)]
        height = max(len(c) for c in wrapped)
        lines = []
        for i in range(height):
            parts = []
            for col, w in enumerate(widths):
                text = wrapped[col][i] if i < len(wrapped[col]) else ""
                parts.append(" " + (text.rjust(w) if right[col] else text.ljust(w)) + " ")
            lines.append(bar_left + bar_mid.join(parts) + bar_right)
        return lines

    print_fn(f'Model: "{model.name}"')
    print_fn(rule("top"))
    for line in cells(headers, "head"):
        print_fn(line)
    print_fn(rule("under_head"))
    rows = _rows(model, connected)
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
    """Numbers the optimizer keeps once it has taken a step: its slots, the iteration count
    and the learning rate (Keras counts those two as variables too)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(optimizer, "built", False):
        return 0, 0
    count, size = 0, 0
    for name, value in optimizer.get_state().items():
        count += int(value.size)
        # Keras keeps the iteration counter as int64 and the learning rate as float32
        size += int(value.nbytes) if name != "iterations" else 8
    return count + 1, size + 4
