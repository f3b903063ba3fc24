"""Pictures of training and of what a network learned (matplotlib, optional extra).

* `history` / `history_csv`: the loss and accuracy curves of a ``History``;
* `filters`, `feature_maps`, `saliency`, `gradcam`, `confusion_matrix`, `misclassified`: what a
  CNN learned and looks at (`convnp.plot.inside`);
* `convnp.plot.probe`: the numbers behind those pictures, without matplotlib.

Each function returns the figure (or the path written, for the history files); figures are
drawn on an Agg canvas, never through pyplot's global state.
"""

from convnp.plot.curves import history, history_csv, model_graph
from convnp.plot.inside import (
    confusion_matrix,
    feature_maps,
    filters,
    gradcam,
    misclassified,
    saliency,
)

__all__ = [
    "confusion_matrix",
    "feature_maps",
    "filters",
    "gradcam",
    "history",
    "history_csv",
    "misclassified",
    "model_graph",
    "saliency",
]
