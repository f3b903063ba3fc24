"""``keras.applications.imagenet_utils``: the shared ``preprocess_input`` (by ``mode``) and
``decode_predictions`` (the course's ResNet notebook imports them from here)."""

from __future__ import annotations

from convnp.applications import _common

decode_predictions = _common.decode_predictions
_MODES = {"caffe": _common.preprocess_caffe, "tf": _common.preprocess_tf,
          "torch": _common.preprocess_torch}


def preprocess_input(x, data_format=None, mode: str = "caffe"):
    """``mode="caffe"`` (default, as Keras): RGB to BGR minus the ImageNet means; ``"tf"``:
    scale to [-1, 1]; ``"torch"``: scale to [0, 1], then standardize each channel with the
    ImageNet mean and standard deviation."""
    if mode not in _MODES:
        raise ValueError(f"preprocess_input: mode must be one of {sorted(_MODES)}, "
                         f"got {mode!r}")
    return _MODES[mode](x, data_format)
