"""The ``convnp`` command: train, evaluate, predict with and summarise the course's models.

::

    convnp train happy                      # Happy House model on the built-in smiles data
    convnp train signs --epochs 40          # SIGNS model on the built-in 6-class hand data
    convnp train happy --data test_happy.h5 --out runs/happy
    convnp train runs/happy/model.convnp --epochs 5       # continue training a saved model
    convnp evaluate runs/happy/model.convnp --data smiles
    convnp predict runs/happy/model.convnp face1.png face2.jpg
    convnp summary signs
    convnp export runs/happy/model.convnp happy.onnx     # ONNX graph for onnxruntime
    convnp show runs/happy/model.convnp face.png --what all --out pictures
    convnp show runs/signs/model.convnp --data signs      # confusion matrix, misclassified
    convnp train signs --dashboard                        # live page on 127.0.0.1
    convnp dashboard runs/signs                           # replay a finished run's page

Data (``--data``):

* a built-in dataset name (``smiles`` / ``happy``, ``fingers`` / ``signs``): its own train and
  test splits;
* a course ``.h5`` file (or several, comma-separated, e.g. ``train_signs.h5,test_signs.h5``):
  train and test splits as stored; when only one split is present (the public course files
  hold only the test split) its first two thirds train and its last third is the test split;
* a directory with one sub-folder of PNG/JPEG images per class: images are resized to the
  model input, shuffled with ``--seed``, and the last third is the test split.

Defaults keep a run to under a minute on a laptop CPU: ``happy`` 10 epochs, batch 16 (the
course's settings) on 600 smiles images (about 15 s, test accuracy about 0.9); ``signs`` 40
epochs, batch 16 on 1,080 hand images (about 35 s, test accuracy about 0.6; the course's 100
epochs at batch 64 take several minutes).
Unless ``--validation-split`` is given, the test split is also the validation data shown per
epoch (as the course's ``fit(..., validation_data=test_dataset)`` does).

``train`` writes ``model.convnp``, ``history.csv`` and ``history.png`` into ``--out`` (default
``runs/<UTC timestamp>``) only after training succeeded; each file is written atomically.
Any expected failure (missing or corrupt file, bad argument, data that does not fit the model)
prints one line ``convnp: error: ...`` to stderr and exits with status 2 (set the environment
variable ``CONVNP_TRACEBACK=1`` to see the full traceback instead).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

__all__ = ["CLIError", "build_parser", "main"]

PROG = "convnp"
SPEC_MODELS = ("happy", "signs")
# (epochs, batch size) when not given: about a minute each on a laptop CPU
# signs: the course's 100 epochs at batch 64 take minutes; 40 epochs at batch 16 make as many
# updates in less time (test accuracy about 0.6 on the built-in hand images)
DEFAULTS = {"happy": (10, 16), "signs": (40, 16)}
SAVED_MODEL_DEFAULT_EPOCHS = 10
TEST_FRACTION = 1.0 / 3.0


class CLIError(Exception):
    """An expected failure: printed as one ``convnp: error: ...`` line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (not the usage block) and exit 2."""

    def error(self, message: str) -> NoReturn:
        _fail(f"{message} (see '{self.prog} --help')")


def _fail(message: str) -> NoReturn:
    line = _printable(" ".join(str(message).split()))  # one line, no terminal escapes
    print(f"{PROG}: error: {line}", file=sys.stderr)
    sys.exit(2)


# -- argument types -------------------------------------------------------------------------


def _number_type(convert, accept, expected: str):
    """An argparse ``type=``: ``convert(text)``, refused unless ``accept(value)``."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    return parse


_positive_int = _number_type(int, lambda v: v >= 1, "a positive integer")
_seed = _number_type(int, lambda v: v >= 0, "an integer >= 0")
_port = _number_type(int, lambda v: 0 <= v <= 65535, "a port number in 0..65535")
_fraction = _number_type(float, lambda v: math.isfinite(v) and 0.0 <= v < 1.0,
                         "a number in [0, 1)")


