"""``tf.summary``: TensorBoard logs written from a custom training loop.

    writer = tf.summary.create_file_writer("logs/train")
    with writer.as_default():                 # or writer.as_default(step=epoch)
        tf.summary.scalar("loss", loss, step=epoch)
        tf.summary.image("inputs", batch, step=epoch, max_outputs=3)
        tf.summary.histogram("weights", w, step=epoch)
        tf.summary.text("note", "hello", step=0)
    writer.close()

The events are TensorFlow 2's: each value a tensor with the metadata that names the TensorBoard
plugin showing it (``scalars``: a float32 scalar; ``images``: width, height, then one PNG per
image, as strings; ``histograms``: a float64 ``(buckets, 3)`` table of left edge, right edge,
count; ``text``: strings), written by `convnp.tfevents` (the writer the ``TensorBoard``
callback uses). Tags are prefixed by the open ``tf.name_scope`` blocks.

As in TensorFlow, nothing is written, and a summary function returns a False boolean tensor,
unless a writer is the default (``with writer.as_default():`` or ``writer.set_as_default()``)
and recording is on (`record_if`); it returns True when it wrote. Inside a writer, a summary
without ``step`` takes the default step (``as_default(step=...)``,
``experimental.set_step``) and raises ``ValueError`` when there is none. The default writer,
the default step and the recording condition belong to the calling thread.

Each summary is appended to its file as it is written (one ``write`` call), so a file never
holds less than what was logged: ``flush()`` has nothing left to do, and ``max_queue`` /
``flush_millis`` (TensorFlow's buffering) are checked and kept only. ``tf.summary.image``
encodes PNGs with Pillow (``pip install pillow``); the other summaries need nothing beyond
NumPy.

>>> import tempfile, convnp as tf
>>> bool(tf.summary.scalar("loss", 0.5, step=0))   # no default writer: nothing written
False
>>> writer = tf.summary.create_file_writer(tempfile.mkdtemp())
>>> with writer.as_default(step=3):
...     bool(tf.summary.scalar("loss", 0.5))
True
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import numpy as np

from convnp.tensor.control import current_name_scope, name_scope
from convnp.tensor.eager import EagerTensor
from convnp.tensor.ops import convert_to_tensor
from convnp.tensor.tape import new_tensor, value_of
from convnp.tfevents import EventFileWriter, tensor_proto, tensor_value

__all__ = ["SummaryWriter", "create_file_writer", "create_noop_writer", "experimental",
           "flush", "histogram", "image", "record_if", "scalar", "should_record_summaries",
           "text", "write"]

DEFAULT_BUCKET_COUNT = 30


class _State(threading.local):
    """This thread's default writer, default step and recording condition."""

    writer: SummaryWriter | None = None
    step = None
    condition = True


_state = _State()


def _flag(value: bool) -> EagerTensor:
    return new_tensor(np.asarray(bool(value)))


class SummaryWriter:
    """What `create_file_writer` and `create_noop_writer` return: a destination for
    summaries, made the default with `as_default` or `set_as_default`."""

    def __init__(self):
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"SummaryWriter {self!r} is already closed")

    def set_as_default(self, step=None) -> None:
        """Make this writer the default of the calling thread from now on (and ``step``, when
        given, the default step)."""
        self._check_open()
        if step is not None:
            _check_step(step, "set_as_default")
        _state.writer = self
        if step is not None:
            _state.step = step

    @contextlib.contextmanager
    def as_default(self, step=None) -> Iterator[SummaryWriter]:
        """``with writer.as_default():`` this writer is the default inside the block (and
        ``step``, when given, the default step); the previous ones come back after it."""
        self._check_open()
        if step is not None:
            _check_step(step, "as_default")
        writer, default_step = _state.writer, _state.step
        _state.writer = self
        if step is not None:
            _state.step = step
        try:
            yield self
        finally:
            _state.writer = writer
            if step is not None:
                _state.step = default_step
            if not self._closed:
                self.flush()

    def init(self) -> None:
        """TensorFlow's (re)initialization: the writer is ready from its creation, so this
        only refuses a closed writer, as TensorFlow does."""
        self._check_open()

    def flush(self) -> None:
        """Nothing is held back: every summary is in the file once its function returned."""

    def close(self) -> None:
        """Stop this writer: using it as the default or writing to it afterwards raises
        ``RuntimeError``."""
        self._closed = True

    def _write(self, step: int, values: list[bytes]) -> None:
        raise NotImplementedError

    _records = False  # whether summaries written with it as the default are recorded


