"""The example deployment files in deploy/ are valid for the tools that read them."""

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import yaml

from papertide.cli import main as cli
from tests.conftest import REPO

DEPLOY = REPO / "deploy"
INSTALLED_PAPERTIDE = "/opt/papertide/venv/bin/papertide"


def papertide_commands(command_line: str) -> list[tuple[str, ...]]:
    """The subcommand words of every ``papertide ...`` invocation in a shell command line."""
    words = shlex.split(command_line.replace(";", " ; "))
    found = []
    for index, word in enumerate(words):
        if word == "papertide" or word.endswith("/bin/papertide"):
            found.append(tuple(w for w in words[index + 1:index + 3] if re.fullmatch(r"[a-z][a-z-]*", w)))
    return found


def deployment_command_lines() -> list[str]:
    """What the deployment files run: systemd Exec* lines, compose commands, the image's CMD."""
    lines = [line.split("=", 1)[1] for unit in (DEPLOY / "systemd").iterdir()
             for line in unit.read_text().splitlines() if line.startswith("Exec")]
    for service in yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"].values():
        command = service.get("command")
        if command:
            lines.append(shlex.join(command) if isinstance(command, list) else command)
            if isinstance(command, list) and command[:2] == ["sh", "-c"]:
                lines.append(command[2])
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("CMD "):
            lines.append(shlex.join(json.loads(line[4:])))
    return lines


def resolves(words: tuple[str, ...]) -> bool:
    command: click.Command = cli
    for word in words:
        if not isinstance(command, click.Group):
            return True  # the rest are arguments
        if word not in command.commands:
            return False
        command = command.commands[word]
    return True


def test_systemd_units_verify(tmp_path):
    """``systemd-analyze verify`` with the install prefix pointed at this environment's papertide."""
    here = Path(sys.executable).parent / "papertide"
    assert here.exists(), "papertide must be installed in the test environment"
    units = sorted((DEPLOY / "systemd").iterdir())
    assert {u.name for u in units} >= {"papertide-web.service", "papertide-digest.service", "papertide-digest.timer"}
    for unit in units:
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALLED_PAPERTIDE, str(here)))
    done = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_nginx_configurations_pass_nginx_t(tmp_path):
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(certificate)], check=True, capture_output=True)
    site = tmp_path / "site.conf"
    (tmp_path / "nginx.conf").write_text(f"""
        pid {tmp_path}/nginx.pid;
        error_log {tmp_path}/error.log;
        events {{}}
        http {{ client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path}; include {site}; }}
    """)
    for name, replacements in {
        "papertide.conf": {"/etc/letsencrypt/live/papers.example.org/fullchain.pem": str(certificate),
                           "/etc/letsencrypt/live/papers.example.org/privkey.pem": str(key)},
        "compose.conf": {"server web:8000": "server 127.0.0.1:8000"},  # `web` resolves inside compose only
    }.items():
        text = (DEPLOY / "nginx" / name).read_text()
        for old, new in replacements.items():
            assert old in text
            text = text.replace(old, new)
        site.write_text(text)
        done = subprocess.run([shutil.which("nginx") or "/usr/sbin/nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                              capture_output=True, text=True)
        assert done.returncode == 0, f"{name}: {done.stderr}"


def test_compose_file_is_consistent():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"db", "migrate", "web", "scheduler", "proxy"} <= set(services)
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        depends = service.get("depends_on", [])
        assert set(depends) <= set(services), f"{name} depends on an unknown service"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in compose.get("volumes", {}), f"{name} uses undeclared volume {source}"
        for env_file in [service["env_file"]] if isinstance(service.get("env_file"), str) else service.get("env_file", []):
            assert (DEPLOY / f"{env_file}.example").exists()
    build = services["migrate"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).exists()
    assert services["db"]["image"].startswith("pgvector/pgvector:")
    assert "--workers" in services["web"]["command"]
    assert services["scheduler"]["deploy"]["replicas"] == 1
    assert services["web"]["environment"]["PAPERTIDE_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_every_papertide_command_the_deployment_runs_exists():
    commands = {words for line in deployment_command_lines() for words in papertide_commands(line)}
    assert {("serve",), ("init",), ("digest", "run")} <= commands
    missing = {c for c in commands if not resolves(c)}
    assert missing == set()


def test_environment_example_names_only_real_settings():
    from papertide.config import Settings

    known = {f"PAPERTIDE_{name.upper()}" for name in Settings.model_fields}
    named = set(re.findall(r"^(PAPERTIDE_[A-Z_]+)=", (DEPLOY / "papertide.env.example").read_text(), re.MULTILINE))
    assert named and named <= known, named - known