# -- the parser -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``convnp`` argument parser (sub-commands train, evaluate, predict, summary)."""
    parser = _Parser(
        prog=PROG,
        description="Train, evaluate and use the course's CNNs (happyModel, SIGNS) with convnp.",
        epilog="Run 'convnp <command> --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    data_help = ("built-in dataset (smiles|happy, fingers|signs), a course .h5 file (or "
                 "TRAIN.h5,TEST.h5), or a folder with one sub-folder of images per class")

    train = sub.add_parser(
        "train", help="train a spec model (or continue a saved one) and save it",
        description="Train happy or signs (or continue a saved .convnp model), then write "
                    "model.convnp, history.csv and history.png into --out. A single-split .h5 "
                    "file or an image folder: the last third is the test split.")
    train.add_argument("model", metavar="MODEL",
                       help="'happy', 'signs', or a saved .convnp file to continue training")
    train.add_argument("--data", help=data_help + " (default: smiles for happy, signs for "
                       "signs, the training data for a saved model)")
    train.add_argument("--epochs", type=_positive_int,
                       help="epochs to train (default: happy 10, signs 40, saved model 10)")
    train.add_argument("--batch-size", type=_positive_int,
                       help="batch size (default: happy 16, signs 16, saved model: as before)")
    train.add_argument("--validation-split", type=_fraction, default=0.0,
                       help="fraction of the training data held out for validation (default 0: "
                            "validate on the test split)")
    train.add_argument("--seed", type=_seed, default=0,
                       help="seed for weights, shuffling and built-in data (default 0)")
    train.add_argument("--out", help="output directory (default runs/<UTC timestamp>)")
    train.add_argument("--dashboard", action="store_true",
                       help="serve a live page of the run on 127.0.0.1 (address printed); it "
                            "stays up after training until Ctrl-C")
    _add_serve_arguments(train)
    train.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                       help="0 silent, 1 progress bar (default), 2 one line per epoch")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser(
        "evaluate", help="loss and accuracy of a saved model on data",
        description="Print the loss and accuracy of a saved model on the test split of --data "
                    "(same splits as train).")
    evaluate.add_argument("model", metavar="MODEL_FILE", help="a .convnp file")
    evaluate.add_argument("--data", help=data_help + " (default: the data it was trained on, "
                          "if built-in)")
    evaluate.add_argument("--split", choices=("test", "train", "all"), default="test",
                          help="which part of the data (default: test)")
    evaluate.add_argument("--batch-size", type=_positive_int, default=32,
                          help="batch size (default 32)")
    evaluate.add_argument("--seed", type=_seed, default=0,
                          help="seed of the built-in data / folder shuffle (default 0)")
    evaluate.set_defaults(func=cmd_evaluate)

    predict = sub.add_parser(
        "predict", help="classify PNG/JPEG images with a saved model",
        description="Print the predicted class and its probability for each image, one line "
                    "per image.")
    predict.add_argument("model", metavar="MODEL_FILE", help="a .convnp file")
    predict.add_argument("images", metavar="IMAGE", nargs="+", help="PNG or JPEG files")
    predict.add_argument("--resize", action="store_true",
                         help="resize images to the model input (default: a size mismatch is "
                              "an error)")
    predict.set_defaults(func=cmd_predict)

    summary = sub.add_parser(
        "summary", help="print a model's layer table",
        description="Print model.summary() of a spec model or a saved .convnp file.")
    summary.add_argument("model", metavar="MODEL", help="'happy', 'signs' or a .convnp file")
    summary.set_defaults(func=cmd_summary)

    export = sub.add_parser(
        "export", help="write a model as an ONNX file",
        description="Export a spec model or a saved .convnp file to ONNX (NHWC float32 input, "
                    "as the model). The file is written whole or not at all.")
    export.add_argument("model", metavar="MODEL", help="'happy', 'signs' or a .convnp file")
    export.add_argument("out", metavar="OUT.onnx", help="path of the ONNX file to write")
    export.add_argument("--opset", type=_positive_int, default=17,
                        help="ONNX opset version, 13 to 21 (default 17)")
    export.set_defaults(func=cmd_export)
    _add_show_parsers(sub, data_help)
    return parser


