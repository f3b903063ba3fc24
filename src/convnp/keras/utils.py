"""``tf.keras.utils``: `set_random_seed`, `to_categorical`, `image_dataset_from_directory`,
`load_img`, `img_to_array`, `array_to_img`, `PyDataset` / `Sequence`, `get_file`, and the
custom-object API of `convnp.serialization`."""

from convnp import serialization as _serialization
from convnp.datasets.directory import (
    array_to_img,
    image_dataset_from_directory,
    img_to_array,
    load_img,
)
from convnp.datasets.download import get_file
from convnp.models.data_adapter import PyDataset, Sequence
from convnp.serialization import *
from convnp.utils import set_random_seed, to_categorical

__all__ = ["PyDataset", "Sequence", "array_to_img", "get_file", "image_dataset_from_directory",
           "img_to_array", "load_img", "plot_model", "set_random_seed", "to_categorical"]
__all__.extend(_serialization.__all__)  # the custom-object API


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=True, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, **kwargs):
    """Draw the model's graph to ``to_file`` with matplotlib (see `convnp.plot.model_graph`)."""
    from convnp.plot import model_graph

    return model_graph(model, to_file, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable, **kwargs)