class _FileWriter(SummaryWriter):
    _records = True

    def __init__(self, events: EventFileWriter):
        super().__init__()
        self._events = events

    @property
    def path(self) -> str:
        """The event file this writer appends to."""
        return os.fspath(self._events.open())

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<convnp.summary file writer {self.path!r} ({state})>"

    def _write(self, step: int, values: list[bytes]) -> None:
        self._check_open()
        self._events.add_values(step, values)

    def _write_raw(self, step: int, summaries: list[bytes]) -> None:
        self._check_open()
        self._events.add_summaries(step, summaries)


class _NoopWriter(SummaryWriter):
    def __repr__(self) -> str:
        return "<convnp.summary no-op writer>"


def _check_queue_option(value, name: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                              or value < 0):
        raise ValueError(f"create_file_writer: {name} must be a non-negative int or None, got "
                         f"{value!r}")


def create_file_writer(logdir, max_queue=None, flush_millis=None, filename_suffix=None,
                       name=None, experimental_trackable=False,
                       experimental_mesh=None) -> SummaryWriter:
    """A writer appending to a new event file in ``logdir`` (made now, with its directories).

    Args:
        logdir: the directory (``str`` or path); TensorBoard reads every file under it.
        max_queue, flush_millis: TensorFlow's buffering; checked, then unused (each summary is
            appended as it is written).
        filename_suffix: replaces the ``.v2`` that ends the file name.
        name, experimental_trackable: accepted for TensorFlow's signature.
        experimental_mesh: must be None (no DTensor meshes in convnp).
    """
    if isinstance(logdir, bytes):
        logdir = logdir.decode()
    if not isinstance(logdir, (str, os.PathLike)):
        raise TypeError(f"create_file_writer: logdir must be a path (str), got "
                        f"{type(logdir).__name__}")
    if not os.fspath(logdir):
        raise ValueError("create_file_writer: logdir must not be empty")
    _check_queue_option(max_queue, "max_queue")
    _check_queue_option(flush_millis, "flush_millis")
    if filename_suffix is not None and not isinstance(filename_suffix, str):
        raise TypeError(f"create_file_writer: filename_suffix must be a str, got "
                        f"{type(filename_suffix).__name__}")
    if experimental_mesh is not None:
        raise ValueError("create_file_writer: experimental_mesh is not supported by convnp "
                         "(no DTensor); leave it None")
    events = EventFileWriter(os.fspath(logdir), filename_suffix)
    events.open()  # TensorFlow makes the file when the writer is created
    return _FileWriter(events)


def writer_for(events: EventFileWriter) -> SummaryWriter:
    """A writer appending to the file of ``events`` (made on the first summary if it is not
    yet): convnp's helper for the ``TensorBoard`` callback, which makes its event files the
    default writers of a training run."""
    if not isinstance(events, EventFileWriter):
        raise TypeError(f"writer_for: expected a convnp.tfevents.EventFileWriter, got "
                        f"{type(events).__name__}")
    return _FileWriter(events)


def create_noop_writer() -> SummaryWriter:
    """A writer that records nothing: summaries written with it as the default return False."""
    return _NoopWriter()


def flush(writer=None, name=None) -> None:
    """Flush ``writer`` (default: the thread's default writer, if any)."""
    target = _state.writer if writer is None else writer
    if target is not None:
        if not isinstance(target, SummaryWriter):
            raise TypeError(f"flush: expected a SummaryWriter, got {type(target).__name__}")
        target.flush()


