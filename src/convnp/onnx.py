"""`convnp.onnx.export(model, path, opset=17)`: write a model as an ONNX graph.

The exporter lives in `convnp.io.onnx`; see docs/interop.md for what is supported.
"""

from convnp.io.onnx import export, export_bytes

__all__ = ["export", "export_bytes"]
