"""CTC decoding of ``(batch, steps, classes)`` scores into label sequences, pure NumPy.

`greedy_decode` takes each step's best class, drops the blank class (and, with
``merge_repeated``, a class equal to the step before's); its score is minus the sum of the
chosen inputs. `beam_search_decode` is the prefix beam search TensorFlow's
``CTCBeamSearchDecoder`` runs: the inputs are normalised to log-probabilities per step, a beam
of at most ``beam_width`` label prefixes carries each prefix's log-probability of ending in a
blank and in its last label, and the ``top_paths`` most probable prefixes are returned with
their log-probabilities. Both return dense ``(paths, batch, steps)`` labels padded with -1.

Callers check their arguments (`convnp.keras.ops_nn.ctc_decode`,
`convnp.keras.backend.ctc_decode`); these functions assume valid ones.
"""

from __future__ import annotations

import numpy as np

PAD = -1


def greedy_decode(scores: np.ndarray, lengths: np.ndarray, blank: int,
                  merge_repeated: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Best class per step over the first ``lengths[i]`` steps of ``scores`` ``(B, T, C)``.

    Returns ``(labels (1, B, T) int64, -sum of each row's best scores (B, 1))``."""
    batch, steps, _ = scores.shape
    best = scores.argmax(axis=-1)
    inside = np.arange(steps)[None, :] < lengths[:, None]
    total = -np.where(inside, scores.max(axis=-1), 0).sum(axis=1, dtype=np.float64)
    keep = inside & (best != blank)
    if merge_repeated:
        keep[:, 1:] &= best[:, 1:] != best[:, :-1]
    out = np.full((batch, steps), PAD, dtype=np.int64)
    for i in range(batch):
        chosen = best[i][keep[i]]
        out[i, :chosen.size] = chosen
    return out[None], total[:, None]


class _Prefix:
    """One node of the prefix tree: a label sequence (its labels up to the root), with its
    log-probabilities at the step before (``old_*``) and at this step (``blank``, ``emit``:
    ending in a blank / in its last label; ``total``: either). ``total`` is -inf for a prefix
    out of the beam."""

    __slots__ = (
        "blank",
        "children",
        "emit",
        "label",
        "old_blank",
        "old_total",
        "parent",
        "total",
    )

    def __init__(self, label: int, parent):
        self.label = label
        self.parent = parent
        self.children: dict[int, _Prefix] = {}
        self.reset()
        self.old_blank = self.old_total = -np.inf

    def reset(self) -> None:
        self.blank = self.emit = self.total = -np.inf

    def labels(self, merge_repeated: bool) -> list[int]:
        out = []
        node = self
        while node.parent is not None:
            if not (merge_repeated and out and out[-1] == node.label):
                out.append(node.label)
            node = node.parent
        return out[::-1]


class _Beam:
    """The prefixes in the beam, at most ``width``; its weakest is found again only after it
    is replaced."""

    def __init__(self, width: int):
        self.width = width
        self.members: list[_Prefix] = []
        self.bottom: _Prefix | None = None

    def full(self) -> bool:
        return len(self.members) >= self.width

    def admits(self, total: float) -> bool:
        return total > -np.inf and (not self.full() or total > self.bottom.total)

    def add(self, prefix: _Prefix) -> None:
        if self.full():
            # the weakest leaves the beam: it is no longer active
            self.members.remove(self.bottom)
            self.bottom.reset()
            self.members.append(prefix)
            self.bottom = min(self.members, key=lambda p: p.total)
            return
        self.members.append(prefix)
        if self.bottom is None or prefix.total < self.bottom.total:
            self.bottom = prefix


def _log_softmax(row: np.ndarray) -> np.ndarray:
    top = row.max()
    return row - (top + np.log(np.exp(row - top).sum()))


def _logaddexp(a: float, b: float) -> float:
    return float(np.logaddexp(a, b))


def _step(beam: _Beam, logp: np.ndarray, blank: int, labels: np.ndarray) -> _Beam:
    branches = sorted(beam.members, key=lambda p: -p.total)
    for prefix in branches:
        prefix.old_blank, prefix.old_total = prefix.blank, prefix.total
    nxt = _Beam(beam.width)
    # the prefixes of the beam at this step: ending in a blank after any ending, in their
    # label again (collapsed), or in their label newly (from the parent, when it is in the
    # beam: after its blank only if the label repeats the parent's)
    for prefix in branches:
        parent = prefix.parent
        if parent is not None:
            if parent.total > -np.inf:
                before = parent.old_blank if prefix.label == parent.label else parent.old_total
                prefix.emit = _logaddexp(prefix.emit, before)
            prefix.emit += logp[prefix.label]
        prefix.blank = prefix.old_total + logp[blank]
        prefix.total = _logaddexp(prefix.blank, prefix.emit)
        nxt.members.append(prefix)
    if nxt.members:
        nxt.bottom = min(nxt.members, key=lambda p: p.total)
    # new prefixes: one more label after a prefix of the beam, admitted while they beat the
    # weakest member of a full beam
    for prefix in branches:
        if not nxt.admits(prefix.old_total):
            continue
        scores = logp[labels] + prefix.old_total
        same = labels == prefix.label
        if same.any():
            scores[same] = logp[prefix.label] + prefix.old_blank
        floor = nxt.bottom.total if nxt.full() else -np.inf
        # labels in order (which prefix is weakest when one is tried depends on it): the
        # hopeful ones, and those of children known before (a child out of the beam that
        # does not come back is forgotten altogether, its step before too, so it extends
        # nothing more at this step: as TensorFlow does)
        hopeful = dict(zip(labels[scores > floor].tolist(),
                           scores[scores > floor].tolist()))
        for label in sorted(hopeful.keys() | prefix.children.keys()):
            child = prefix.children.get(label)
            if child is not None and child.total > -np.inf:  # in the beam: counted above
                continue
            score = hopeful.get(label)
            if score is not None and nxt.admits(score):
                if child is None:
                    child = prefix.children[label] = _Prefix(label, prefix)
                child.blank, child.emit, child.total = -np.inf, score, score
                nxt.add(child)
            elif child is not None:
                child.reset()
                child.old_blank = child.old_total = -np.inf
    return nxt


def beam_search_decode(logits: np.ndarray, lengths: np.ndarray, blank: int, beam_width: int,
                       top_paths: int, merge_repeated: bool = False
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The ``top_paths`` most probable label sequences of each row of ``logits``
    ``(B, T, C)`` (softmax over classes per step) read up to ``lengths``, best first.

    Returns ``(labels (top_paths, B, T) int64, log-probabilities (B, top_paths))``. With
    ``merge_repeated`` a label equal to the one before it in a returned sequence is dropped
    (TensorFlow 1's ``merge_repeated`` of the beam search). Raises ValueError when a beam
    holds fewer than ``top_paths`` sequences (TensorFlow's "Less leaves in the beam search
    than requested")."""
    batch, steps, classes = logits.shape
    labels = np.array([c for c in range(classes) if c != blank], dtype=np.int64)
    out = np.full((top_paths, batch, steps), PAD, dtype=np.int64)
    log_probs = np.zeros((batch, top_paths))
    for i in range(batch):
        root = _Prefix(PAD, None)
        root.total = root.blank = 0.0
        beam = _Beam(beam_width)
        beam.members.append(root)
        beam.bottom = root
        for t in range(int(lengths[i])):
            beam = _step(beam, _log_softmax(logits[i, t].astype(np.float64)), blank, labels)
        if len(beam.members) < top_paths:
            raise ValueError(f"ctc_decode: the beam search of sequence {i} ends with "
                             f"{len(beam.members)} paths, fewer than top_paths={top_paths} "
                             f"requested")
        best = sorted(beam.members, key=lambda p: -p.total)[:top_paths]
        for k, prefix in enumerate(best):
            seq = prefix.labels(merge_repeated)
            out[k, i, :len(seq)] = seq
            log_probs[i, k] = prefix.total
    return out, log_probs
