# JupyterHub for the class: run as root from the course root (docs/hub.md):
#   .venv/bin/jupyterhub -f grader/hub/jupyterhub_config.py
# Everything course-specific comes from course.toml ([course] id, [exchange] root, [hub]) through
# grader/hub/settings.py; options given on the command line override these.
from pathlib import Path

from jupyterhub.utils import random_port

from grader.hub import settings

c = get_config()  # noqa: F821 (JupyterHub's configuration loader defines it)
hub = settings.read_hub(Path.cwd())
hub.state.mkdir(mode=0o700, parents=True, exist_ok=True)

c.JupyterHub.bind_url = hub.url
c.JupyterHub.db_url = f"sqlite:///{hub.state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(hub.state / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.command = [settings.venv_program("configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(hub.state / "jupyterhub-proxy.pid")

# Users: the system's accounts (PAM), those that course.toml names only, by group.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(hub.students) | set(hub.instructors)
c.JupyterHub.load_groups = settings.groups(hub)
c.JupyterHub.load_roles = settings.roles()

# Each user's server: a local process as that user, in their home, settings by group.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [settings.venv_program("jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"


def by_group(spawner):
    """The settings of the user's group (students: the assignment list; instructors: none)."""
    environment = settings.server_environment(hub, {group.name for group in spawner.user.groups})
    spawner.environment = {**spawner.environment, **environment}


c.Spawner.pre_spawn_hook = by_group
c.JupyterHub.services = [settings.formgrader_service(hub, random_port())]
