"""One-hot character batches for Keras: padded to one length, or bucketed by length.

A caption of L characters becomes L + 1 time steps: the inputs are the start symbol followed by
the characters, the targets are the characters followed by the end symbol. Positions past a
caption's end are padding: all-zero one-hot rows with weight 0, so a loss built with
``reduction="mean_with_sample_weight"`` averages over real characters only.

``LengthBucketedBatches`` groups captions of similar length, so each batch is only as long as its
own longest caption (variable T per batch) and almost no time steps are spent on padding.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np


def _check_sequences(sequences: Sequence[Sequence[int]], vocab_size: int, start_id: int,
                     end_id: int) -> list[np.ndarray]:
    """Validate the arguments shared by every function here; returns the sequences as int arrays."""
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be at least 2 (start and end symbols), got {vocab_size}")
    for name, value in (("start_id", start_id), ("end_id", end_id)):
        if not 0 <= value < vocab_size:
            raise ValueError(f"{name}={value} is outside the vocabulary [0, {vocab_size})")
    if start_id == end_id:
        raise ValueError("start_id and end_id must differ: the model has to tell them apart")
    if len(sequences) == 0:
        raise ValueError("no sequences given: is the caption list empty?")
    arrays = []
    for i, seq in enumerate(sequences):
        ids = np.asarray(seq, dtype=np.int64)
        if ids.ndim != 1:
            raise ValueError(f"sequence {i} has shape {ids.shape}: expected a flat list of ids")
        if ids.size and (ids.min() < 0 or ids.max() >= vocab_size):
            raise ValueError(
                f"sequence {i} has ids outside [0, {vocab_size}): encode it with the same "
                "vocabulary as vocab_size"
            )
        if np.isin(ids, (start_id, end_id)).any():
            raise ValueError(
                f"sequence {i} contains the start or end id: pass the characters only, the "
                "symbols are added here"
            )
        arrays.append(ids)
    return arrays


def one_hot_pairs(sequences: Sequence[Sequence[int]], vocab_size: int, start_id: int,
                  end_id: int, seq_len: int | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shifted one-hot inputs and targets for N character-id sequences, padded to seq_len.

    sequences: N sequences of character ids (no start or end symbol), values in [0, vocab_size)
    seq_len:   T, at least 1 + the longest sequence (None: exactly that)
    returns:   x (N, T, V) float32 one-hot of [start, c_1, ..., c_L], zero rows after;
               y (N, T, V) float32 one-hot of [c_1, ..., c_L, end], zero rows after;
               weights (N, T) float32, 1 on the L + 1 real steps, 0 on padding
    """
    arrays = _check_sequences(sequences, vocab_size, start_id, end_id)
    longest = 1 + max(a.size for a in arrays)
    if seq_len is None:
        seq_len = longest
    elif seq_len < longest:
        raise ValueError(f"seq_len={seq_len} is too short: the longest caption needs {longest}")
    n = len(arrays)
    x = np.zeros((n, seq_len, vocab_size), dtype=np.float32)
    y = np.zeros((n, seq_len, vocab_size), dtype=np.float32)
    weights = np.zeros((n, seq_len), dtype=np.float32)
    for i, ids in enumerate(arrays):
        steps = np.arange(ids.size + 1)
        x[i, steps, np.concatenate([[start_id], ids])] = 1.0
        y[i, steps, np.concatenate([ids, [end_id]])] = 1.0
        weights[i, steps] = 1.0
    return x, y, weights


class LengthBucketedBatches(keras.utils.PyDataset):
    """Keras dataset of batches of captions with similar lengths (variable T per batch).

    Each epoch the captions are sorted by length (ties broken at random), cut into consecutive
    batches of batch_size, and the batches are visited in random order (the first two always of
    different lengths when the data allows, so that Keras does not fix T from them).

    sequences:  N sequences of character ids (no start or end symbol)
    vocab_size: V, the size of the one-hot vectors
    batch i ->  (x (B, T_i, V), y (B, T_i, V), weights (B, T_i)) as in ``one_hot_pairs``,
                with T_i = 1 + the longest caption in the batch
    """

    def __init__(self, sequences: Sequence[Sequence[int]], vocab_size: int, start_id: int,
                 end_id: int, batch_size: int = 128, shuffle: bool = True, seed: int = 0):
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.sequences = _check_sequences(sequences, vocab_size, start_id, end_id)
        self.lengths = np.array([s.size for s in self.sequences])
        self.vocab_size = vocab_size
        self.start_id = start_id
        self.end_id = end_id
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.batches = self._plan()

    def _plan(self) -> list[np.ndarray]:
        """Index arrays of the batches, in the order this epoch visits them."""
        ties = self.rng.random(self.lengths.size) if self.shuffle else 0.0
        order = np.argsort(self.lengths + ties, kind="stable")
        batches = [order[i:i + self.batch_size] for i in range(0, order.size, self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in self.rng.permutation(len(batches))]
        return self._first_two_lengths_differ(batches)

    def _first_two_lengths_differ(self, batches: list[np.ndarray]) -> list[np.ndarray]:
        """Keras (TensorFlow backend) fixes the shape of every batch from the first two it reads:
        if both have the same T, a later, longer batch fails. Bring a batch of another length to
        the second place, when there is one."""
        longest = [self.lengths[b].max() for b in batches]
        other = next((i for i in range(1, len(batches)) if longest[i] != longest[0]), None)
        if other is not None:
            batches[1], batches[other] = batches[other], batches[1]
        return batches

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not 0 <= index < len(self.batches):
            raise IndexError(f"batch {index} does not exist: there are {len(self.batches)}")
        chosen = [self.sequences[i] for i in self.batches[index]]
        return one_hot_pairs(chosen, self.vocab_size, self.start_id, self.end_id)

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.batches = self._plan()

    @property
    def real_steps(self) -> int:
        """Time steps that carry a real target in one epoch: sum of (L + 1) over captions."""
        return int((self.lengths + 1).sum())

    def padding_fraction(self) -> float:
        """Fraction of the time steps of one epoch's batches that are padding."""
        total = sum(len(b) * (1 + self.lengths[b].max()) for b in self.batches)
        return 1.0 - self.real_steps / total
