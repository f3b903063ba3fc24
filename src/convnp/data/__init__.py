"""tf.data-shaped input pipelines: `convnp.data.Dataset`, `convnp.data.AUTOTUNE`,
`convnp.data.Options`, `convnp.data.TextLineDataset`, `convnp.data.experimental.CsvDataset`."""

from convnp.data import dataset as _dataset
from convnp.data.dataset import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset
from convnp.data.options import AutoShardPolicy as _AutoShardPolicy
from convnp.data.options import Options
from convnp.data.text import CsvDataset, TextLineDataset

__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "Dataset", "Options",
           "TextLineDataset", "experimental"]


class experimental:
    """`tf.data.experimental`: the constants and the TensorFlow 2.0-2.6 spellings of
    functions that later became `Dataset` methods."""

    AUTOTUNE = AUTOTUNE
    INFINITE_CARDINALITY = INFINITE_CARDINALITY
    UNKNOWN_CARDINALITY = UNKNOWN_CARDINALITY
    AutoShardPolicy = _AutoShardPolicy
    sample_from_datasets = staticmethod(_dataset._sample_from_datasets)
    choose_from_datasets = staticmethod(_dataset._choose_from_datasets)
    CsvDataset = staticmethod(CsvDataset)
    assert_cardinality = staticmethod(_dataset.assert_cardinality)

    @staticmethod
    def save(dataset: Dataset, path, compression=None, shard_func=None, checkpoint_args=None):
        """``dataset.save(path)`` (the TensorFlow 2.3-2.9 spelling)."""
        dataset.save(path, compression, shard_func, checkpoint_args)

    @staticmethod
    def load(path, element_spec=None, compression=None, reader_func=None) -> Dataset:
        """``Dataset.load(path)`` (the TensorFlow 2.3-2.9 spelling)."""
        return Dataset.load(path, element_spec, compression, reader_func)

    @staticmethod
    def get_single_element(dataset: Dataset):
        """``dataset.get_single_element()`` (the TensorFlow 2.5 spelling)."""
        return dataset.get_single_element()

    @staticmethod
    def cardinality(dataset: Dataset):
        """``dataset.cardinality()``: a 0-d int64 tensor."""
        return dataset.cardinality()
