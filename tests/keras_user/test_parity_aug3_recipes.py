"""keras.io's "Image classification from scratch" program, its data half: corrupt files found
with ``tf.compat.as_bytes("JFIF") in fobj.peek(10)``, then
``image_dataset_from_directory(..., subset="both")``; what it gets as TensorFlow 2.21 gives it.

The expected values below were read from TensorFlow 2.21 running the same programs."""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest
from PIL import Image

import convnp as tf


def test_compat_as_bytes_and_as_text_convert_strings_as_tensorflow():
    # TF 2.21: text is encoded (utf-8 unless told), bytes and bytearrays come back as bytes
    assert tf.compat.as_bytes("JFIF") == b"JFIF"
    assert type(tf.compat.as_bytes(bytearray(b"ab"))) is bytes
    assert tf.compat.as_bytes("\u00e9") == b"\xc3\xa9"
    assert tf.compat.as_bytes("\u00e9", "latin-1") == b"\xe9"
    assert tf.compat.as_text(b"JFIF") == "JFIF"
    assert tf.compat.as_text(b"\xe9", encoding="latin-1") == "\u00e9"
    assert tf.compat.as_str(b"x") == "x"
    assert tf.compat.as_str_any(1) == "1"
    assert tf.compat.as_str_any(b"y") == "y"
    assert tf.compat.path_to_str(pathlib.Path("/a/b")) == "/a/b"
    assert tf.compat.path_to_str(b"p") == b"p"


@pytest.mark.parametrize("value", [1, None, pathlib.Path("/a")])
def test_compat_as_bytes_refuses_what_is_not_a_string_with_a_type_error(value):
    # TF 2.21: TypeError (as_text also refuses a bytearray)
    with pytest.raises(TypeError):
        tf.compat.as_bytes(value)
    with pytest.raises(TypeError):
        tf.compat.as_text(value)
    with pytest.raises(TypeError):
        tf.compat.as_text(bytearray(b"ab"))
    with pytest.raises(UnicodeDecodeError):
        tf.compat.as_text(b"\xff")


def _pets(root):
    rng = np.random.default_rng(0)
    for name in ("Cat", "Dog"):
        os.makedirs(root / name)
        for i in range(6):
            pixels = rng.integers(0, 255, (20 + i, 24, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.jpg")
        # a PNG under a .jpg name: no JFIF marker, so the program deletes it
        Image.fromarray(pixels[:10, :10]).save(root / name / "bad.jpg", format="PNG")
    (root / "Cat" / "junk.jpg").write_bytes(b"\x00\x01garbage")


def test_scratch_program_filters_corrupt_files_and_splits_both(tmp_path):
    _pets(tmp_path)
    skipped = 0
    for name in ("Cat", "Dog"):
        for fname in sorted(os.listdir(tmp_path / name)):
            path = tmp_path / name / fname
            with open(path, "rb") as fobj:
                is_jfif = tf.compat.as_bytes("JFIF") in fobj.peek(10)
            if not is_jfif:
                skipped += 1
                os.remove(path)
    assert skipped == 3
    both = tf.keras.utils.image_dataset_from_directory(
        tmp_path, validation_split=0.2, subset="both", seed=1337, image_size=(18, 18),
        batch_size=4, verbose=False)
    # TF 2.21: a list [train_ds, val_ds] (Keras builds it with [...]); convnp gave a tuple
    assert type(both) is list and len(both) == 2
    train_ds, val_ds = both
    assert train_ds.class_names == val_ds.class_names == ["Cat", "Dog"]
    assert (int(train_ds.cardinality()), int(val_ds.cardinality())) == (3, 1)
    images, labels = next(iter(train_ds))
    assert images.shape == (4, 18, 18, 3) and images.dtype == "float32"
    assert labels.shape == (4,) and labels.dtype == "int32"


def test_text_dataset_from_directory_subset_both_is_a_list_too(tmp_path):
    for name in ("neg", "pos"):
        os.makedirs(tmp_path / name)
        for i in range(5):
            (tmp_path / name / f"{i}.txt").write_text(f"{name} text {i}")
    both = tf.keras.utils.text_dataset_from_directory(
        tmp_path, validation_split=0.2, subset="both", seed=1, batch_size=2, verbose=False)
    # TF 2.21: a list, as the image loader (only the audio loader returns a tuple)
    assert type(both) is list and len(both) == 2
