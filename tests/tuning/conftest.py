"""Fixtures of the tuning tests: a real PostgreSQL server (a temporary cluster, stopped
afterwards) and two ``acn-sklearn tune`` worker processes on one study."""

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

#: Where Debian's postgresql packages put the server binaries, one folder per version.
DEBIAN_BINARIES = "/usr/lib/postgresql/*/bin"


def postgres_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: on PATH, else the newest Debian one."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl", path=str(Path(on_path).parent)):
        return Path(on_path).parent
    folders = [
        Path(folder)
        for folder in glob.glob(DEBIAN_BINARIES)
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists()
    ]
    return max(folders, key=lambda f: int(f.parent.name), default=None)


def server_user() -> str | None:
    """Who runs the server: PostgreSQL refuses root, so as root its own 'postgres' user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres").pw_name
    except KeyError:
        pytest.skip("running as root, and no 'postgres' user to run the PostgreSQL server as")


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a fresh PostgreSQL database on a unix socket in a temporary folder.

    ``initdb`` makes a cluster with trust authentication, ``pg_ctl`` starts it
    listening on a socket only (no TCP port to collide with), and the session's
    end stops it and removes the folder. As root, the server runs as the
    ``postgres`` user (``runuser``), which owns the folder.
    """
    pytest.importorskip("psycopg", reason='needs pip install "acn-sklearn[postgres]"')
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip(f"no PostgreSQL server (initdb, pg_ctl) on PATH or in {DEBIAN_BINARIES}")
    user = server_user()
    folder = Path(tempfile.mkdtemp(prefix="acn-pg-"))
    if user is not None:
        shutil.chown(folder, user)
    data, log = folder / "data", folder / "server.log"
    as_user = ["runuser", "-u", user, "--"] if user else []

    def run(*command):
        subprocess.run([*as_user, *map(str, command)], check=True, capture_output=True)

    options = f"-k {folder} -c listen_addresses='' -c fsync=off -p 5432"
    try:
        run(binaries / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync")
        try:
            run(binaries / "pg_ctl", "-D", data, "-l", log, "-o", options, "-w", "start")
        except subprocess.CalledProcessError:
            pytest.fail(f"PostgreSQL did not start: {log.read_text()[-2000:]}")
        try:
            yield f"postgresql+psycopg://postgres@/postgres?host={folder}&port=5432"
        finally:
            run(binaries / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder)


@pytest.fixture
def two_tune_workers(tmp_path):
    """Run two ``acn-sklearn tune`` processes on study "shared" in ``storage``; return it."""
    import sys

    import optuna

    from acn_sklearn.tuning import make_storage

    def run(storage: str, tune_arguments: list[str]) -> optuna.Study:
        command = [sys.executable, "-m", "acn_sklearn.cli", "tune", *tune_arguments]
        command += ["--storage", storage, "--study-name", "shared", "--resume"]
        workers = [
            subprocess.Popen(
                [*command, "-o", str(tmp_path / f"worker{i}")],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for i in range(2)
        ]
        for worker in workers:
            _, err = worker.communicate(timeout=300)
            assert worker.returncode == 0, err.decode()[-2000:]
        return optuna.load_study(study_name="shared", storage=make_storage(storage))

    return run
