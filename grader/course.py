"""The course on disk: course.toml, the lab folders, and where nbgrader keeps its working files.

Layout (the course root is the repository root):
  course.toml                      name, the instructors' repository, the editions' repositories,
                                   Colab extras, grading limits, whether feedback shows hidden tests
  solutions/<lab>/<nb>.ipynb       nbgrader source notebooks
  labs/<lab>/<nb>.ipynb            released student notebooks
  course_work/                     gitignored: submitted/, autograded/, feedback/, gradebook.db
Due dates and late work: grader/term/late.py.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .term.late import LatePolicy, read_policy

SOURCE = "solutions"
RELEASE = "labs"
WORK = "course_work"

GRADING_DEFAULTS = {
    "cell_timeout_s": 120,
    "notebook_timeout_s": 600,
    "memory_mb": 4096,
    "sandbox_memory_mb": 8192,
    "address_space_mb": 16384,
    "max_processes": 256,
    "cpu_time_s": 2400,
    "output_mb": 64,
    "disk_mb": 256,
    "output_kb_per_cell": 2048,
    "unzip_mb": 2048,
    "max_cells": 1000,
    "feedback_timeout_s": 300,
}


EDITIONS = ("class", "self-study")
EDITION_EXTRAS = ("lab", "keras")  # the extras of pyproject.toml that the editions publish
EXCHANGE_ROOT = "/srv/nbgrader/exchange"  # nbgrader's file exchange on a hub (grader/exchange.py)
OWNERS = ("system", "hashed", "any")  # how collect --exchange checks who made a submission
SHARD_SIZE = 10  # students per Dask task (grader/executors/dask.py); each pays a gradebook, a feedback pass


@dataclass(frozen=True)
class Edition:
    """Where one published edition of the course lives: the repository Colab clones, its branch."""

    repository: str
    branch: str


@dataclass(frozen=True)
class Course:
    """A course root and its course.toml settings."""

    root: Path
    name: str
    course_id: str
    repository: str
    branch: str
    editions: dict[str, Edition] = field(default_factory=dict)
    colab_extras: tuple[str, ...] = ()
    lab_extras: dict[str, tuple[str, ...]] = field(default_factory=dict)
    grading: dict[str, int] = field(default_factory=dict)
    show_hidden_tests: bool = False
    roster: Path | None = None  # [lms] roster: the CSV tying students to LMS ids (grader/term/lms.py)
    late: LatePolicy = LatePolicy()  # [late], [due], [extensions] (grader/term/late.py)
    db_url: str = ""  # [gradebook] db_url: nbgrader's gradebook database ('': SQLite in course_work/)
    scheduler: str = ""  # [cluster] scheduler: a Dask scheduler's address ('': grade on this machine)
    shard_size: int = SHARD_SIZE  # [cluster] shard_size: students per Dask task
    exchange_root: Path = Path(EXCHANGE_ROOT)  # [exchange] root: nbgrader's exchange folder
    exchange_owners: str = "system"  # [exchange] owners: who may own a student's submission folder

    @property
    def source_dir(self) -> Path:
        return self.root / SOURCE

    @property
    def release_dir(self) -> Path:
        return self.root / RELEASE

    @property
    def work_dir(self) -> Path:
        return self.root / WORK

    @property
    def gradebook_url(self) -> str:
        """The SQLAlchemy URL of nbgrader's gradebook that every grader command uses."""
        return self.db_url or f"sqlite:///{self.work_dir / 'gradebook.db'}"

    def labs(self) -> list[str]:
        """Names of the lab folders in solutions/ that hold at least one notebook, sorted."""
        if not self.source_dir.is_dir():
            raise FileNotFoundError(
                f"no {SOURCE}/ folder in {self.root}: is this the course root (where course.toml is)?"
            )
        return sorted(
            p.name for p in self.source_dir.iterdir() if p.is_dir() and any(p.glob("*.ipynb"))
        )

    def notebooks(self, lab: str) -> list[Path]:
        """The source notebooks of one lab, sorted by name."""
        folder = self.source_dir / lab
        if not folder.is_dir():
            raise ValueError(f"unknown lab {lab!r}: the labs are {', '.join(self.labs())}")
        return sorted(folder.glob("*.ipynb"))

    def edition(self, name: str = "class") -> Edition:
        """The published edition ``name`` ("class": the students' repository, or "self-study")."""
        if name not in self.editions:
            raise ValueError(
                f"course.toml has no [editions.{name}] with a repository and a branch "
                "(see docs/instructors.md)"
            )
        return self.editions[name]

    def extras_for(self, lab: str) -> tuple[str, ...]:
        """The package extras the Colab bootstrap installs for ``lab``."""
        return self.lab_extras.get(lab, self.colab_extras)


