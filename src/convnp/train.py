"""``tf.train``: training checkpoints (`convnp.io.checkpoint`: convnp's own files in
TensorFlow's directory layout)."""

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

__all__ = ["Checkpoint", "CheckpointManager", "CheckpointReader", "CheckpointState",
           "checkpoints_iterator", "get_checkpoint_state", "latest_checkpoint",
           "list_variables", "load_checkpoint", "load_variable"]
