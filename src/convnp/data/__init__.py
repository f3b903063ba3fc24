"""tf.data-shaped input pipelines: `convnp.data.Dataset`, `convnp.data.AUTOTUNE`,
`convnp.data.Options`, `convnp.data.TextLineDataset`, `convnp.data.TFRecordDataset`,
`convnp.data.experimental.CsvDataset`."""

from convnp.data import dataset as _dataset
from convnp.data.dataset import AUTOTUNE, INFINITE_CARDINALITY, UNKNOWN_CARDINALITY, Dataset
from convnp.data.options import AutoShardPolicy as _AutoShardPolicy
from convnp.data.options import Options
from convnp.data.text import CsvDataset, TextLineDataset
from convnp.data.tfrecord import TFRecordDataset
from convnp.data.tfrecord import TFRecordWriter as _DatasetRecordWriter

__all__ = ["AUTOTUNE", "INFINITE_CARDINALITY", "UNKNOWN_CARDINALITY", "Dataset", "Options",
           "TFRecordDataset", "TextLineDataset", "experimental"]


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
    TFRecordWriter = _DatasetRecordWriter

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

    # The TensorFlow 1.x-2.x transformations for ``dataset.apply(...)``: each returns a
    # function of the dataset that calls the method it became (keras.io's RetinaNet writes
    # ``train.apply(tf.data.experimental.ignore_errors())``).

    @staticmethod
    def ignore_errors(log_warning: bool = False):
        """``ds.apply(ignore_errors())``: ``ds.ignore_errors(log_warning)``."""
        return lambda dataset: _applied(dataset, "ignore_errors").ignore_errors(log_warning)

    @staticmethod
    def unbatch():
        return lambda dataset: _applied(dataset, "unbatch").unbatch()

    @staticmethod
    def enumerate_dataset(start: int = 0):
        return lambda dataset: _applied(dataset, "enumerate_dataset").enumerate(start)

    @staticmethod
    def take_while(predicate):
        return lambda dataset: _applied(dataset, "take_while").take_while(predicate)

    @staticmethod
    def unique():
        return lambda dataset: _applied(dataset, "unique").unique()

    @staticmethod
    def scan(initial_state, scan_func):
        return lambda dataset: _applied(dataset, "scan").scan(initial_state, scan_func)

    @staticmethod
    def shuffle_and_repeat(buffer_size, count=None, seed=None):
        """``ds.shuffle(buffer_size, seed).repeat(count)``."""
        return lambda dataset: _applied(dataset, "shuffle_and_repeat").shuffle(
            buffer_size, seed=seed).repeat(count)

    @staticmethod
    def map_and_batch(map_func, batch_size, num_parallel_batches=None, drop_remainder=False,
                      num_parallel_calls=None):
        """``ds.map(map_func).batch(batch_size, drop_remainder)``."""
        return lambda dataset: _applied(dataset, "map_and_batch").map(map_func).batch(
            batch_size, drop_remainder=drop_remainder)


def _applied(dataset, what: str) -> Dataset:
    if not isinstance(dataset, Dataset):
        raise TypeError(f"tf.data.experimental.{what}() applies to a Dataset (through "
                        f"dataset.apply), got {type(dataset).__name__}")
    return dataset
