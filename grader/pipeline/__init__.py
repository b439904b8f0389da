"""The grading pipeline: execute (probe in the sandbox) -> judge (outside it)."""
