"""What the ``*_dataset_from_directory`` loaders share: checking the common arguments, listing
the files with their labels in Keras's order, the validation split, and the label encodings.

The listing follows Keras's ``index_directory``: with ``labels="inferred"`` the classes are the
sorted sub-folders of ``directory`` that do not start with a dot (or ``class_names``, in that
order); each class folder is walked recursively, the folders visited in sorted order of their
path *strings* (so ``a/x`` comes after ``a b``, and files directly in a folder before those in
its sub-folders), the files of each folder sorted by name and kept when their lower-cased name
ends with one of the extensions (hidden files too). With ``labels=None`` or a list of labels the
whole tree under ``directory`` is walked the same way. With ``shuffle`` the list is permuted by
NumPy's ``RandomState(seed)``, as Keras does, so the same ``seed`` gives the same files in the
same order, and the same training/validation split (the last ``int(split * n)`` files).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LABEL_MODES = ("int", "categorical", "binary", None)
SUBSETS = ("training", "validation", "both")


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_common_arguments(what: str, labels, label_mode, class_names, batch_size,
                           validation_split, subset, shuffle, seed):
    """Keras's checks of the arguments every loader has, in its order; returns the ``labels``
    and ``label_mode`` to use (both None when either is None, as in Keras)."""
    if not (isinstance(labels, str) and labels == "inferred") and labels is not None:
        if not isinstance(labels, (list, tuple)):
            raise ValueError(f"{what}: labels must be 'inferred', None or a list/tuple of int "
                             f"labels (one per file, in sorted path order), got {labels!r}")
        if class_names:
            raise ValueError(f"{what}: class_names can only be given with "
                             f"labels='inferred', got labels={labels!r} and "
                             f"class_names={class_names!r}")
        bad = [v for v in labels if not _is_int(v)]
        if bad:
            raise ValueError(f"{what}: a list of labels must hold ints, got {bad[0]!r} "
                             f"({type(bad[0]).__name__})")
    if label_mode not in LABEL_MODES:
        raise ValueError(f"{what}: label_mode must be one of 'int', 'categorical', 'binary' "
                         f"or None, got {label_mode!r}")
    if batch_size is not None and (not _is_int(batch_size) or batch_size < 1):
        raise ValueError(f"{what}: batch_size must be a positive int or None, "
                         f"got {batch_size!r}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if class_names is not None and (isinstance(class_names, (str, bytes)) or not isinstance(
            class_names, Sequence)):
        raise ValueError(f"{what}: class_names must be a list of sub-folder names, "
                         f"got {class_names!r}")
    if class_names is not None and labels is None:
        raise ValueError(f"{what}: class_names cannot be given without labels (labels=None "
                         f"or label_mode=None), got class_names={list(class_names)!r}")
    check_split_arguments(validation_split, subset, shuffle, seed)
    return labels, label_mode


def check_split_arguments(validation_split, subset, shuffle, seed):
    """Keras's ``check_validation_split_arg``: a split in (0, 1), ``subset`` exactly when a
    split is given, and a ``seed`` when shuffling a split."""
    if validation_split is not None and (isinstance(validation_split, bool) or not isinstance(
            validation_split, (int, float, np.integer, np.floating))):
        raise ValueError(f"validation_split must be a float between 0 and 1, "
                         f"got {validation_split!r}")
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"validation_split must be between 0 and 1 (exclusive), "
                         f"got {validation_split!r}")
    if bool(validation_split) != bool(subset):
        raise ValueError("validation_split and subset go together (set both or neither): got "
                         f"validation_split={validation_split!r}, subset={subset!r}")
    if subset is not None and subset not in SUBSETS:
        raise ValueError(f"subset must be one of {list(SUBSETS)}, got {subset!r}")
    if validation_split and shuffle and seed is None:
        raise ValueError("if using validation_split and shuffling the data, you must provide "
                         "a seed argument, to make sure that there is no overlap between the "
                         "training and validation subset")


def draw_seed(seed):
    """The seed used for the file list and the dataset's shuffle: ``seed``, or (as Keras)
    one drawn from NumPy's global generator, so ``np.random.seed`` makes runs repeatable."""
    if seed is None:
        return int(np.random.randint(1_000_000))
    if not _is_int(seed):
        raise ValueError(f"seed must be an int or None, got {seed!r}")
    return int(seed)


def _walk(folder: str, follow_links: bool, extensions: tuple[str, ...]) -> list[str]:
    """Files under ``folder`` (as paths relative to it) in Keras's order."""
    found = []
    for base, _dirs, names in sorted(os.walk(folder, followlinks=follow_links),
                                     key=lambda entry: entry[0]):
        rel = os.path.relpath(base, folder)
        for name in sorted(names):
            if name.lower().endswith(extensions):
                found.append(name if rel == "." else os.path.join(rel, name))
    return found