def _add_show_parsers(sub, data_help: str) -> None:
    from convnp.app.show import CHOICES

    show = sub.add_parser(
        "show", help="draw filters, feature maps, saliency, Grad-CAM (or, with --data, the "
                     "confusion matrix and misclassified images) as PNG files")
    show.set_defaults(func=cmd_show)
    show.add_argument("model", metavar="MODEL", help="'happy', 'signs' or a .convnp file")
    show.add_argument("image", metavar="IMAGE", nargs="?", help="a PNG or JPEG file")
    show.add_argument("--what", choices=CHOICES, default="all",
                      help="which pictures of IMAGE (default all; filters need no image)")
    show.add_argument("--layer", help="layer name for filters, feature maps and Grad-CAM")
    show.add_argument("--class", dest="class_index", type=_seed, default=None,
                      help="class index to explain (default: the predicted class)")
    show.add_argument("--data", help=data_help + ": draw the confusion matrix and the "
                                     "misclassified images of its test split")
    show.add_argument("--resize", action="store_true",
                      help="resize IMAGE to the model input instead of refusing other sizes")
    show.add_argument("--seed", type=_seed, default=0, help="seed for --data (default 0)")
    show.add_argument("--out", default=".", help="directory for the PNG files (default .)")

    dashboard = sub.add_parser(
        "dashboard", help="serve the page of a finished run (history.csv and its pictures) "
                          "until Ctrl-C")
    dashboard.set_defaults(func=cmd_dashboard)
    dashboard.add_argument("run", metavar="RUN_DIR", help="the --out directory of convnp train")
    _add_serve_arguments(dashboard)


def _add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address for the page (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=_port, default=0, help="port (default: a free one)")


def _version() -> str:
    import convnp

    return str(getattr(convnp, "__version__", "unknown"))


# -- models ---------------------------------------------------------------------------------


def _load_saved(path_text: str) -> Any:
    from convnp.io import saving

    path = Path(path_text)
    if not path.exists():
        raise CLIError(f"no such model file: {path}")
    if path.is_dir():
        raise CLIError(f"{path} is a directory, expected a .convnp model file")
    return saving.load_model(path)


def _model_from_arg(text: str, allow_spec: bool) -> tuple[Any, str | None]:
    """``(model, spec name or None)`` for a MODEL argument."""
    from convnp.app import zoo

    key = text.strip().lower()
    if allow_spec and key in SPEC_MODELS:
        return zoo.build(key), key
    path = Path(text)
    if path.exists() or path.suffix.lower() == ".convnp":
        return _load_saved(text), None
    expected = "'happy', 'signs' or a .convnp file" if allow_spec else "a .convnp file"
    raise CLIError(f"unknown model {text!r}: expected {expected}")


@dataclass
class Head:
    """What the model's output means: binary (one sigmoid unit) or ``classes`` softmax units."""

    classes: int
    binary: bool
    sparse: bool  # integer targets (sparse_categorical_crossentropy) instead of one-hot


def _head(model: Any) -> Head:
    shape = model.output_shape
    if isinstance(shape, list) or len(shape) != 2:
        raise CLIError(f"model output has shape {shape}; the convnp command handles "
                       "classifiers with one (batch, units) output")
    units = int(shape[1])
    loss = getattr(model, "loss", None)
    loss_name = loss if isinstance(loss, str) else getattr(loss, "name", "") or ""
    if units == 1:
        return Head(classes=2, binary=True, sparse=False)
    return Head(classes=units, binary=False, sparse="sparse" in loss_name.lower())


def _input_hw(model: Any) -> tuple[int, int, int]:
    shape = model.input_shape
    if isinstance(shape, list) or len(shape) != 4 or any(d is None for d in shape[1:]):
        raise CLIError(f"model input has shape {shape}; expected images (None, height, width, "
                       "channels)")
    return int(shape[1]), int(shape[2]), int(shape[3])


# -- data -----------------------------------------------------------------------------------


