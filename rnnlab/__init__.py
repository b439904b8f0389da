"""rnnlab: the small helper package shared by the RNN Labs notebooks.

Modules (import what you need, e.g. ``from rnnlab import text``):
  runtime    run profile, device, seeding, data folders
  text       tokenizers and detokenizer, Vocabulary, character vocabularies
  datasets   shapes (embedded captioned scenes), coco (COCO-format captions), corpora (text files),
             download (checksummed downloads of the full datasets),
             shapes_features (PCA image features and encoded captions of the scenes, lab 04)
  decoding   drawing a token id from probabilities the lab computed
  diagrams   explanatory figures: RNN wirings, next-word targets, top-k sampling with the lab's
             own probabilities (lab 02)
  metrics    BLEU, perplexity, exact caption truth on shapes scenes
  gradcheck  gradient checks: how far an analytic gradient is from a numerical one
  layers_numpy  NumPy affine, temporal affine and temporal softmax layers (lab 04)
  solver     a NumPy minibatch trainer: SGD/Adam, learning-rate decay, loss history (lab 04)
  vision     images, ImageNet normalisation, pretrained-weight resolution
  plotting   loss curves and captioned image grids
  captioning mirrored captions, cached encoder features, caption scores, mixed precision (lab 05)
  inversion  the hidden VGG-16 activations, multi-scale image, SSIM (lab 06)
  batching   shifted one-hot character batches, padded or bucketed by length, for Keras (lab 01)
  char_samples  words of sampled sentences and their valid-word rate (lab 01)
  probing, judging  tests in two halves: a probe calls your code, a judge decides elsewhere
  check      `python -m rnnlab.check <lab>`: your notebook run and judged as grading does
  environment  lab 00's check of the machine: each framework imported in a child process
"""

__version__ = "0.1.0"
