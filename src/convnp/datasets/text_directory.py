"""``keras.utils.text_dataset_from_directory``: a `convnp.data.Dataset` of the ``.txt`` files
under a folder, one sub-folder per class.

As in Keras (TensorFlow's ``tf.string``), each text is the file's raw bytes: the batches are
string tensors whose ``.numpy()`` is an array of `numpy.bytes_` (``text.decode("utf-8")``
gives a Python str, as in the Keras tutorials), and ``max_length`` cuts each text to that
many *bytes*. The files are listed, shuffled and split exactly as Keras does them
(`convnp.datasets.file_index`), so the same ``seed`` gives the same training and validation
files; the contents are read when the function is called, the batches are made from them
each epoch (reshuffled every epoch with ``shuffle``).
"""

from __future__ import annotations

import os

import numpy as np

from convnp.datasets.file_index import (
    check_common_arguments,
    draw_seed,
    file_dataset,
    index_directory,
    split_files,
)

EXTENSIONS = (".txt",)
_WHAT = "text_dataset_from_directory"


def text_dataset_from_directory(
    directory: str | os.PathLike,
    labels="inferred",
    label_mode: str | None = "int",
    class_names=None,
    batch_size: int | None = 32,
    max_length: int | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    validation_split: float | None = None,
    subset: str | None = None,
    follow_links: bool = False,
    format: str = "tf",
    verbose: bool = True,
):
    """A `Dataset` of ``(texts, labels)`` batches from ``directory/<class>/**/*.txt``.

    Args:
        directory: one sub-folder per class with ``labels="inferred"``; any layout otherwise
            (every ``.txt`` file under it, sub-folders included).
        labels: ``"inferred"`` (the sub-folders), ``None`` (texts only) or a list of int
            labels, one per file in sorted path order.
        label_mode: ``"int"`` (int32 ``(batch,)``), ``"categorical"`` (float32 one-hot),
            ``"binary"`` (float32 ``(batch, 1)``, exactly two classes) or ``None``.
        class_names: which sub-folders, in label order (default: all, sorted).
        batch_size: texts per batch; ``None`` yields single texts.
        max_length: keep at most this many bytes of each text.
        shuffle, seed: shuffle the file list (Keras's order for the same seed) and every
            epoch; a ``seed`` is required with ``validation_split``.
        validation_split, subset: ``"training"`` (the first ``1 - split`` of the files),
            ``"validation"`` (the rest) or ``"both"`` (a pair of datasets).
        follow_links: walk sub-folders that are symbolic links.
        format: ``"tf"`` (Keras's default) or ``"grain"``; both give a convnp `Dataset`.
        verbose: print the counts as Keras does.

    Returns:
        A `convnp.data.Dataset` (a list ``[training, validation]`` for ``subset="both"``) of ``(texts, labels)``
        (texts only without labels), with ``class_names`` and ``file_paths`` attributes.

    Raises:
        FileNotFoundError: no such directory.
        ValueError: a bad argument, no ``.txt`` files, a list of labels of the wrong length,
            or a split that leaves a subset empty.
    """
    labels, label_mode = check_common_arguments(_WHAT, labels, label_mode, class_names,
                                                batch_size, validation_split, subset,
                                                shuffle, seed)
    if format not in ("tf", "grain"):
        raise ValueError(f"{_WHAT}: format must be 'tf' or 'grain', got {format!r}")
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(
            max_length, (int, np.integer)) or max_length < 0):
        raise ValueError(f"{_WHAT}: max_length must be a non-negative int or None, "
                         f"got {max_length!r}")
    seed = draw_seed(seed)
    paths, label_array, names = index_directory(_WHAT, directory, labels, EXTENSIONS,
                                                class_names, shuffle, seed, follow_links,
                                                verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"{_WHAT}: label_mode='binary' needs exactly 2 classes, "
                         f"got class_names={names}")
    parts = split_files(_WHAT, "text", directory, paths, label_array, validation_split,
                        subset, EXTENSIONS, verbose)
    datasets = []
    for part in parts:
        texts = [_read(path, max_length) for path in part.paths]

        def load(index, texts=texts):
            if index.ndim == 0:
                return np.array(texts[int(index)], dtype=np.bytes_)
            return np.array([texts[int(i)] for i in index], dtype=np.bytes_)

        dataset = file_dataset(part, label_mode, len(names or ()), load, batch_size,
                               part.shuffled(shuffle, subset), seed, _WHAT)
        dataset.class_names = names
        datasets.append(dataset)
    # a list for subset="both", as Keras's text loader (its audio loader gives a tuple)
    return datasets if len(datasets) == 2 else datasets[0]


def _read(path: str, max_length: int | None) -> bytes:
    """A file's bytes (the first ``max_length`` of them)."""
    try:
        with open(path, "rb") as f:
            return f.read() if max_length is None else f.read(int(max_length))
    except OSError as exc:
        raise ValueError(f"{_WHAT}: cannot read {path}: {exc}") from None