def index_directory(what: str, directory, labels, extensions: Sequence[str], class_names,
                    shuffle: bool, seed: int, follow_links: bool, verbose: bool):
    """``(paths, labels, class_names)``: the matching files under ``directory`` as strings
    (``directory`` joined with the path inside it), their int32 labels (None without labels)
    and the class names, listed and shuffled as Keras does (see the module docstring).

    Raises:
        FileNotFoundError: no such directory. ValueError: ``directory`` is a file, unknown or
            duplicate ``class_names``, or a list of labels of the wrong length.
    """
    from convnp.datasets.folder import check_directory

    check_directory(directory)
    root = os.fspath(directory)
    extensions = tuple(e.lower() for e in extensions)
    if isinstance(labels, str):  # "inferred"
        found = sorted(name for name in os.listdir(root)
                       if os.path.isdir(os.path.join(root, name)) and not name.startswith("."))
        if class_names is None:
            names = found
        else:
            names = [str(n) for n in class_names]
            unknown = [n for n in names if n not in found]
            if unknown:
                raise ValueError(f"{what}: class_names {unknown} are not sub-folders of "
                                 f"{root}; expected names among {found}")
            if len(set(names)) != len(names):
                raise ValueError(f"{what}: class_names has duplicates: {names}")
        paths, label_list = [], []
        for index, name in enumerate(names):
            files = _walk(os.path.join(root, name), follow_links, extensions)
            paths.extend(os.path.join(root, name, f) for f in files)
            label_list.extend([index] * len(files))
        label_array = np.asarray(label_list, dtype=np.int32)
    else:
        paths = [os.path.join(root, f) for f in _walk(root, follow_links, extensions)]
        names = None
        label_array = None
        if labels is not None:
            if len(labels) != len(paths):
                raise ValueError(f"{what}: got {len(labels)} labels but found {len(paths)} "
                                 f"files in {root}; a list of labels needs one per file")
            label_array = np.asarray(labels, dtype=np.int64).astype(np.int32)
            names = [str(v) for v in sorted({int(v) for v in labels})]
    if verbose:
        if label_array is None:
            print(f"Found {len(paths)} files.")
        else:
            print(f"Found {len(paths)} files belonging to {len(names)} classes.")
    if shuffle:
        order = np.random.RandomState(seed).permutation(len(paths))
        paths = [paths[i] for i in order]
        if label_array is not None:
            label_array = label_array[order]
    return paths, label_array, names


@dataclass
class Part:
    """One subset of the listed files: its paths, labels (or None) and name."""

    paths: list[str]
    labels: np.ndarray | None
    name: str | None

    def shuffled(self, shuffle: bool, subset) -> bool:
        """Whether the dataset reshuffles each epoch: as Keras, except the validation half
        of ``subset="both"``."""
        return bool(shuffle) and not (subset == "both" and self.name == "validation")


def split_files(what: str, kind: str, directory, paths, labels, validation_split, subset,
                extensions: Sequence[str], verbose: bool) -> list[Part]:
    """The subsets asked for: one part (all files, or ``subset``) or two for ``"both"``. The
    validation files are the last ``int(validation_split * n)``.

    Raises:
        ValueError: no files at all, or a split that rounds to no validation files (Keras
            then fails for the training subset but returns every file as the validation
            subset; convnp refuses both).
    """
    allowed = ", ".join(extensions)
    if not paths:
        raise ValueError(f"{what}: no {kind} files found in directory {directory} "
                         f"(allowed extensions: {allowed})")
    if not validation_split:
        return [Part(paths, labels, None)]
    n = len(paths)
    n_val = int(validation_split * n)
    if n_val == 0:
        raise ValueError(f"{what}: validation_split={validation_split!r} of {n} {kind} files "
                         f"leaves no validation files; use a larger split or more files")
    wanted = ["training", "validation"] if subset == "both" else [subset]
    parts = []
    for name in wanted:
        part = slice(0, n - n_val) if name == "training" else slice(n - n_val, n)
        if verbose:
            print(f"Using {len(paths[part])} files for {name}.")
        parts.append(Part(paths[part], None if labels is None else labels[part], name))
    return parts


def encode_labels(what: str, labels: np.ndarray, label_mode: str, num_classes: int):
    """int32 ``(n,)`` labels as ``label_mode`` asks: int32 ``(n,)``, float32 ``(n, 1)`` for
    ``"binary"`` or float32 one-hot ``(n, num_classes)`` for ``"categorical"``."""
    if label_mode == "binary":
        return labels.astype(np.float32).reshape(-1, 1)
    if label_mode == "categorical":
        bad = labels[(labels < 0) | (labels >= num_classes)]
        if bad.size:
            raise ValueError(f"{what}: label_mode='categorical' needs labels in "
                             f"[0, {num_classes}) (the number of distinct labels), "
                             f"got {int(bad[0])}")
        return np.eye(num_classes, dtype=np.float32)[labels]
    return labels.astype(np.int32)


def file_dataset(part: Part, label_mode, num_classes: int, load, batch_size, shuffle: bool,
                 seed: int, what: str):
    """A `convnp.data.Dataset` over ``part``'s files: indices (and labels) shuffled by
    ``seed`` each epoch when ``shuffle``, batched, then ``load(indices)`` reads the batch
    (``load`` gets an int array ``(batch,)``, or a 0-d array when ``batch_size`` is None)."""
    from convnp.data import Dataset

    index = np.arange(len(part.paths), dtype=np.int64)
    if label_mode is None:
        dataset = Dataset.from_tensor_slices(index)
    else:
        y = encode_labels(what, part.labels, label_mode, num_classes)
        dataset = Dataset.from_tensor_slices((index, y))
    if shuffle:
        dataset = dataset.shuffle(max(len(index), 1), seed=seed)
    if batch_size is not None:
        dataset = dataset.batch(int(batch_size))
    if label_mode is None:
        dataset = dataset.map(lambda i: load(np.asarray(i)))
    else:
        dataset = dataset.map(lambda i, y: (load(np.asarray(i)), np.asarray(y)))
    dataset.file_paths = list(part.paths)
    return dataset
