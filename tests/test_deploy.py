"""The example deployment files in deploy/ are valid for the tools that read them."""

import ipaddress
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
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
    assert {u.name for u in units} >= {"papertide-web.service", "papertide-worker.service"}
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
    assert {"db", "migrate", "web", "worker", "proxy"} <= set(services)
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
    assert services["worker"]["command"] == ["papertide", "worker"]
    assert services["web"]["environment"]["PAPERTIDE_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert services["worker"]["environment"]["PAPERTIDE_DATABASE_URL"] == services["web"]["environment"]["PAPERTIDE_DATABASE_URL"]
    for name, service in services.items():  # one network, so that the proxy's address is known
        assert "papertide" in service["networks"], name
    assert compose["networks"]["papertide"]["ipam"]["config"]


def test_compose_web_has_a_readiness_healthcheck_and_trusts_only_the_proxy():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    web, proxy = compose["services"]["web"], compose["services"]["proxy"]
    check = web["healthcheck"]["test"]
    assert check[0] == "CMD" and any("/readyz" in part for part in check)
    assert web["healthcheck"]["start_period"]  # the search model loads before the first "ready"
    trusted = web["environment"]["PAPERTIDE_FORWARDED_ALLOW_IPS"]
    assert trusted == proxy["networks"]["papertide"]["ipv4_address"]
    subnet = compose["networks"]["papertide"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(trusted) in ipaddress.ip_network(subnet)
    from papertide.config import Settings

    Settings(forwarded_allow_ips=trusted)  # valid as papertide reads it
    text = (DEPLOY / "compose.yaml").read_text() + (DEPLOY / "papertide.env.example").read_text()
    assert "FORWARDED_ALLOW_IPS: \"*\"" not in text and not re.search(r"^FORWARDED_ALLOW_IPS=", text, re.MULTILINE)
    assert compose["services"]["worker"]["healthcheck"] == {"disable": True}


def test_dockerfile_installs_papertide_alone_and_checks_readiness():
    """No separate PyTorch step any more: the embedding model runs on onnxruntime (a dependency)."""
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "torch" not in dockerfile.lower()
    assert "pip install --no-cache-dir '.[postgres]'" in dockerfile
    healthcheck = next(line for line in dockerfile.replace("\\\n", " ").splitlines() if line.startswith("HEALTHCHECK"))
    assert "--start-period=" in healthcheck and "http://127.0.0.1:8000/readyz" in healthcheck


def test_every_papertide_command_the_deployment_runs_exists():
    commands = {words for line in deployment_command_lines() for words in papertide_commands(line)}
    assert {("serve",), ("init",), ("worker",)} <= commands
    missing = {c for c in commands if not resolves(c)}
    assert missing == set()


def test_environment_example_names_only_real_settings():
    from papertide.config import Settings

    known = {f"PAPERTIDE_{name.upper()}" for name in Settings.model_fields}
    named = set(re.findall(r"^(PAPERTIDE_[A-Z_]+)=", (DEPLOY / "papertide.env.example").read_text(), re.MULTILINE))
    assert named and named <= known, named - known


# -- nginx: the client's address, and the rate limit on every write route -------------------

LOCATION = re.compile(r"location\s+(=|~\*|~|\^~)?\s*(\S+)\s*\{([^}]*)\}")


def app_routes() -> list[tuple[str, set[str]]]:
    """Every route of the real app as (path template, methods), included routers unfolded."""
    from papertide.config import Settings
    from papertide.web.app import create_app

    app = create_app(Settings(database_url="sqlite://"))
    found = []
    for route in app.router.routes:
        unfold = getattr(route, "effective_route_contexts", None)  # FastAPI's included routers
        for context in (unfold() if unfold else [route]):
            original = getattr(context, "original_route", context)
            found.append((context.path, set(getattr(original, "methods", None) or ())))
    return found


def example_path(template: str) -> str:
    return re.sub(r"\{[^}:]+(:\w+)?\}", lambda m: "2508.00001" if m.group(1) else "x", template)


def nginx_location(config: str, path: str) -> str:
    """The body of the location block nginx chooses for ``path`` (exact, then regex in order
    unless the longest prefix says ^~, then the longest prefix), as nginx documents it."""
    locations = LOCATION.findall(config)
    for modifier, pattern, body in locations:
        if modifier == "=" and path == pattern:
            return body
    prefixes = [(pattern, modifier, body) for modifier, pattern, body in locations
                if modifier in ("", "^~") and path.startswith(pattern)]
    longest = max(prefixes, key=lambda found: len(found[0]), default=None)
    if longest and longest[1] == "^~":
        return longest[2]
    for modifier, pattern, body in locations:
        if modifier in ("~", "~*") and re.search(pattern, path, re.IGNORECASE if modifier == "~*" else 0):
            return body
    assert longest, f"no location for {path}"
    return longest[2]


@pytest.mark.parametrize("name", ["papertide.conf", "compose.conf"])
def test_nginx_rate_limits_every_write_route_of_the_app_and_no_read(name):
    config = (DEPLOY / "nginx" / name).read_text()
    zone = re.search(r"limit_req_zone\s+\$(\w+)\s+zone=(\w+):", config)
    variable, zone_name = zone.groups()
    mapping = re.search(r"map\s+\$request_method\s+\$" + variable + r"\s*\{([^}]*)\}", config).group(1)
    keyed = dict(line.split(None, 1) for line in (l.strip().rstrip(";") for l in mapping.splitlines()) if line)
    routes = app_routes()
    writes = [(path, methods) for path, methods in routes if methods & {"POST", "PUT", "PATCH", "DELETE"}]
    assert {"/papers/{arxiv_id:path}/vote", "/api/papers/{arxiv_id:arxiv}/vote", "/papers/{arxiv_id:path}/comments",
            "/submit", "/subscribe", "/login", "/signup"} <= {path for path, _ in writes}
    for path, methods in writes:
        body = nginx_location(config, example_path(path))
        assert f"limit_req zone={zone_name}" in body, f"{path} is not rate-limited by nginx"
        for method in methods - {"HEAD", "OPTIONS", "GET"}:
            assert keyed.get(method) == "$binary_remote_addr", f"{method} {path} is not counted per address"
    assert keyed["default"] == '""'  # GET and HEAD: not counted, however many readers
    for path, methods in routes:
        if "GET" in methods and path in ("/", "/papers/{arxiv_id:path}", "/search"):
            assert "proxy_pass" in nginx_location(config, example_path(path))


@pytest.mark.parametrize("name", ["papertide.conf", "compose.conf"])
def test_nginx_passes_the_address_it_saw_not_one_the_client_wrote(name):
    config = (DEPLOY / "nginx" / name).read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in config
    assert "$proxy_add_x_forwarded_for" not in config
    assert "return 404" in nginx_location(config, "/metrics")  # scraped from inside, never through the proxy


def test_deploy_guide_has_no_write_your_own_timer_advice():
    guide = (REPO / "docs" / "admin-guide.md").read_text()
    assert "timer like it" not in guide and "papertide-worker.service" in guide
