"""The tests' PostgreSQL server: real, with pgvector, on loopback, never running as root."""

from pathlib import Path

import pytest
from sqlalchemy import text

from papertide.local_postgres import free_port

pytestmark = pytest.mark.postgres


def test_server_has_pgvector_and_answers_nearest_neighbours_from_an_hnsw_index(postgres_databases):
    database = postgres_databases.create()
    try:
        with database.engine.begin() as connection:
            version = connection.scalar(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'"))
            connection.execute(text("CREATE TABLE items (id int PRIMARY KEY, embedding vector(3))"))
            connection.execute(text(
                "INSERT INTO items SELECT i, ARRAY[cos(i), sin(i), i % 7]::vector FROM generate_series(1, 500) AS i"
            ))
            connection.execute(text("CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops)"))
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            query = "SELECT id FROM items ORDER BY embedding <=> '[1, 0, 0]' LIMIT 5"
            plan = "\n".join(connection.scalars(text(f"EXPLAIN {query}")))
            found = connection.scalars(text(query)).all()
            exact = connection.scalars(text(
                "SELECT id FROM (SELECT id, embedding <=> '[1, 0, 0]' AS d FROM items) AS s ORDER BY d LIMIT 5"
            )).all()
    finally:
        postgres_databases.drop(database)
    assert tuple(int(part) for part in version.split(".")) >= (0, 8, 0)
    assert "items_embedding_idx" in plan
    assert found == exact


def test_server_listens_on_loopback_and_runs_unprivileged(postgres_server, postgres_databases):
    """PostgreSQL refuses root; under root (CI) the server runs as an unprivileged account."""
    with postgres_databases.admin.connect() as connection:
        listen = connection.scalar(text("SHOW listen_addresses"))
        backend_pid = connection.scalar(text("SELECT pg_backend_pid()"))
        owner_uid = Path(f"/proc/{backend_pid}").stat().st_uid
    assert listen == "127.0.0.1"
    assert postgres_server.url().startswith("postgresql+psycopg://postgres@127.0.0.1:")
    assert owner_uid != 0


def test_full_text_search_folds_unicode_case(postgres_databases):
    with postgres_databases.admin.connect() as connection:
        vector = connection.scalar(text("SELECT to_tsvector('english', 'ÉCOLE Transformers')::text"))
    assert vector == "'transform':2 'école':1"


def test_local_server_command_runs_in_the_foreground_and_keeps_its_data(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import tempfile

    from sqlalchemy import create_engine

    port = free_port()
    directory = Path(tempfile.mkdtemp(prefix="papertide-local-server-")) / "pg"
    directory.parent.chmod(0o755)  # when the tests run as root, the server runs as nobody and must get in
    command = [sys.executable, "-m", "papertide", "db", "local-server", str(directory), "--port", str(port)]

    def run_once(statement: str):
        # Ctrl-C as a terminal sends it: a suite started in the background of a script inherits
        # SIGINT ignored (POSIX), and so would this command, which then never hears it.
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ,
                                  preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            first_line = server.stdout.readline()  # printed once the server accepts connections
            assert f"127.0.0.1:{port}" in first_line, server.stderr.read()
            engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                cursor = connection.execute(text(statement))
                result = cursor.all() if cursor.returns_rows else None
            engine.dispose()
        finally:
            server.send_signal(signal.SIGINT)
            # Waits for the command itself. The bound only catches a hang: LocalPostgres.stop ends the
            # server within its grace periods, and a busy machine may take long to run the rest.
            assert server.wait(timeout=600) == 0
        return result

    try:
        run_once("CREATE TABLE kept (id int)")
        assert run_once("SELECT count(*) FROM kept") == [(0,)]
        def command_line(path: Path) -> str:
            try:
                return path.read_bytes().decode(errors="replace")
            except OSError:  # the process ended while we looked
                return ""

        still_running = [p for p in Path("/proc").glob("[0-9]*/cmdline") if str(directory) in command_line(p)]
        assert still_running == []  # Ctrl-C stopped the server, not just the command
    finally:
        import shutil

        shutil.rmtree(directory.parent, ignore_errors=True)


def test_the_server_stops_when_whatever_started_it_is_killed(tmp_path):
    """kill -9 of a test run (or of ``papertide db local-server``) leaves no PostgreSQL behind."""
    import os
    import signal
    import subprocess
    import sys
    import tempfile
    import time

    directory = Path(tempfile.mkdtemp(prefix="papertide-orphan-")) / "pg"
    directory.parent.chmod(0o755)
    port = free_port()
    command = [sys.executable, "-m", "papertide", "db", "local-server", str(directory), "--port", str(port)]
    starter = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        assert f"127.0.0.1:{port}" in starter.stdout.readline(), starter.stderr.read()
        postmaster = int((directory / "data" / "postmaster.pid").read_text().split()[0])
        starter.send_signal(signal.SIGKILL)
        starter.wait(timeout=30)
        deadline = time.monotonic() + 60
        while Path(f"/proc/{postmaster}").exists() and _state(postmaster) != "Z":
            assert time.monotonic() < deadline, "PostgreSQL outlived the process that started it"
            time.sleep(0.05)  # polling for the exit, not synchronisation
    finally:
        import shutil

        shutil.rmtree(directory.parent, ignore_errors=True)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def test_a_shutdown_that_hangs_becomes_an_immediate_one_and_keeps_committed_data(tmp_path):
    """A backend deaf to the fast shutdown (reading from a program) holds it up; after the grace
    period the server is stopped at once, and the next start recovers every committed row."""
    import tempfile
    import threading

    from sqlalchemy import create_engine

    from papertide.local_postgres import LocalPostgres

    directory = Path(tempfile.mkdtemp(prefix="papertide-stop-")) / "pg"
    directory.parent.chmod(0o755)
    server = LocalPostgres(directory, settings={}, shutdown_grace=1.0).start()
    engine = create_engine(server.url(), isolation_level="AUTOCOMMIT")
    deaf = {}
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE TABLE kept (id int)"))
            connection.execute(text("INSERT INTO kept VALUES (1), (2)"))
        stuck = engine.connect()
        deaf["backend"] = stuck.scalar(text("SELECT pg_backend_pid()"))
        threading.Thread(target=_swallow, args=(stuck, DEAF_COPY), daemon=True).start()
        deaf["program"] = _wait_for_child(deaf["backend"])
        server.stop()
        log = server.log.read_text()
        assert "received fast shutdown request" in log and "received immediate shutdown request" in log
        engine.dispose()
        server.start()
        with create_engine(server.url()).connect() as connection:
            assert connection.scalar(text("SELECT count(*) FROM kept")) == 2
    finally:
        import os
        import shutil
        import signal

        engine.dispose()
        server.stop()
        if deaf.get("program") and _state(deaf["program"]) != "Z":
            os.kill(deaf["program"], signal.SIGKILL)  # the program the stopped backend left behind
        shutil.rmtree(directory.parent, ignore_errors=True)


# A program that ignores the SIGTERM a fast shutdown sends to the backend's process group.
DEAF_COPY = """COPY kept FROM PROGRAM 'trap "" TERM INT; exec sleep 120'"""


def _swallow(connection, statement: str) -> None:
    try:
        connection.execute(text(statement))
    except Exception:  # the server goes away under it: that is the test
        pass


def _wait_for_child(parent: int, program: str = "sleep") -> int:
    """The process ``parent`` started (the backend's program), once it runs ``program``: the shell
    that starts it has then set its traps and exec'd. Returning as soon as the shell exists let a
    fast shutdown's SIGTERM reach it before ``trap`` ran, under load, and the backend was not deaf."""
    import time

    from tests.db.test_workers import children_of

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for child in children_of(parent):
            try:
                if Path(f"/proc/{child}/comm").read_text().strip() == program:
                    return child
            except OSError:  # gone meanwhile
                continue
        time.sleep(0.05)  # polling for the program to start, not synchronisation
    raise AssertionError(f"backend {parent} started no program")