@dataclass
class Data:
    """Images float32 ``(m, h, w, c)`` in [0, 1] and int64 class indices ``(m,)``."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]

    def split(self, which: str) -> tuple[np.ndarray, np.ndarray]:
        if which == "train":
            return self.x_train, self.y_train
        if which == "test":
            return self.x_test, self.y_test
        return (np.concatenate([self.x_train, self.x_test]),
                np.concatenate([self.y_train, self.y_test]))


# a label this large in a file without list_classes is a damaged or hostile file, not a dataset
MAX_CLASSES = 65536


def _hold_out(x: np.ndarray, y: np.ndarray, what: str) -> tuple[np.ndarray, ...]:
    """First two thirds to train, last third to test."""
    n = len(x)
    n_test = round(n * TEST_FRACTION)
    if n < 3 or n_test < 1:
        raise CLIError(f"{what} has only {n} images; need at least 3 to hold out a test split")
    cut = n - n_test
    return x[:cut], y[:cut], x[cut:], y[cut:]


def _as_indices(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot rows
        return np.argmax(y, axis=1).astype(np.int64)
    return y.reshape(-1).astype(np.int64)


def _load_data(spec: str, image_shape: tuple[int, int, int], seed: int) -> Data:
    from convnp import datasets

    text = spec.strip()
    if text.lower() in datasets.available():
        (x_train, y_train), (x_test, y_test) = datasets.load(text.lower(), seed=seed)
        return Data(datasets.info(text.lower()).name, x_train, _as_indices(y_train), x_test,
                    _as_indices(y_test), datasets.class_names(text.lower()))
    parts = [p for p in text.split(",") if p]
    if parts and all(p.lower().endswith((".h5", ".hdf5")) for p in parts):
        for p in parts:
            if Path(p).is_dir():
                raise CLIError(f"{p} is a directory, expected a course .h5 file")
            if not Path(p).is_file():
                raise CLIError(f"no such data file: {p}")
        found = datasets.load_h5(*parts)
        classes = ([str(c) for c in found.classes] if found.classes is not None else None)
        if found.x_train is not None and found.x_test is not None:
            x_train, y_train, x_test, y_test = (found.x_train, found.y_train, found.x_test,
                                                found.y_test)
        else:
            x, y = ((found.x_train, found.y_train) if found.x_train is not None
                    else (found.x_test, found.y_test))
            x_train, y_train, x_test, y_test = _hold_out(x, y, text)
        if classes is None:
            top = int(max(y_train.max(initial=0), y_test.max(initial=0)))
            if top >= MAX_CLASSES:
                raise CLIError(f"{text}: the largest label is {top}, but without list_classes "
                               f"at most {MAX_CLASSES} classes (labels 0..{MAX_CLASSES - 1}) "
                               "are accepted")
            classes = [str(i) for i in range(max(top + 1, 2))]
        return Data(text, x_train, y_train, x_test, y_test, classes)
    path = Path(text)
    if path.is_dir():
        x, y, names = datasets.image_folder(path, image_size=image_shape[:2],
                                            color_mode=_color_mode(image_shape[2]),
                                            shuffle=True, seed=seed)
        x_train, y_train, x_test, y_test = _hold_out(x, y, str(path))
        return Data(str(path), x_train, y_train, x_test, y_test, list(names))
    if not path.exists():
        raise CLIError(f"no such data file or directory: {text!r} (built-in datasets: "
                       f"{', '.join(datasets.available())})")
    raise CLIError(f"unsupported data {text!r}: expected a built-in dataset name, a .h5 file "
                   "or a folder of class sub-folders")


def _color_mode(channels: int) -> str:
    modes = {1: "grayscale", 3: "rgb", 4: "rgba"}
    if channels not in modes:
        raise CLIError(f"model expects {channels} channels; images can give 1, 3 or 4")
    return modes[channels]


def _check_fit(model: Any, head: Head, data: Data, model_label: str) -> None:
    """Refuse data whose images or labels the model cannot take, before any training."""
    expected = _input_hw(model)
    got = tuple(data.x_train.shape[1:])
    if got != expected:
        raise CLIError(f"data {data.name!r} has images of shape {got}, model '{model_label}' "
                       f"expects {expected}")
    n_classes = len(data.class_names)
    if n_classes != head.classes:
        kind = "binary (2 classes)" if head.binary else f"{head.classes}-class"
        raise CLIError(f"labels do not fit the model: model '{model_label}' is {kind}, data "
                       f"{data.name!r} has {n_classes} classes ({', '.join(data.class_names)})")
    for split, y in (("train", data.y_train), ("test", data.y_test)):
        if y.size and (y.min() < 0 or y.max() >= head.classes):
            raise CLIError(f"labels do not fit the model: {split} labels of {data.name!r} range "
                           f"over [{y.min()}, {y.max()}], model '{model_label}' has "
                           f"{head.classes} classes")


def _targets(y: np.ndarray, head: Head) -> np.ndarray:
    if head.binary:
        return y.astype(np.float32).reshape(-1, 1)
    if head.sparse:
        return y.astype(np.int64)
    return np.eye(head.classes, dtype=np.float32)[y]


def _correct(model: Any, head: Head, x: np.ndarray, y: np.ndarray, batch_size: int) -> int:
    probs = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    if head.binary:
        predicted = (probs.reshape(-1) > 0.5).astype(np.int64)
    else:
        predicted = np.argmax(probs, axis=1)
    return int(np.sum(predicted == y))


def _evaluate(model: Any, head: Head, x: np.ndarray, y: np.ndarray,
              batch_size: int) -> tuple[float, int]:
    """Test loss and number of correct predictions."""
    result = model.evaluate(x, _targets(y, head), batch_size=batch_size, verbose=0)
    loss = float(result[0] if isinstance(result, (list, tuple)) else result)
    return loss, _correct(model, head, x, y, batch_size)


# -- output files ---------------------------------------------------------------------------


def _default_out() -> Path:
    return Path("runs") / time.strftime("%Y%m%d-%H%M%S", time.gmtime())


def _check_out(out: Path, need_parent: bool = False) -> None:
    """Refuse an ``--out`` directory this run could not write, before any work: the nearest
    existing folder (``out`` itself, or the ancestor it would be created under) must take a
    new file, tried for real (os.access says yes to root even on /proc). With
    ``need_parent``, only ``out`` itself may be created, not missing folders above it."""
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} exists and is not a directory")
    if need_parent and not out.exists() and not out.parent.is_dir():
        raise CLIError(f"--out {out}: no such directory {out.parent} (create it first)")
    for ancestor in (out, *out.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise CLIError(f"--out {out}: {ancestor} is not a directory")
            _try_writing_in(ancestor, out)
            break


def _try_writing_in(directory: Path, out: Path) -> None:
    import tempfile

    try:
        handle, name = tempfile.mkstemp(prefix=".convnp-write-check.", dir=directory)
    except OSError as exc:
        raise CLIError(f"--out {out}: cannot write in {directory} "
                       f"({exc.strerror or exc})") from None
    os.close(handle)
    os.unlink(name)


def _check_host(host: str, port: int) -> None:
    """Refuse an address no socket could listen on before any work (a name is resolved here;
    999.1.1.1 is not an IPv4 address and resolves to nothing)."""
    import socket

    try:
        socket.getaddrinfo(host, port or 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise CLIError(f"--host {_printable(host)}: not an address to listen on "
                       f"({reason})") from None


def _write_outputs(out: Path, model: Any, history: Any, metadata: dict[str, Any]) -> Path:
    """Write model.convnp, history.csv and history.png; all of them or none.

    They are written into a staging folder first. A new ``out`` is that folder renamed (it
    appears complete or not at all); into an existing ``out`` the three files are moved by
    renames only, so a killed run never leaves a half-written file or a mix of old and new
    ones beyond that instant. Staging folders of killed runs are removed by the next run.
    """
    import shutil
    import tempfile

    from convnp import plot
    from convnp.io import saving
    from convnp.io._files import remove_stale

    fresh = not out.exists()
    home = out.parent if fresh else out
    created = []
    path = home
    while not path.exists():
        created.append(path)
        path = path.parent
    home.mkdir(parents=True, exist_ok=True)
    remove_stale(home, ".convnp-train.")
    staging = Path(tempfile.mkdtemp(prefix=f".convnp-train.{os.getpid()}.", dir=home))
    names = ["model.convnp", "history.csv", "history.png"]
    try:
        saving.save_model(model, staging / names[0], metadata=metadata)
        plot.history_csv(history, staging / names[1])
        plot.history(history, staging / names[2],
                     title=f"convnp train {metadata.get('model', '')}")
        if fresh:
            os.rename(staging, out)
        else:
            for name in names:
                os.replace(staging / name, out / name)
            staging.rmdir()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for directory in created:  # innermost first; only the ones this run created
            try:
                directory.rmdir()
            except OSError:
                pass
        raise
    return out / names[0]


# -- commands -------------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    from convnp.random import set_seed

    out = Path(args.out) if args.out else _default_out()
    _check_out(out)
    if args.dashboard:
        _check_host(args.host, args.port)
    set_seed(args.seed)  # before building: the initial weights come from this generator
    model, spec = _model_from_arg(args.model, allow_spec=True)
    metadata = dict(getattr(model, "metadata", None) or {})
    if spec is None and not getattr(model, "_compiled", False):
        raise CLIError(f"{args.model} holds an uncompiled model; it cannot be trained further")
    label = spec or Path(args.model).name
    head = _head(model)
    # default data: the spec's own built-in dataset, or what a saved model was trained on
    data_spec = args.data or {"happy": "smiles", "signs": "signs"}.get(spec or "") \
        or metadata.get("data")
    if not data_spec:
        raise CLIError(f"{args.model} does not record its training data; pass --data")
    default_epochs, default_batch = DEFAULTS.get(
        spec or "", (SAVED_MODEL_DEFAULT_EPOCHS, _metadata_int(metadata, "batch_size", 32)))
    epochs = args.epochs or default_epochs
    batch_size = args.batch_size or default_batch

    data = _load_data(data_spec, _input_hw(model), args.seed)
    _check_fit(model, head, data, label)
    if args.validation_split and int(len(data.x_train) * (1 - args.validation_split)) < 1:
        raise CLIError(f"--validation-split {args.validation_split} leaves no training images")
    validation = None if args.validation_split else (data.x_test, _targets(data.y_test, head))

    start = _metadata_int(metadata, "epochs", 0) if spec is None else 0
    dashboard = _start_dashboard(args, data, label)
    try:
        started = time.perf_counter()
        history = model.fit(data.x_train, _targets(data.y_train, head), epochs=start + epochs,
                            initial_epoch=start, batch_size=batch_size,
                            validation_split=args.validation_split, validation_data=validation,
                            verbose=args.verbose, callbacks=[dashboard] if dashboard else None)
        seconds = time.perf_counter() - started
        losses = history.history.get("loss", [])
        if not losses or not all(math.isfinite(v) for v in losses):
            raise CLIError("training diverged (the loss is not finite); nothing was saved")
    except BaseException:
        _stop_dashboard(dashboard)
        raise

    loss, correct = _evaluate(model, head, data.x_test, data.y_test, batch_size)
    total = len(data.y_test)
    metadata.update({
        "model": spec or metadata.get("model", label),
        "class_names": list(data.class_names),
        "data": data.name,
        "epochs": start + len(losses),
        "batch_size": batch_size,
        "seed": args.seed,
        "test_loss": loss,
        "test_accuracy": correct / total if total else None,
    })
    saved = _write_outputs(out, model, history, metadata)
    epochs_text = f"{len(losses)} epoch{'s' if len(losses) != 1 else ''}"
    print(f"test accuracy: {correct / total:.4f} ({correct}/{total}), test loss: {loss:.4f}, "
          f"{epochs_text} in {seconds:.1f}s — model saved to {saved}", flush=True)
    if dashboard is not None:
        from convnp.app.dashboard import save_pictures

        try:
            save_pictures(dashboard, out)
            print(f"training finished; the page stays up at {dashboard.url} until Ctrl-C "
                  f"(replay it later with: convnp dashboard {out})", flush=True)
            _serve_until_interrupted()
        finally:
            _stop_dashboard(dashboard)
    return 0


def _start_dashboard(args: argparse.Namespace, data: Data, label: str):
    """The live page's callback, already serving (its address printed), or None."""
    if not args.dashboard:
        return None
    from convnp.app.dashboard import Dashboard

    image = data.x_test[0] if len(data.x_test) else data.x_train[0]
    dashboard = Dashboard(image=image, host=args.host, port=args.port,
                          title=f"convnp train {label}")
    dashboard.start()
    return dashboard


