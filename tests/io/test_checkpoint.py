"""tf.train.Checkpoint / CheckpointManager / latest_checkpoint (TensorFlow's DCGAN tutorial and
"Training checkpoints" guide), on convnp's own files in TensorFlow's directory layout."""

import os

import numpy as np
import pytest

import convnp as tf

tfl = tf.keras.layers


def _gan():
    tf.keras.utils.set_random_seed(0)
    gen = tf.keras.Sequential([tfl.Dense(8, use_bias=False, input_shape=(4,)),
                               tfl.BatchNormalization(), tfl.LeakyReLU(), tfl.Dense(3)])
    disc = tf.keras.Sequential([tfl.Dense(5, input_shape=(3,)), tfl.LeakyReLU(), tfl.Dense(1)])
    return gen, disc, tf.keras.optimizers.Adam(1e-2), tf.keras.optimizers.Adam(1e-2)


def _step(gen, disc, g_opt, d_opt):
    bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)
    noise = tf.constant(np.random.default_rng(1).normal(size=(6, 4)).astype("float32"))
    with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
        fake = disc(gen(noise, training=True), training=True)
        g_loss = bce(tf.ones_like(fake), fake)
        d_loss = bce(tf.zeros_like(fake), fake)
    g_opt.apply_gradients(zip(g_tape.gradient(g_loss, gen.trainable_variables),
                              gen.trainable_variables))
    d_opt.apply_gradients(zip(d_tape.gradient(d_loss, disc.trainable_variables),
                              disc.trainable_variables))


