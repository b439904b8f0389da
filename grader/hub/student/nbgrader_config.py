# nbgrader in a student's server on the course's hub (grader/hub/jupyterhub_config.py sets both
# variables): the assignment list fetches from and submits to the course's exchange.
import os

c = get_config()  # noqa: F821 (nbgrader's configuration loader defines it)
c.Exchange.root = os.environ["RNNLAB_EXCHANGE"]
c.CourseDirectory.course_id = os.environ["RNNLAB_COURSE_ID"]
