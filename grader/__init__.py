"""Instructor tooling for RNN Labs: release, collect, autograde (sandboxed, parallel), feedback, export."""
