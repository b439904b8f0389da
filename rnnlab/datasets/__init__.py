"""Datasets used by the labs: embedded shapes scenes, COCO-format captions, text corpora, downloads."""
