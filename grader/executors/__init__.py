"""Where the per-student grading runs. Each executor is one function

    grade(course, tasks, labs, progress, ...) -> [(course copy, [Graded, ...]), ...]

that grades every task (a student's lab) with grader/executors/worker.py and returns each
worker's course copy with its results, for grader/autograde.py to merge; ``progress`` is told of
the submissions graded as they finish. local.py: ``--jobs N`` threads on this machine; dask.py:
shards on a Dask cluster (``--scheduler``). Neither imports grader/autograde.py.
"""
