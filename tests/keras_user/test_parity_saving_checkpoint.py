"""tf.train.Checkpoint's errors and ModelCheckpoint's ``best`` and filepath fields, as TF 2.21
(Keras 3.15.1) behaves; the expected exception types and values were printed by TF 2.21 for
the same programs."""

from __future__ import annotations

import numpy as np
import pytest

import convnp as tf

keras = tf.keras


def test_tf_errors_has_tensorflows_classes():
    # TF 2.21: each is a subclass of tf.errors.OpError
    for name in ("NotFoundError", "DataLossError", "InvalidArgumentError", "OutOfRangeError",
                 "FailedPreconditionError"):
        assert issubclass(getattr(tf.errors, name), tf.errors.OpError)
    assert issubclass(tf.errors.InvalidArgumentError, ValueError)  # convnp's, as before


def test_restore_of_a_missing_checkpoint_is_not_found(tmp_path):
    # TF 2.21: restore and read of a path with no checkpoint raise tf.errors.NotFoundError
    saved = tf.train.Checkpoint(v=tf.Variable(np.zeros(3, np.float32)))
    saved.save(str(tmp_path / "ck"))
    ckpt = tf.train.Checkpoint(v=tf.Variable(np.zeros(3, np.float32)))
    for path in (tmp_path / "missing-5", tmp_path / "ck"):  # (no number: no such prefix)
        with pytest.raises(tf.errors.NotFoundError):
            ckpt.restore(str(path))
        with pytest.raises(tf.errors.NotFoundError):
            ckpt.read(str(path))
    with pytest.raises(FileNotFoundError):  # convnp's type before, kept
        ckpt.restore(str(tmp_path / "missing-5"))


def test_restore_of_what_is_not_a_checkpoint_is_an_op_error(tmp_path):
    # TF 2.21: a directory is a tf.errors.DataLossError, a file of something else an OpError
    ckpt = tf.train.Checkpoint(v=tf.Variable(1.0))
    with pytest.raises(tf.errors.DataLossError):
        ckpt.restore(str(tmp_path))
    (tmp_path / "junk.index").write_text("hello")
    with pytest.raises(tf.errors.OpError):
        ckpt.restore(str(tmp_path / "junk"))
    with pytest.raises(ValueError):  # convnp's type before, kept
        ckpt.restore(str(tmp_path / "junk"))


def test_variable_restored_from_a_value_of_another_dtype(tmp_path):
    # TF 2.21: an int Variable's value restored into a float Variable is an
    # InvalidArgumentError; a shape mismatch a ValueError
    path = tf.train.Checkpoint(n=tf.Variable(5), v=tf.Variable(np.zeros(3, np.float32))).save(
        str(tmp_path / "ck"))
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.train.Checkpoint(n=tf.Variable(1.5)).restore(path)
    with pytest.raises(ValueError):
        tf.train.Checkpoint(v=tf.Variable(np.zeros(4, np.float32))).restore(path)
    counter = tf.Variable(0)
    tf.train.Checkpoint(n=counter).restore(path).expect_partial()
    assert int(counter.numpy()) == 5


def _model():
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


def test_model_checkpoint_best_starts_at_initial_value_threshold(tmp_path):
    # TF 2.21: ModelCheckpoint(..., initial_value_threshold=0.5).best == 0.5 before fit,
    # and None without a threshold
    with_threshold = keras.callbacks.ModelCheckpoint(str(tmp_path / "m.keras"),
                                                     save_best_only=True,
                                                     initial_value_threshold=0.5)
    assert with_threshold.best == 0.5
    assert keras.callbacks.ModelCheckpoint(str(tmp_path / "m.keras")).best is None
    # nothing beats a threshold of 0: no file, best unchanged
    never = keras.callbacks.ModelCheckpoint(str(tmp_path / "n.keras"), monitor="loss",
                                            save_best_only=True, initial_value_threshold=0.0)
    _model().fit(np.ones((4, 5)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[never])
    assert never.best == 0.0 and not (tmp_path / "n.keras").exists()


def test_model_checkpoint_filepath_field_missing_from_the_logs_is_a_key_error(tmp_path):
    # TF 2.21: KeyError ("Failed to format this callback filepath") when the first file is
    # due; convnp's error is a ValueError too (its type before)
    for expected in (KeyError, ValueError):
        checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "m-{val_loss:.2f}.keras"))
        with pytest.raises(expected, match="val_loss"):
            _model().fit(np.ones((4, 5)), np.ones((4, 1)), epochs=1, verbose=0,
                         callbacks=[checkpoint])
    assert list(tmp_path.iterdir()) == []


