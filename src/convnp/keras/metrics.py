"""``tf.keras.metrics``: re-exports `convnp.metrics`, and (as Keras 3 does) the loss
functions' per-sample forms (``keras.metrics.mean_squared_error(y_true, y_pred)``, ...)."""

from convnp import losses as _losses
from convnp.metrics import *
from convnp.metrics import __all__ as _metrics_all
from convnp.metrics import get  # noqa: F401

binary_crossentropy = _losses.binary_crossentropy
binary_focal_crossentropy = _losses.binary_focal_crossentropy
categorical_crossentropy = _losses.categorical_crossentropy
categorical_focal_crossentropy = _losses.categorical_focal_crossentropy
categorical_hinge = _losses.categorical_hinge
hinge = _losses.hinge
huber = _losses.huber
kl_divergence = _losses.kl_divergence
log_cosh = _losses.log_cosh
mean_absolute_error = _losses.mean_absolute_error
mean_absolute_percentage_error = _losses.mean_absolute_percentage_error
mean_squared_error = _losses.mean_squared_error
mean_squared_logarithmic_error = _losses.mean_squared_logarithmic_error
poisson = _losses.poisson
sparse_categorical_crossentropy = _losses.sparse_categorical_crossentropy
squared_hinge = _losses.squared_hinge
# the short spellings TF 2.21's tf.keras.metrics has too (``tf.keras.metrics.mae(y, p)``)
mse = MSE = _losses.mean_squared_error
mae = MAE = _losses.mean_absolute_error
mape = MAPE = _losses.mean_absolute_percentage_error
msle = MSLE = _losses.mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = _losses.kl_divergence
logcosh = _losses.log_cosh

LOSS_FUNCTIONS = ["binary_crossentropy", "binary_focal_crossentropy",
                  "categorical_crossentropy", "categorical_focal_crossentropy",
                  "categorical_hinge", "hinge", "huber", "kl_divergence", "log_cosh",
                  "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
                  "mean_squared_logarithmic_error", "poisson", "sparse_categorical_crossentropy",
                  "squared_hinge", "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE",
                  "kld", "KLD", "kullback_leibler_divergence", "logcosh"]
__all__ = list(_metrics_all)
__all__.extend(LOSS_FUNCTIONS)