def test_dcgan_save_and_restore_latest(tmp_path):
    gen, disc, g_opt, d_opt = _gan()
    checkpoint = tf.train.Checkpoint(generator_optimizer=g_opt, discriminator_optimizer=d_opt,
                                     generator=gen, discriminator=disc)
    prefix = os.path.join(tmp_path, "training_checkpoints", "ckpt")  # directory made by save
    _step(gen, disc, g_opt, d_opt)
    assert checkpoint.save(file_prefix=prefix) == prefix + "-1"
    _step(gen, disc, g_opt, d_opt)
    assert checkpoint.save(file_prefix=prefix) == prefix + "-2"
    directory = tmp_path / "training_checkpoints"
    assert sorted(os.listdir(directory)) == [
        "checkpoint", "ckpt-1.data-00000-of-00001", "ckpt-1.index",
        "ckpt-2.data-00000-of-00001", "ckpt-2.index"]
    # TensorFlow's state file after two Checkpoint.save calls names only the newest
    assert (directory / "checkpoint").read_text() == (
        'model_checkpoint_path: "ckpt-2"\nall_model_checkpoint_paths: "ckpt-2"\n')
    assert tf.train.latest_checkpoint(directory) == prefix + "-2"
    weights = [w.copy() for w in gen.get_weights() + disc.get_weights()]
    g_state = g_opt.get_state()

    _step(gen, disc, g_opt, d_opt)
    for v in gen.trainable_variables:
        v.assign(tf.zeros_like(v))
    status = checkpoint.restore(tf.train.latest_checkpoint(directory))
    assert status.assert_consumed() is status
    for a, b in zip(gen.get_weights() + disc.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    restored = g_opt.get_state()
    assert restored.keys() == g_state.keys() and int(g_opt.iterations.numpy()) == 2
    for key in g_state:
        np.testing.assert_array_equal(restored[key], g_state[key])
    assert int(checkpoint.save_counter.numpy()) == 2


def test_write_and_read_leave_the_counter_alone(tmp_path):
    step = tf.Variable(7, trainable=False)
    ckpt = tf.train.Checkpoint(step=step)
    path = ckpt.write(str(tmp_path / "w"))
    assert path == str(tmp_path / "w") and not (tmp_path / "checkpoint").exists()
    step.assign(1)
    ckpt.read(path).assert_consumed()
    assert int(step.numpy()) == 7 and int(ckpt.save_counter.numpy()) == 0
    assert tf.train.latest_checkpoint(tmp_path) is None
    assert tf.train.latest_checkpoint(tmp_path / "nothing") is None


class Net(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.l1 = tfl.Dense(5)

    def call(self, x):
        return self.l1(x)


def _toy_dataset():
    inputs = tf.range(10.)[:, None]
    labels = inputs * 5. + tf.range(5.)[None, :]
    return tf.data.Dataset.from_tensor_slices({"x": inputs, "y": labels}).repeat().batch(2)


def _train_step(net, example, optimizer):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.abs(net(example["x"]) - example["y"]))
    gradients = tape.gradient(loss, net.trainable_variables)
    optimizer.apply_gradients(zip(gradients, net.trainable_variables))
    return float(loss)


def _guide_run(directory, net, build_first):
    opt = tf.keras.optimizers.Adam(0.1)
    iterator = iter(_toy_dataset())
    ckpt = tf.train.Checkpoint(step=tf.Variable(1), optimizer=opt, net=net)
    manager = tf.train.CheckpointManager(ckpt, directory, max_to_keep=3)
    if build_first:
        net(tf.zeros((1, 1)))
    ckpt.restore(manager.latest_checkpoint)
    losses = []
    for _ in range(50):
        losses.append(_train_step(net, next(iterator), opt))
        ckpt.step.assign_add(1)
        if int(ckpt.step) % 10 == 0:
            manager.save()
    return losses, manager, ckpt


def test_training_checkpoints_guide_matches_tensorflow(tmp_path):
    net = Net()
    net(tf.zeros((1, 1)))
    net.set_weights([np.array([[0.1, -0.2, 0.3, 0.4, -0.5]], "float32"), np.zeros(5, "float32")])
    first, manager, _ = _guide_run(tmp_path, net, build_first=False)
    assert [os.path.basename(p) for p in manager.checkpoints] == ["ckpt-3", "ckpt-4", "ckpt-5"]
    second, manager, ckpt = _guide_run(tmp_path, Net(), build_first=True)
    losses = first + second
    # TensorFlow 2.21 / Keras 3.15.1 on the same program (the guide's, with these starting
    # weights and the new model built before restore): losses at steps 0, 9, 49, then the
    # restored run's 0, 1, 10, 49 (Adam's moments and iterations restored with it)
    np.testing.assert_allclose([losses[i] for i in (0, 9, 49, 50, 51, 60, 99)],
                               [4.490000247955322, 36.70916748046875, 4.265758514404297,
                                2.1345486640930176, 1.5081905126571655, 2.486314296722412,
                                0.5670452117919922], rtol=2e-5)
    assert [os.path.basename(p) for p in manager.checkpoints] == ["ckpt-8", "ckpt-9", "ckpt-10"]
    assert sorted(os.listdir(tmp_path))[:3] == ["checkpoint", "ckpt-10.data-00000-of-00001",
                                                "ckpt-10.index"]
    assert int(ckpt.step) == 100
    reopened = tf.train.CheckpointManager(ckpt, tmp_path, max_to_keep=3)
    assert reopened.checkpoints == manager.checkpoints
    assert reopened.latest_checkpoint == str(tmp_path / "ckpt-10")


def test_restore_before_the_weights_exist_is_deferred(tmp_path):
    net = Net()
    x = tf.constant([[1.0], [2.0]])
    expected = net(x).numpy()
    path = tf.train.Checkpoint(net=net).save(str(tmp_path / "ckpt"))
    fresh = Net()
    status = tf.train.Checkpoint(net=fresh).restore(path)
    with pytest.raises(AssertionError, match="waiting"):
        status.assert_consumed()
    with tf.GradientTape() as tape:  # the first call already computes with the values
        out = fresh(x)
        total = tf.reduce_sum(out)
    np.testing.assert_array_equal(out.numpy(), expected)
    kernel_grad = tape.gradient(total, fresh.trainable_variables)[0]
    np.testing.assert_allclose(kernel_grad.numpy(), np.full((1, 5), 3.0))
    status.assert_consumed()
    dense = tfl.Dense(5)
    tf.train.Checkpoint(net=dense).restore(path)
    np.testing.assert_array_equal(dense(x).numpy(), expected)
    seq = tf.keras.Sequential([tfl.Dense(5)])
    tf.train.Checkpoint(net=seq).restore(path)
    np.testing.assert_array_equal(seq.predict(x, verbose=0), expected)


def test_manager_numbers_and_initialize(tmp_path):
    v = tf.Variable(3.0)
    ckpt = tf.train.Checkpoint(v=v)
    calls = []
    manager = tf.train.CheckpointManager(ckpt, str(tmp_path / "m"), max_to_keep=None,
                                         init_fn=lambda: calls.append(1))
    assert manager.restore_or_initialize() is None and calls == [1]
    os.makedirs(tmp_path / "m")
    assert manager.save(checkpoint_number=10) == str(tmp_path / "m" / "ckpt-10")
    v.assign(0.0)
    assert manager.restore_or_initialize() == str(tmp_path / "m" / "ckpt-10")
    assert float(v.numpy()) == 3.0


def test_status_objects():
    status = tf.train.Checkpoint(v=tf.Variable(1.0)).restore(None)
    with pytest.raises(AssertionError, match="No checkpoint specified"):
        status.assert_consumed()
    assert status.expect_partial() is status


def test_partial_matches_are_reported(tmp_path):
    path = tf.train.Checkpoint(a=tf.Variable(1.0), b=tf.Variable(2.0)).write(str(tmp_path / "p"))
    a = tf.Variable(0.0)
    status = tf.train.Checkpoint(a=a).read(path)
    assert float(a.numpy()) == 1.0
    with pytest.raises(AssertionError, match="'b'"):
        status.assert_consumed()
    status.assert_existing_objects_matched().assert_nontrivial_match()
    c = tf.Variable(0.0)
    with pytest.raises(AssertionError, match="'c'"):
        tf.train.Checkpoint(a=a, c=c).read(path).assert_existing_objects_matched()


def test_bad_objects_and_files(tmp_path):
    with pytest.raises(ValueError, match="'step' must be a model or layer"):
        tf.train.Checkpoint(step=1)
    with pytest.warns(UserWarning, match="'iterator' is a dataset iterator"):
        kept = tf.train.Checkpoint(iterator=iter(_toy_dataset()), v=tf.Variable(1.0))
    assert sorted(kept._objects) == ["v"]
    kept.read(kept.write(str(tmp_path / "it"))).assert_consumed()
    ckpt = tf.train.Checkpoint(v=tf.Variable([1.0, 2.0]))
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        ckpt.restore(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="is a directory"):
        ckpt.restore(str(tmp_path))
    (tmp_path / "tf.index").write_bytes(b"\x00\x01 tensor bundle")
    with pytest.raises(ValueError, match="not a convnp checkpoint"):
        ckpt.restore(str(tmp_path / "tf"))
    path = tf.train.Checkpoint(v=tf.Variable([1.0, 2.0, 3.0])).write(str(tmp_path / "s"))
    with pytest.raises(ValueError, match="shape"):
        ckpt.read(path)
    with pytest.raises(ValueError, match="saved as a variable"):
        tf.train.Checkpoint(v=tf.keras.optimizers.Adam()).read(path)
    model = tf.keras.Sequential([tfl.Dense(2, input_shape=(3,))])
    path = tf.train.Checkpoint(net=model).write(str(tmp_path / "m"))
    other = tf.keras.Sequential([tfl.Dense(2, input_shape=(3,)), tfl.Dense(1)])
    with pytest.raises(ValueError, match="2 saved weights"):
        tf.train.Checkpoint(net=other).read(path)
    with pytest.raises(ValueError, match="max_to_keep"):
        tf.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=0)


def test_nested_checkpoints_and_attributes_set_later(tmp_path):
    inner_v, outer_v = tf.Variable([1.0, 2.0]), tf.Variable(5.0)
    ckpt = tf.train.Checkpoint(inner=tf.train.Checkpoint(v=inner_v))
    ckpt.extra = outer_v  # tracked as TensorFlow tracks attributes
    path = ckpt.save(str(tmp_path / "n"))
    inner_v.assign([0.0, 0.0])
    outer_v.assign(0.0)
    ckpt.restore(path).assert_consumed()
    assert np.asarray(inner_v.numpy()).tolist() == [1.0, 2.0] and float(outer_v.numpy()) == 5.0
    with pytest.raises(ValueError, match="'extra' must be"):
        ckpt.extra = 3.0