@contextlib.contextmanager
def record_if(condition) -> Iterator[None]:
    """Write summaries inside the block only when ``condition`` holds: a bool, a boolean
    tensor, or a callable returning one (called at each summary, e.g.
    ``lambda: step % 100 == 0``)."""
    if not callable(condition):
        _truth(condition, "record_if")
    previous = _state.condition
    _state.condition = condition
    try:
        yield
    finally:
        _state.condition = previous


def _truth(value, who: str) -> bool:
    array = np.asarray(value_of(value))
    if array.shape != () or array.dtype.kind not in "biu":
        raise TypeError(f"{who}: expected a boolean (or a callable returning one), got "
                        f"{value!r}")
    return bool(array)


def _recording() -> bool:
    writer = _state.writer
    if writer is None or not writer._records:
        return False
    condition = _state.condition
    return _truth(condition() if callable(condition) else condition, "record_if")


def should_record_summaries() -> EagerTensor:
    """True when a summary written now would be recorded (a default file writer and the
    `record_if` condition holds)."""
    return _flag(_recording())


def _check_step(step, who: str):
    array = np.asarray(value_of(step))
    if array.shape != () or array.dtype.kind not in "biu":
        raise TypeError(f"{who}: step must be an integer (a Python int, a NumPy integer or an "
                        f"integer scalar tensor/Variable), got {step!r}")
    return int(array)


def _step(step, who: str) -> int:
    if step is None:
        step = _state.step
        if step is None:
            raise ValueError(f"{who}: no step set; pass step=... or set a default with "
                             "tf.summary.experimental.set_step() or writer.as_default(step=...)")
    return _check_step(step, who)


