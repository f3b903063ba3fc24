"""Keras-compatible layers (see `convnp.layers.base.Layer` for the contract)."""