def test_list_variables_and_load_variable(tmp_path):
    # TF 2.21: list_variables(dir or prefix) == [('_CHECKPOINTABLE_OBJECT_GRAPH', []),
    # ('inner/b/.ATTRIBUTES/VARIABLE_VALUE', []), ('save_counter/.ATTRIBUTES/VARIABLE_VALUE',
    # []), ('step/.ATTRIBUTES/VARIABLE_VALUE', []), ('w/.ATTRIBUTES/VARIABLE_VALUE', [2, 3])];
    # load_variable gives NumPy values (np.int64(7) for the step); an unknown name is a
    # NotFoundError, a directory without checkpoints a ValueError
    ckpt = tf.train.Checkpoint(step=tf.Variable(7, dtype=tf.int64),
                               w=tf.Variable(np.arange(6, dtype=np.float32).reshape(2, 3)),
                               inner=tf.train.Checkpoint(b=tf.Variable(2.5)))
    path = ckpt.save(str(tmp_path / "ck"))
    expected = [("_CHECKPOINTABLE_OBJECT_GRAPH", []), ("inner/b/.ATTRIBUTES/VARIABLE_VALUE", []),
                ("save_counter/.ATTRIBUTES/VARIABLE_VALUE", []),
                ("step/.ATTRIBUTES/VARIABLE_VALUE", []), ("w/.ATTRIBUTES/VARIABLE_VALUE", [2, 3])]
    assert tf.train.list_variables(str(tmp_path)) == expected
    assert tf.train.list_variables(path) == expected
    step = tf.train.load_variable(str(tmp_path), "step/.ATTRIBUTES/VARIABLE_VALUE")
    assert step == 7 and isinstance(step, np.int64)
    assert tf.train.load_variable(path, "w/.ATTRIBUTES/VARIABLE_VALUE").tolist() == [
        [0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert tf.train.load_variable(path, "inner/b/.ATTRIBUTES/VARIABLE_VALUE") == 2.5
    with pytest.raises(tf.errors.NotFoundError):
        tf.train.load_variable(path, "w")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="checkpoint"):
        tf.train.list_variables(str(empty))
    with pytest.raises(tf.errors.NotFoundError):
        tf.train.list_variables(str(tmp_path / "zz-1"))
    reader = tf.train.load_checkpoint(path)
    assert reader.has_tensor("step/.ATTRIBUTES/VARIABLE_VALUE") and not reader.has_tensor("x")
    assert reader.get_variable_to_dtype_map()["w/.ATTRIBUTES/VARIABLE_VALUE"] == tf.float32
    assert reader.get_variable_to_shape_map()["w/.ATTRIBUTES/VARIABLE_VALUE"] == [2, 3]


def test_list_variables_names_a_models_and_an_optimizers_values(tmp_path):
    # (convnp's names for these: TF 2.21 lists Keras's internal attribute paths, such as
    # optimizer/_variables/2/.ATTRIBUTES/VARIABLE_VALUE)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    path = tf.train.Checkpoint(model=model, optimizer=model.optimizer).save(
        str(tmp_path / "ck"))
    names = dict(tf.train.list_variables(path))
    assert names["model/0/.ATTRIBUTES/VARIABLE_VALUE"] == [3, 2]
    assert names["optimizer/iterations/.ATTRIBUTES/VARIABLE_VALUE"] == []
    np.testing.assert_array_equal(
        tf.train.load_variable(path, "model/1/.ATTRIBUTES/VARIABLE_VALUE"),
        model.get_weights()[1])