def load_course(root: Path | str = ".") -> Course:
    """Read ``<root>/course.toml`` and check its required keys; clear errors for missing ones."""
    root = Path(root).resolve()
    path = root / "course.toml"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: run the grader from the course root (the folder with course.toml)"
        )
    try:
        config = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path} is not valid TOML: {error}") from error
    course = config.get("course", {})
    missing = [key for key in ("name", "repository", "branch") if not course.get(key)]
    if missing:
        raise ValueError(f"{path}: [course] needs {', '.join(missing)} (see docs/instructors.md)")
    colab = config.get("colab", {})
    editions = _editions(config.get("editions", {}), path)
    grading = dict(GRADING_DEFAULTS)
    for key, value in config.get("grading", {}).items():
        if key not in GRADING_DEFAULTS:
            raise ValueError(
                f"{path}: unknown [grading] key {key!r}; known: {', '.join(GRADING_DEFAULTS)}"
            )
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f"{path}: [grading] {key} must be a positive integer, got {value!r}")
        grading[key] = value
    return Course(
        root=root,
        name=course["name"],
        course_id=course.get("id", "course"),
        repository=course["repository"],
        branch=course["branch"],
        editions=editions,
        colab_extras=tuple(colab.get("extras", ())),
        lab_extras={lab: tuple(extras) for lab, extras in colab.get("lab_extras", {}).items()},
        grading=grading,
        show_hidden_tests=bool(config.get("feedback", {}).get("show_hidden_tests", False)),
        roster=root / config["lms"]["roster"] if config.get("lms", {}).get("roster") else None,
        late=read_policy(config, str(path)),
        db_url=_db_url(config.get("gradebook", {}), path),
        **_cluster(config.get("cluster", {}), path),
        **_exchange(config.get("exchange", {}), path),
    )


def _cluster(table: dict, path: Path) -> dict:
    """[cluster] scheduler (tcp://HOST:PORT) and shard_size (a positive integer)."""
    unknown = sorted(set(table) - {"scheduler", "shard_size"})
    if unknown:
        raise ValueError(f"{path}: unknown [cluster] key(s) {', '.join(unknown)}; known: scheduler, "
                         "shard_size")
    shard_size = table.get("shard_size", SHARD_SIZE)
    if not isinstance(shard_size, int) or shard_size <= 0:
        raise ValueError(f"{path}: [cluster] shard_size must be a positive integer, got {shard_size!r}")
    return {"scheduler": table.get("scheduler", ""), "shard_size": shard_size}


def _exchange(table: dict, path: Path) -> dict:
    """[exchange] root (an absolute folder) and owners (one of OWNERS)."""
    unknown = sorted(set(table) - {"root", "owners"})
    if unknown:
        raise ValueError(f"{path}: unknown [exchange] key(s) {', '.join(unknown)}; known: root, owners")
    root, owners = table.get("root", EXCHANGE_ROOT), table.get("owners", "system")
    if not isinstance(root, str) or not Path(root).is_absolute():
        raise ValueError(f"{path}: [exchange] root must be an absolute folder, got {root!r}")
    if owners not in OWNERS:
        raise ValueError(f"{path}: [exchange] owners must be one of {', '.join(OWNERS)}, not {owners!r}")
    return {"exchange_root": Path(root), "exchange_owners": owners}


def _db_url(table: dict, path: Path) -> str:
    """[gradebook] db_url: '' (SQLite in course_work/), a sqlite:/// or a postgresql:// URL."""
    url = table.get("db_url", "")
    if url and not url.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg2://")):
        raise ValueError(f"{path}: [gradebook] db_url must be a sqlite:///PATH or postgresql://"
                         f"USER@HOST:PORT/DATABASE URL, not {url.split(':')[0]!r}...")
    return url



def _editions(table: dict, path: Path) -> dict[str, Edition]:
    """[editions.<name>] tables of course.toml; the class edition is required."""
    unknown = sorted(set(table) - set(EDITIONS))
    if unknown:
        raise ValueError(f"{path}: unknown edition(s) {', '.join(unknown)}; known: {', '.join(EDITIONS)}")
    if "class" not in table:
        raise ValueError(
            f"{path}: [editions.class] is missing: it names the students' repository (repository, "
            "branch) that the Colab badges and bootstrap cells point at (see docs/instructors.md)"
        )
    editions = {}
    for name, settings in table.items():
        missing = [key for key in ("repository", "branch") if not settings.get(key)]
        if missing:
            raise ValueError(f"{path}: [editions.{name}] needs {', '.join(missing)}")
        editions[name] = Edition(settings["repository"], settings["branch"])
    return editions
