"""The deployment files (deploy/) and their guide (docs/deploy.md) cannot rot unnoticed.

Docker, systemd and SLURM do not run here, so these tests read the files: the compose file
parses and hangs together, every TRAPLINE_* variable anywhere in them is a real setting with
a valid value, the stop timeouts leave the workers time to drain, and the guide shows each
file exactly as it is.
"""

from __future__ import annotations

import os
import re
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest
import yaml

from trapline.settings import Settings, sections, variable_names

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
GUIDE = ROOT / "docs" / "deploy.md"
#: Files the guide shows in full.
SHOWN = [
    "compose.yaml",
    "Caddyfile",
    "nats.conf",
    "Dockerfile",
    "trapline-migrate.service",
    "trapline-serve@.service",
    "trapline-worker@.service",
    "trapline-worker.slurm",
]
#: ``${NAME}``, ``${NAME:-default}``, ``${NAME:?message}`` in the compose file.
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}")
VARIABLE = re.compile(r"\bTRAPLINE_[A-Z0-9_]+\b")


def setting_variables() -> set[str]:
    """Every environment variable a trapline setting is read from."""
    return {
        variable
        for section in sections().values()
        for name, field in section.model_fields.items()
        for variable in variable_names(name, field)
    }


def compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def interpolated(value: object) -> str:
    """A compose value with its ``${…}`` filled in as compose would (defaults, or a stand-in)."""

    def fill(match: re.Match[str]) -> str:
        kind, rest = match.group(2), match.group(3)
        return rest if kind == "-" else f"example-{match.group(1).lower()}"

    return INTERPOLATION.sub(fill, str(value))


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: interpolated(v) for k, v in env.items()}


@pytest.mark.parametrize(
    "path", [f"deploy/{p.name}" for p in sorted(DEPLOY.iterdir())] + ["docs/deploy.md"]
)
def test_every_trapline_variable_is_a_setting(path: str) -> None:
    used = set(VARIABLE.findall((ROOT / path).read_text()))
    unknown = sorted(used - setting_variables())
    assert not unknown, f"{path} uses variables that are no trapline setting: {unknown}"


def test_compose_services_hang_together() -> None:
    data = compose()
    services = data["services"]
    assert {"postgres", "nats", "minio", "migrate", "api", "caddy", "worker"} <= set(services)
    volumes = set(data.get("volumes") or {})
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        needs = service.get("depends_on") or {}
        assert set(needs) <= set(services), (name, needs)
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).is_file(), (name, source)
            else:
                assert source in volumes, (name, source)
    assert interpolated(services["api"]["deploy"]["replicas"]).isdigit()
    assert services["migrate"]["command"] == ["migrate"]
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )


@pytest.mark.parametrize("service", ["migrate", "api", "worker"])
def test_compose_settings_are_valid(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = environment(compose()["services"][service])
    for name in [n for n in os.environ if n.startswith("TRAPLINE_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    if service == "worker":
        assert settings.worker.token is not None
        assert settings.worker.api_url.endswith("/api/v2")
        return
    assert settings.queue.url.startswith("nats://")
    assert (settings.storage.url or "").startswith("s3://")
    assert settings.db.resolved_url(settings.server.data_dir).startswith("postgresql+psycopg://")
    assert settings.security.secret_key is not None
    assert settings.http.public_url is not None


def test_replicas_share_what_they_must() -> None:
    services = compose()["services"]
    api, migrate = environment(services["api"]), environment(services["migrate"])
    for name in ("TRAPLINE_DATABASE_URL", "TRAPLINE_QUEUE_URL", "TRAPLINE_STORAGE_URL"):
        assert api[name] == migrate[name], name
    assert "TRAPLINE_SECRET_KEY" in api
    caddy = (DEPLOY / "Caddyfile").read_text()
    assert f"dynamic a api {api['TRAPLINE_PORT']}" in caddy


def test_the_replicas_tell_browsers_behind_the_proxy_apart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Behind Caddy every browser connects from Caddy's address: the replicas believe its
    X-Forwarded-For (and no other container's), so the sign-in limits count each browser."""
    data = compose()
    caddy = ip_address(data["services"]["caddy"]["networks"]["default"]["ipv4_address"])
    (pool,) = data["networks"]["default"]["ipam"]["config"]
    assert caddy in ip_network(pool["subnet"])
    assert caddy not in ip_network(pool["ip_range"]), "another container could get its address"
    for name, value in environment(data["services"]["api"]).items():
        monkeypatch.setenv(name, value)
    trusted = Settings(_env_file=None).security.trusted_proxies  # type: ignore[call-arg]
    assert [n.num_addresses for n in trusted] == [1]
    assert caddy in trusted[0]
    # systemd: the replicas listen on loopback, behind a proxy on the same host.
    unit = (DEPLOY / "trapline-serve@.service").read_text()
    found = re.search(r"^Environment=TRAPLINE_TRUSTED_PROXIES=(\S+)$", unit, re.M)
    assert found is not None, "trapline-serve@.service names no trusted proxy"
    monkeypatch.setenv("TRAPLINE_TRUSTED_PROXIES", found.group(1))
    trusted = Settings(_env_file=None).security.trusted_proxies  # type: ignore[call-arg]
    assert {str(n) for n in trusted} == {"127.0.0.1/32", "::1/128"}


def test_workers_get_time_to_drain() -> None:
    worker = compose()["services"]["worker"]
    drain = float(environment(worker)["TRAPLINE_DRAIN_TIMEOUT"])
    assert _seconds(worker["stop_grace_period"]) > drain
    unit = (DEPLOY / "trapline-worker@.service").read_text()
    assert float(re.search(r"^TimeoutStopSec=(\d+)", unit, re.M).group(1)) > 60  # type: ignore[union-attr]
    slurm = (DEPLOY / "trapline-worker.slurm").read_text()
    warning = re.search(r"^#SBATCH --signal=TERM@(\d+)$", slurm, re.M)
    assert warning is not None
    slurm_drain = re.search(r"^export TRAPLINE_DRAIN_TIMEOUT=(\d+)$", slurm, re.M)
    assert slurm_drain is not None
    assert int(slurm_drain.group(1)) < int(warning.group(1))
    assert re.search(r"^srun .*trapline worker$", slurm, re.M), "only job steps get the signal"


def test_jetstream_stores_on_file_with_a_sync_interval() -> None:
    conf = (DEPLOY / "nats.conf").read_text()
    assert re.search(r"^\s*store_dir:", conf, re.M)
    assert re.search(r"^\s*sync_interval:", conf, re.M)
    nats = compose()["services"]["nats"]
    assert any(m.startswith("./nats.conf:") for m in nats["volumes"])


@pytest.mark.parametrize("name", SHOWN)
def test_the_guide_shows_each_file_as_it_is(name: str) -> None:
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```$", GUIDE.read_text(), re.M | re.S)
    text = (DEPLOY / name).read_text()
    assert text in blocks, f"docs/deploy.md does not show deploy/{name} as it is"


def _seconds(duration: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", duration)
    assert match, duration
    return float(match.group(1)) * (60 if match.group(2) == "m" else 1)
