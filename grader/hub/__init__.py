"""The class on JupyterHub: the hub's configuration (jupyterhub_config.py), the settings it reads
from course.toml (settings.py), the students' server settings (student/) and formgrader as a hub
service (formgrader_service.py). docs/hub.md says how to run it."""