def test_lists_and_dicts_of_variables_in_a_checkpoint(tmp_path):
    # TF 2.21: members of a list or dict are saved by position or key (names below printed
    # by its list_variables) and restored into the same structure; assert_consumed passes;
    # other values in a list (an int) are left out
    ckpt = tf.train.Checkpoint(vs=[tf.Variable(1.0), tf.Variable(2.0), 3],
                               ds={"a": tf.Variable(3.0), "b": [tf.Variable(4.0)]})
    path = ckpt.save(str(tmp_path / "ck"))
    assert [name for name, _ in tf.train.list_variables(path)] == [
        "_CHECKPOINTABLE_OBJECT_GRAPH", "ds/a/.ATTRIBUTES/VARIABLE_VALUE",
        "ds/b/0/.ATTRIBUTES/VARIABLE_VALUE", "save_counter/.ATTRIBUTES/VARIABLE_VALUE",
        "vs/0/.ATTRIBUTES/VARIABLE_VALUE", "vs/1/.ATTRIBUTES/VARIABLE_VALUE"]
    values = [tf.Variable(0.0), tf.Variable(0.0)]
    nested = {"a": tf.Variable(0.0), "b": [tf.Variable(0.0)]}
    status = tf.train.Checkpoint(vs=values, ds=nested).restore(path)
    status.assert_consumed()
    assert [float(v.numpy()) for v in values] == [1.0, 2.0]
    assert (float(nested["a"].numpy()), float(nested["b"][0].numpy())) == (3.0, 4.0)


def test_get_checkpoint_state(tmp_path):
    # TF 2.21: the newest path, the kept ones oldest first, one time each; None without a
    # checkpoint file (or a directory)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(1.0)),
                                         str(tmp_path), max_to_keep=2)
    for _ in range(3):
        manager.save()
    state = tf.train.get_checkpoint_state(str(tmp_path))
    assert state.model_checkpoint_path == str(tmp_path / "ckpt-3")
    assert state.all_model_checkpoint_paths == [str(tmp_path / "ckpt-2"),
                                                str(tmp_path / "ckpt-3")]
    assert len(state.all_model_checkpoint_timestamps) == 2
    assert isinstance(state.last_preserved_timestamp, float)
    assert tf.train.get_checkpoint_state(str(tmp_path / "missing")) is None
    # a manager made again on the directory goes on with the same checkpoints
    again = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(1.0)),
                                       str(tmp_path), max_to_keep=2)
    assert again.checkpoints == state.all_model_checkpoint_paths


def test_checkpoint_interval_saves_every_n_steps(tmp_path):
    # TF 2.21: with step_counter and checkpoint_interval=3, saving after each of 10 steps
    # gives ['ckpt-1', None, None, 'ckpt-2', None, None, 'ckpt-3', None, None, 'ckpt-4'];
    # check_interval=False saves at any new step, never twice at one; no step_counter is a
    # ValueError; restore_or_initialize counts from the restored step
    step = tf.Variable(0, dtype=tf.int64)
    ckpt = tf.train.Checkpoint(step=step)
    manager = tf.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=5,
                                         step_counter=step, checkpoint_interval=3)
    names = []
    for _ in range(10):
        step.assign_add(1)
        path = manager.save()
        names.append(None if path is None else path.rsplit("/", 1)[-1])
    assert names == ["ckpt-1", None, None, "ckpt-2", None, None, "ckpt-3", None, None,
                     "ckpt-4"]
    assert manager.checkpoint_interval == 3
    step.assign_add(1)
    assert manager.save(check_interval=False).endswith("ckpt-5")
    assert manager.save(check_interval=False) is None
    with pytest.raises(ValueError, match="step_counter"):
        tf.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=1, checkpoint_interval=3)
    later = tf.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=5, step_counter=step,
                                       checkpoint_interval=3)
    assert later.restore_or_initialize().endswith("ckpt-5") and later.save() is None


