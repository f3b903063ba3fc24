"""``tf.train``: training checkpoints (`convnp.io.checkpoint`: convnp's own files in
TensorFlow's directory layout) and the ``Example`` messages of TFRecord files
(`convnp.io.example`)."""

from convnp.io.checkpoint import (
    Checkpoint,
    CheckpointManager,
    CheckpointReader,
    CheckpointState,
    checkpoints_iterator,
    get_checkpoint_state,
    latest_checkpoint,
    list_variables,
    load_checkpoint,
    load_variable,
)
from convnp.io.example import (
    BytesList,
    Example,
    Feature,
    FeatureList,
    FeatureLists,
    Features,
    FloatList,
    Int64List,
    SequenceExample,
)

__all__ = ["BytesList", "Checkpoint", "CheckpointManager", "CheckpointReader", "CheckpointState",
           "Example", "Feature", "FeatureList", "FeatureLists", "Features", "FloatList",
           "Int64List", "SequenceExample",
           "checkpoints_iterator", "get_checkpoint_state", "latest_checkpoint",
           "list_variables", "load_checkpoint", "load_variable"]