def _stop_dashboard(dashboard) -> None:
    if dashboard is not None:
        from convnp.app.dashboard import remove_log_dir

        dashboard.close()
        remove_log_dir(dashboard)


def _serve_until_interrupted() -> None:
    """Block until Ctrl-C (SIGINT); the page's server runs in its own thread."""
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped serving", flush=True)


def cmd_evaluate(args: argparse.Namespace) -> int:
    model, _ = _model_from_arg(args.model, allow_spec=False)
    if not getattr(model, "_compiled", False):
        raise CLIError(f"{args.model} holds an uncompiled model (no loss to evaluate)")
    metadata = getattr(model, "metadata", None) or {}
    data_spec = args.data
    if not data_spec:
        data_spec = metadata.get("data")
        if not isinstance(data_spec, str) or not data_spec:
            raise CLIError(f"{args.model} does not record its data; pass --data")
        # the file chose this path, not the user: say which data is read
        print(f"{PROG}: no --data given; evaluating on the data recorded in the model file: "
              f"{_printable(data_spec)}", file=sys.stderr)
    head = _head(model)
    data = _load_data(data_spec, _input_hw(model), args.seed)
    _check_fit(model, head, data, Path(args.model).name)
    x, y = data.split(args.split)
    loss, correct = _evaluate(model, head, x, y, args.batch_size)
    print(f"{_printable(data.name)} ({args.split}, {len(y)} images): loss {loss:.4f}, accuracy "
          f"{correct / len(y):.4f} ({correct}/{len(y)})")
    return 0


