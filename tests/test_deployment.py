"""The deployment files: docker-compose.yml validates, every service has a health check,
data lives on volumes, secrets must come from the environment; the image runs as a user."""

from __future__ import annotations

import os
import shutil
import subprocess

import yaml

from core.config import PROJECT_DIR
from tests.support import unavailable


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
    result = _config({"POSTGRES_PASSWORD": "pw-from-env", "CONCIERGE_ENCRYPTION_KEYS": "k"})
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


def test_compose_refuses_to_start_without_its_secrets() -> None:
    result = _config({})
    assert result.returncode != 0 and "POSTGRES_PASSWORD" in result.stderr


def test_image_runs_as_an_unprivileged_user_and_ships_no_state() -> None:
    dockerfile = (PROJECT_DIR / "Dockerfile").read_text()
    assert "\nUSER concierge" in dockerfile and "HEALTHCHECK" in dockerfile
    ignored = (PROJECT_DIR / ".dockerignore").read_text().split()
    assert {".state", ".env", "*.keys", ".venv"} <= set(ignored)
