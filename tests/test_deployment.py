"""The deployment files: docker-compose.yml validates, every service has a health check,
data lives on volumes, secrets must come from the environment, Redis takes no anonymous
clients; the image runs as a user."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest
import redis
import yaml

from core.config import PROJECT_DIR
from core.redis_link import RedisLink
from tests.support import unavailable

SECRETS = {"POSTGRES_PASSWORD": "pw-from-env", "CONCIERGE_ENCRYPTION_KEYS": "k",
           "REDIS_PASSWORD": "redis-pw-from-env"}


def _compose() -> list[str]:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], check=False,
                                                 capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    unavailable("neither `docker compose` nor `docker-compose` is installed")


def _config(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([*_compose(), "-f", str(PROJECT_DIR / "docker-compose.yml"), "config"],
                          env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True,
                          check=False, cwd=PROJECT_DIR)


def test_compose_file_validates_with_health_checks_and_volumes() -> None:
    result = _config(SECRETS)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    assert set(services) == {"app", "postgres", "redis"}
    assert all("healthcheck" in s for s in services.values())
    assert all(s.get("volumes") for s in services.values())
    app = services["app"]
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert app["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "pw-from-env" in app["environment"]["DATABASE_URL"]
    assert app["environment"]["REDIS_URL"] == "redis://concierge:redis-pw-from-env@redis:6379/0"


def test_compose_refuses_to_start_without_its_secrets() -> None:
    result = _config({})
    assert result.returncode != 0 and "POSTGRES_PASSWORD" in result.stderr
    result = _config({k: v for k, v in SECRETS.items() if k != "REDIS_PASSWORD"})
    assert result.returncode != 0 and "REDIS_PASSWORD" in result.stderr


def _redis_server(arguments: list[str]) -> tuple[subprocess.Popen, int]:
    """The compose file's redis-server command, run here on a free port."""
    binary = shutil.which("redis-server")
    if binary is None:
        unavailable("redis-server is missing")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([binary, *arguments, "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, port
        time.sleep(0.05)
    process.terminate()
    raise RuntimeError("redis-server did not start")


def test_compose_redis_refuses_anonymous_clients_and_the_app_logs_in_as_its_acl_user() -> None:

    result = _config(SECRETS)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    command = services["redis"]["command"]
    assert command[0] == "redis-server"
    assert "--user concierge" in " ".join(services["redis"]["healthcheck"]["test"])
    process, port = _redis_server(command[1:])
    try:
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).ping()  # the default user is off
        url = services["app"]["environment"]["REDIS_URL"].replace("@redis:6379", f"@127.0.0.1:{port}")
        assert RedisLink(url).up
        client = redis.Redis.from_url(url)
        client.set("concierge:probe", "1")
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.flushall()
        wrong = url.replace("redis-pw-from-env", "guessed")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis.from_url(wrong).ping()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_image_runs_as_an_unprivileged_user_and_ships_no_state() -> None:
    dockerfile = (PROJECT_DIR / "Dockerfile").read_text()
    assert "\nUSER concierge" in dockerfile and "HEALTHCHECK" in dockerfile
    ignored = (PROJECT_DIR / ".dockerignore").read_text().split()
    assert {".state", ".env", "*.keys", ".venv"} <= set(ignored)


def test_image_finds_the_data_pack_it_copies() -> None:
    """The image installs core/ into site-packages, so the default data folder (beside the
    package) is not where `COPY data data` puts the pack: the image must say where it is."""
    dockerfile = (PROJECT_DIR / "Dockerfile").read_text()
    workdir = dockerfile.split("\nWORKDIR ", 1)[1].split()[0]
    assert "COPY data data" in dockerfile
    assert f"CONCIERGE_DATA_DIR={workdir}/data/demo" in dockerfile
