"""Production settings pass Django's deployment checklist, and refuse to start without a secret key."""
from __future__ import annotations

import secrets
import subprocess
import sys

from tests.conftest import ROOT

PRODUCTION = {
    "SHARELEDGER_DEV": "0",
    "DJANGO_DEBUG": "0",
    "DJANGO_SECURE_HTTPS": "1",
    "DJANGO_ALLOWED_HOSTS": "backoffice.example.com",
}


def run_manage(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **env_overrides}
    env.pop("DJANGO_SECRET_KEY", None) if "DJANGO_SECRET_KEY" not in env_overrides else None
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_production_settings_pass_check_deploy():
    result = run_manage({**PRODUCTION, "DJANGO_SECRET_KEY": secrets.token_urlsafe(60)}, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage(PRODUCTION, "check")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