def test_keep_checkpoint_every_n_hours_preserves_dropped_checkpoints(tmp_path):
    # TF 2.21: with max_to_keep=1 and a tiny keep_checkpoint_every_n_hours, the checkpoints
    # dropped from the kept list stay on disk: files ckpt-1..3, checkpoints ['ckpt-3']
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(1.0)),
                                         str(tmp_path), max_to_keep=1,
                                         keep_checkpoint_every_n_hours=1e-9)
    for _ in range(3):
        manager.save()
    assert sorted(p.name for p in tmp_path.glob("*.index")) == [
        "ckpt-1.index", "ckpt-2.index", "ckpt-3.index"]
    assert manager.checkpoints == [str(tmp_path / "ckpt-3")]


def test_model_checkpoint_unknown_mode_falls_back_to_auto(tmp_path):
    # TF 2.21: UserWarning "ModelCheckpoint mode 'bogus' is unknown, fallback to auto mode"
    with pytest.warns(UserWarning, match="unknown, fallback to auto"):
        checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), mode="bogus",
                                                     monitor="loss", save_best_only=True)
    assert checkpoint.mode == "auto"
    _model().fit(np.ones((4, 5)), np.ones((4, 1)), epochs=1, verbose=0,
                 callbacks=[checkpoint])
    assert (tmp_path / "m.keras").exists()


def test_optimizer_config_with_a_schedule_after_load(tmp_path):
    # TF 2.21: get_config()["learning_rate"] of an optimizer with a schedule (and of the one
    # load_model rebuilds) is Keras 3's serialized schedule: {'module':
    # 'keras.optimizers.schedules', 'class_name': 'ExponentialDecay', 'config': {...},
    # 'registered_name': None}
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 10, 0.9)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.Adam(schedule), "mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), batch_size=2, verbose=0)
    model.save(tmp_path / "m.keras")
    for optimizer in (model.optimizer, keras.models.load_model(tmp_path / "m.keras").optimizer):
        rate = optimizer.get_config()["learning_rate"]
        assert rate == {"module": "keras.optimizers.schedules",
                        "class_name": "ExponentialDecay",
                        "config": {"initial_learning_rate": 0.01, "decay_steps": 10,
                                   "decay_rate": 0.9, "staircase": False,
                                   "name": "ExponentialDecay"},
                        "registered_name": None}
        again = keras.optimizers.Adam.from_config(optimizer.get_config())
        assert type(again.learning_rate).__name__ == type(optimizer.learning_rate).__name__


def test_checkpoints_iterator(tmp_path):
    # TF 2.21: yields the checkpoint already there, then stops after `timeout` seconds with
    # no new one; timeout_fn returning False keeps it waiting (here a new checkpoint comes);
    # an empty directory gives nothing
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(v=tf.Variable(1.0)),
                                         str(tmp_path / "run"), max_to_keep=3)
    manager.save()
    found = list(tf.train.checkpoints_iterator(str(tmp_path / "run"), timeout=0.5))
    assert found == [str(tmp_path / "run" / "ckpt-1")]
    calls = []

    def timeout_fn():
        calls.append(1)
        if len(calls) == 1:
            manager.save()
            return False
        return True

    found = list(tf.train.checkpoints_iterator(str(tmp_path / "run"), timeout=0.5,
                                               timeout_fn=timeout_fn))
    assert [p.rsplit("/", 1)[-1] for p in found] == ["ckpt-1", "ckpt-2"] and len(calls) == 2
    (tmp_path / "empty").mkdir()
    assert list(tf.train.checkpoints_iterator(str(tmp_path / "empty"), timeout=0.5)) == []
