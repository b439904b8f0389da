"""Settings that point at other machines, checked before a command relies on them: a
connection error is then one line naming the setting, never a long traceback."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

TIMEOUT_S = 10


def check_gradebook(db_url: str) -> None:
    """Fail in one line when the gradebook database at ``db_url`` does not answer."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    url = make_url(db_url)
    engine = create_engine(url, connect_args={"connect_timeout": TIMEOUT_S})
    try:
        engine.connect().close()
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
        raise RuntimeError(f"cannot reach the gradebook database at "
                           f"{url.render_as_string(hide_password=True)} (course.toml [gradebook] "
                           f"db_url): {reason}") from None
    finally:
        engine.dispose()


def check_scheduler(scheduler: str) -> None:
    """Fail in one line when nothing answers at the Dask scheduler's address."""
    where = urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}")
    try:
        socket.create_connection((where.hostname, where.port or 8786), timeout=TIMEOUT_S).close()
    except (OSError, ValueError) as error:
        raise RuntimeError(f"cannot reach the Dask scheduler at {scheduler} (--scheduler, or "
                           f"course.toml [cluster] scheduler): {error}") from None
