"""The README's custom-layer and training-loop examples run as printed."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks_after(heading: str) -> list[str]:
    text = README.read_text()
    start = text.index(heading)
    end = text.index("**Data.**", start)
    return re.findall(r"```python\n(.*?)```", text[start:end], flags=re.DOTALL)


def test_custom_layer_and_training_loop_examples_run(capsys):
    blocks = _blocks_after("**Your own layers, losses and training loops.**")
    assert len(blocks) == 3
    namespace: dict = {}
    import convnp as tf

    tf.keras.utils.set_random_seed(0)
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 (our README)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["epoch 0", "epoch 1", "epoch 2"]
    model, x, y = namespace["model"], namespace["x"], namespace["y"]
    accuracy = (model.predict(x, verbose=0).argmax(axis=1) == y).mean()
    assert accuracy > 0.9
    # the gradient-penalty example: every critic weight gets its gradient
    critic, d_grads = namespace["critic"], namespace["d_grads"]
    assert [g.shape for g in d_grads] == [v.shape for v in critic.trainable_variables]
    assert float(namespace["gp"]) > 0