def _bilinear():
    from PIL import Image

    return Image.Resampling.BILINEAR


def _read_image(path: Path, shape: tuple[int, int, int], resize: bool) -> np.ndarray:
    from convnp.datasets.folder import read_image

    height, width, channels = shape
    if not path.exists():
        raise CLIError(f"no such image: {path}")
    try:
        pixels = read_image(path, _color_mode(channels))
        if pixels.shape[:2] != (height, width):
            if not resize:
                raise CLIError(f"image {path} is {pixels.shape[1]}x{pixels.shape[0]} (width x "
                               f"height), the model expects {width}x{height}; pass --resize "
                               "to resize it")
            pixels = read_image(path, _color_mode(channels), (height, width),
                                resample=_bilinear())
        return pixels.astype(np.float32) / np.float32(255.0)
    except ImportError:
        raise CLIError("reading images needs Pillow: pip install pillow") from None
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def cmd_predict(args: argparse.Namespace) -> int:
    model, _ = _model_from_arg(args.model, allow_spec=False)
    head = _head(model)
    shape = _input_hw(model)
    # every image is read and checked before anything is printed
    x = np.stack([_read_image(Path(p), shape, args.resize) for p in args.images])
    probs = np.asarray(model.predict(x, verbose=0))
    names = (getattr(model, "metadata", None) or {}).get("class_names")
    if not (isinstance(names, list) and len(names) == head.classes):
        names = [str(i) for i in range(head.classes)]
    lines = []
    for path, p in zip(args.images, probs):
        if head.binary:
            positive = float(p.reshape(-1)[0])
            index, prob = (1, positive) if positive > 0.5 else (0, 1.0 - positive)
        else:
            index = int(np.argmax(p))
            prob = float(p[index])
        lines.append(f"{_printable(path)}: {_printable(names[index])} ({prob:.4f})")
    print("\n".join(lines))
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    model, _ = _model_from_arg(args.model, allow_spec=True)
    model.summary()
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from convnp.io import onnx

    out = Path(args.out)
    if out.suffix.lower() != ".onnx":
        raise CLIError(f"the output file must end in .onnx, got {out}")
    if not out.parent.is_dir():
        raise CLIError(f"no such directory for the output file: {out.parent}")
    model, _ = _model_from_arg(args.model, allow_spec=True)
    onnx.export(model, out, opset=args.opset)
    print(f"ONNX model (opset {args.opset}) written to {out}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from convnp.app import show

    # as export: the folder --out names may be new, the ones above it must exist
    _check_out(Path(args.out), need_parent=True)
    if args.image is None and args.data is None and args.what not in ("filters", "all"):
        raise CLIError(f"--what {args.what} needs an IMAGE")
    model, _ = _model_from_arg(args.model, allow_spec=True)
    if args.class_index is not None:
        _check_class(model, args.class_index)
    figures = {}
    image = None
    if args.image is not None:
        image = _read_image(Path(args.image), _input_hw(model), args.resize)
    if args.image is not None or args.data is None:
        figures.update(show.draw(model, args.what, image, layer=args.layer,
                                 class_index=args.class_index))
    if args.data is not None:
        data = _load_data(args.data, _input_hw(model), args.seed)
        head = _head(model)
        _check_fit(model, head, data, Path(args.model).name)
        figures.update(show.draw_evaluation(model, data.x_test, data.y_test, data.class_names))
    for path in show.write(figures, args.out):
        print(path)
    return 0


def _check_class(model: Any, class_index: int) -> None:
    """``--class`` must name one of the model's classes (a one-unit sigmoid output has one
    score, class 0)."""
    shape = model.output_shape
    if isinstance(shape, list) or len(shape) != 2 or shape[1] is None:
        return  # not a (batch, units) classifier: the drawing code checks
    units = int(shape[1])
    if not 0 <= class_index < units:
        raise CLIError(f"--class {class_index} is out of range: the model has {units} output "
                       f"unit{'s' if units != 1 else ''}, so --class must be in "
                       f"[0, {units - 1}]")


def cmd_dashboard(args: argparse.Namespace) -> int:
    from convnp.app.dashboard import DashboardServer, replay_state

    _check_host(args.host, args.port)
    state = replay_state(args.run)
    try:
        server = DashboardServer(state, host=args.host, port=args.port)
    except OSError as exc:
        raise CLIError(f"cannot listen on --host {_printable(args.host)} --port {args.port}: "
                       f"{exc.strerror or exc}") from None
    try:
        print(server.url, flush=True)
        print(f"replaying {args.run}: {state.epoch} epochs; Ctrl-C to stop", flush=True)
        _serve_until_interrupted()
    finally:
        server.close()
    return 0


# -- entry point ----------------------------------------------------------------------------


def _metadata_int(metadata: dict[str, Any], key: str, default: int) -> int:
    """An integer the model file's metadata records (a clear error if it is something else)."""
    value = metadata.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CLIError(f"the model file's metadata has {key}={_printable(repr(value))}, "
                       "expected a non-negative integer")
    return value


def _printable(text: Any) -> str:
    """``text`` safe to print: control characters (terminal escapes, newlines) from a model
    file's metadata or a file name are shown escaped, never sent to the terminal."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    text = str(exc) or type(exc).__name__
    if isinstance(exc, KeyError):
        text = f"missing key {text}"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``convnp`` command; returns the exit status (0 ok, 2 for an expected error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe (`convnp ... | head`) shows up here, not at exit
        return status
    except BrokenPipeError:
        # the reader went away: stop quietly (no traceback now or at interpreter exit)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1
    except CLIError as exc:
        _fail(str(exc))
    except (ValueError, TypeError, OSError, ImportError, KeyError, NotImplementedError,
            RuntimeError, OverflowError, MemoryError) as exc:
        if os.environ.get("CONVNP_TRACEBACK"):
            raise  # for debugging convnp itself: the full traceback instead of one line
        _fail(_message(exc))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