def _check_name(name, who: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{who}: name must be a str, got {type(name).__name__}")
    return name


def _check_description(description, who: str) -> str:
    if description is not None and not isinstance(description, str):
        raise TypeError(f"{who}: description must be a str or None, got "
                        f"{type(description).__name__}")
    return description or ""


def _emit(who: str, name, step, make_value) -> EagerTensor:
    """Write ``make_value(tag)`` (a ``Summary.Value``) at ``step`` to the default writer when
    recording; the data is read and checked only then, as in TensorFlow."""
    _check_name(name, who)
    if not _recording():
        return _flag(False)
    step = _step(step, who)
    value = make_value(current_name_scope() + name)
    _state.writer._write(step, [value])
    return _flag(True)


def _metadata_bytes(metadata, who: str) -> bytes:
    if metadata is None:
        return b""
    if isinstance(metadata, (bytes, bytearray)):
        return bytes(metadata)
    serialize = getattr(metadata, "SerializeToString", None)
    if callable(serialize):
        return serialize()
    raise TypeError(f"{who}: metadata must be a SummaryMetadata message, its serialized bytes "
                    f"or None, got {type(metadata).__name__}")


def write(tag, tensor, step=None, metadata=None, name=None) -> EagerTensor:
    """Write any tensor under ``tag`` (the building block of the other summaries).

    ``tensor`` may be a callable returning the tensor, called only when recording.
    ``metadata`` is a ``SummaryMetadata`` message (anything with ``SerializeToString``), its
    serialized bytes, or None.
    """
    meta = _metadata_bytes(metadata, "write")

    def make(full_tag: str) -> bytes:
        data = tensor() if callable(tensor) else tensor
        # TensorFlow's dtypes for Python values (float32, int32), as tf.constant makes them
        array = np.asarray(value_of(convert_to_tensor(data)))
        return tensor_value(full_tag, tensor_proto(array), metadata=meta)

    return _emit("write", tag, step, make)


def scalar(name, data, step=None, description=None) -> EagerTensor:
    """A scalar (a number, a 0-d array or tensor), stored as float32 for TensorBoard's
    Scalars dashboard."""
    note = _check_description(description, "scalar")

    def make(tag: str) -> bytes:
        array = np.asarray(value_of(data))
        if array.dtype.kind not in "biuf":
            raise TypeError(f"scalar: data must be a number, got {array.dtype} ({data!r})")
        if array.shape != ():
            raise ValueError(f"scalar: expected scalar shape, saw shape: {array.shape}")
        with np.errstate(over="ignore"):
            value = array.astype(np.float32)
        return tensor_value(tag, tensor_proto(value), "scalars", note)

    return _emit("scalar", name, step, make)


def _histogram_table(data, buckets: int) -> np.ndarray:
    """``(buckets, 3)`` rows of (left edge, right edge, count): equal-width buckets from the
    smallest value to the largest, each holding the values at or above its left edge (the
    largest value in the last one). All values equal: every edge is that value and the last
    bucket holds them all; no values: all zeros."""
    x = np.asarray(value_of(data))
    if x.dtype.kind not in "biuf":
        raise TypeError(f"histogram: data must hold numbers, got {x.dtype}")
    x = x.astype(np.float64).ravel()
    table = np.zeros((buckets, 3))
    if buckets == 0 or x.size == 0:
        return table
    if not np.all(np.isfinite(x)):
        raise ValueError("histogram: data holds NaN or infinite values")
    low, high = x.min(), x.max()
    if low == high:
        table[:, :2] = low
        table[-1, 2] = x.size
        return table
    width = (high - low) / buckets
    index = np.minimum(np.floor((x - low) / width).astype(np.int64), buckets - 1)
    edges = np.linspace(low, high, buckets + 1)
    edges[-1] = high
    table[:, 0], table[:, 1] = edges[:-1], edges[1:]
    table[:, 2] = np.bincount(index, minlength=buckets)
    return table


def _bucket_count(buckets) -> int:
    count = DEFAULT_BUCKET_COUNT if buckets is None else buckets
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
        raise ValueError(f"histogram: buckets must be a non-negative int or None, got "
                         f"{buckets!r}")
    return int(count)


def histogram_value(tag: str, data, buckets=None, description: str = "") -> bytes:
    """The ``Summary.Value`` `histogram` writes (convnp's helper, also used by the
    ``TensorBoard`` callback's ``histogram_freq``)."""
    table = _histogram_table(data, _bucket_count(buckets))
    return tensor_value(tag, tensor_proto(table), "histograms", description)


def histogram(name, data, step=None, buckets=None, description=None) -> EagerTensor:
    """The distribution of ``data`` (any shape, flattened) in ``buckets`` equal-width buckets
    (default 30), for TensorBoard's Histograms and Distributions dashboards."""
    note = _check_description(description, "histogram")
    _bucket_count(buckets)
    return _emit("histogram", name, step,
                 lambda tag: histogram_value(tag, data, buckets, note))


def _as_uint8(images: np.ndarray) -> np.ndarray:
    """TensorFlow's conversion to uint8 pixels, saturating: floats in [0, 1] scaled by
    255.5 and truncated (NaN as 0), wider integers shifted down to their top 8 bits."""
    if images.dtype == np.uint8:
        return images
    if images.dtype.kind == "f":
        x = images.astype(np.float32) if images.dtype.itemsize < 4 else images
        scaled = np.nan_to_num(x * x.dtype.type(255.5), nan=0.0, posinf=255.0, neginf=0.0)
        return np.clip(scaled, 0, 255).astype(np.uint8)
    if images.dtype.kind in "iu":
        bits = np.iinfo(images.dtype).bits - (1 if images.dtype.kind == "i" else 0)
        x = np.maximum(images.astype(np.int64 if images.dtype.kind == "i" else np.uint64), 0)
        shifted = x >> (bits - 8) if bits >= 8 else x << (8 - bits)
        return np.minimum(shifted, 255).astype(np.uint8)
    raise TypeError(f"image: data must be uint8, float (values in [0, 1]) or integer images, "
                    f"got {images.dtype}")


def _check_max_outputs(max_outputs) -> int:
    if (isinstance(max_outputs, bool) or not isinstance(max_outputs, (int, np.integer))
            or max_outputs < 0):
        raise ValueError(f"image: max_outputs must be a non-negative int, got {max_outputs!r}")
    return int(max_outputs)


def image_value(tag: str, data, max_outputs=3, description: str = "") -> bytes:
    """The ``Summary.Value`` `image` writes (convnp's helper, also used by the ``TensorBoard``
    callback's ``write_images``)."""
    count = _check_max_outputs(max_outputs)
    batch = np.asarray(value_of(data))
    if batch.ndim != 4:
        raise ValueError(f"image: data must have rank 4 (k, h, w, c), got shape {batch.shape}")
    if not 1 <= batch.shape[-1] <= 4:
        raise ValueError(f"image: images must have 1, 2, 3 or 4 channels, got "
                         f"{batch.shape[-1]}")
    pixels = _as_uint8(batch[:count])
    try:
        import PIL  # noqa: F401
    except ImportError as exc:
        raise ImportError("tf.summary.image needs Pillow to encode PNGs: "
                          "pip install pillow") from exc
    from convnp.tensor.image import encode_png

    height, width = batch.shape[1:3]
    strings = [str(width).encode(), str(height).encode()]
    strings += [encode_png(picture) for picture in pixels]
    return tensor_value(tag, tensor_proto(np.array(strings, dtype=object)), "images",
                        description)


def image(name, data, step=None, max_outputs=3, description=None) -> EagerTensor:
    """The first ``max_outputs`` images of a ``(k, h, w, c)`` batch (``c`` in 1..4: grey,
    grey + alpha, RGB, RGBA), uint8 or float in [0, 1] (clipped), as PNGs for TensorBoard's
    Images dashboard. Needs Pillow."""
    note = _check_description(description, "image")
    _check_max_outputs(max_outputs)
    return _emit("image", name, step,
                 lambda tag: image_value(tag, data, max_outputs, note))


def text(name, data, step=None, description=None) -> EagerTensor:
    """A string (Markdown), or an array of them, for TensorBoard's Text dashboard."""
    note = _check_description(description, "text")

    def make(tag: str) -> bytes:
        array = (np.array(data, dtype=object) if isinstance(data, (str, bytes))
                 else np.asarray(value_of(data)))
        if array.dtype.kind == "O":
            ok = all(isinstance(x, (str, bytes)) for x in array.ravel().tolist())
        else:
            ok = array.dtype.kind in "US"
        if not ok:
            raise TypeError(f"text: data must be a string or strings, got {array.dtype}")
        return tensor_value(tag, tensor_proto(array), "text", note)

    return _emit("text", name, step, make)


class experimental:
    """``tf.summary.experimental``: the default step, summary scopes, raw ``Summary``
    messages."""

    @staticmethod
    def set_step(step) -> None:
        """The step summaries take when given none (this thread; None clears it). A
        ``Variable`` is read at each summary, so ``optimizer.iterations`` follows training."""
        if step is not None:
            _check_step(step, "set_step")
        _state.step = step

    @staticmethod
    def get_step():
        """The default step set by `set_step` or ``as_default(step=...)``, or None."""
        return _state.step

    @staticmethod
    @contextlib.contextmanager
    def summary_scope(name, default_name=None, values=None) -> Iterator[tuple[str, str]]:
        """``with summary_scope("loss") as (tag, scope):``: a name scope for one summary;
        ``tag`` is the full tag (``"train/loss"``), ``scope`` the same with a ``/``."""
        scope_name = name or default_name
        if not isinstance(scope_name, str):
            raise TypeError(f"summary_scope: name must be a str, got {name!r}")
        with name_scope(scope_name) as scope:
            yield scope.rstrip("/"), scope

    @staticmethod
    def write_raw_pb(tensor, step=None, name=None) -> EagerTensor:
        """Write serialized ``Summary`` messages (bytes, or a list of them) as they are."""
        items = [tensor] if isinstance(tensor, (bytes, bytearray)) else list(
            np.asarray(value_of(tensor), dtype=object).ravel())
        if not all(isinstance(x, (bytes, bytearray)) for x in items):
            raise TypeError("write_raw_pb: expected serialized Summary messages (bytes)")
        if not isinstance(_state.writer, _FileWriter) or not _recording():
            return _flag(False)
        _state.writer._write_raw(_step(step, "write_raw_pb"), [bytes(x) for x in items])
        return _flag(True)
