"""Timing and quality benchmarks of RNN Labs: ``python -m bench [name ...]`` (``make bench``)."""
