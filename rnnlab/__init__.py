"""rnnlab: the small helper package shared by the RNN Labs notebooks.

Modules (import what you need, e.g. ``from rnnlab import text``):
  runtime    run profile, device, seeding, data folders
  text       tokenizers, Vocabulary, character vocabularies
  datasets   shapes (embedded captioned scenes), coco (COCO-format captions), corpora (text files),
             download (checksummed downloads of the full datasets)
  decoding   greedy, temperature and top-k sampling
  metrics    BLEU, perplexity, exact caption truth on shapes scenes
  gradcheck  numerical gradients and relative error
  training   a small torch fit loop
  vision     images, ImageNet normalisation, pretrained-weight resolution
  plotting   loss curves and captioned image grids
"""

__version__ = "0.1.0"
