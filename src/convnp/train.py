"""``tf.train``: training checkpoints (`convnp.io.checkpoint`: convnp's own files in
TensorFlow's directory layout)."""

from convnp.io.checkpoint import Checkpoint, CheckpointManager, latest_checkpoint

__all__ = ["Checkpoint", "CheckpointManager", "latest_checkpoint"]
