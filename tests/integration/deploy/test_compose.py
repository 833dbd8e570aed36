"""deploy/: the Compose file against the Compose specification, and what it refers to.

The schema is the copy of compose-spec.json that the check-jsonschema package ships (a dev
dependency), so the test needs no network. Interpolation (`${VAR}`) is done with the values
of deploy/.env.example, as `docker compose` would with a real deploy/.env.
"""

from __future__ import annotations

import copy
import importlib.resources
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from typer.testing import CliRunner

from energywatch.cli import app
from energywatch.settings import IngestSettings, Settings

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
OPERATIONS = DEPLOY.parent / "docs" / "operations.md"
COMPOSE = DEPLOY / "docker-compose.yml"
OUR_IMAGE = "energywatch:"
VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-?][^}]*)?\}")


def _compose() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(doc, dict)
    return doc


def _env_example() -> dict[str, str]:
    out = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _compose_schema() -> dict[str, Any]:
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendor / "compose-spec.json").read_text(encoding="utf-8"))
    assert isinstance(schema, dict)
    return schema


def _schema_errors(doc: dict[str, Any]) -> list[str]:
    schema = _compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(doc)]


def _our_services() -> dict[str, dict[str, Any]]:
    return {
        name: svc
        for name, svc in _compose()["services"].items()
        if str(svc.get("image", "")).startswith(OUR_IMAGE)
    }


def test_compose_file_follows_the_compose_specification() -> None:
    doc = _compose()
    assert _schema_errors(doc) == []
    # The validator really checks: a misspelt key and a wrong type are both refused.
    broken = copy.deepcopy(doc)
    broken["services"]["api"]["helthcheck"] = broken["services"]["api"].pop("healthcheck")
    broken["services"]["mosquitto"]["ports"] = 1883
    errors = _schema_errors(broken)
    assert any("helthcheck" in e for e in errors)
    assert any("ports" in e for e in errors)


def test_every_variable_is_in_env_example() -> None:
    used = set(VAR.findall(COMPOSE.read_text()))
    example = _env_example()
    assert used - set(example) <= {"ENERGYWATCH_VERSION"}, "variables missing in .env.example"
    # No real secret in the example: every secret is a placeholder.
    for key, value in example.items():
        if any(word in key for word in ("PASSWORD", "SECRET")):
            assert value == "CHANGE-ME", f"{key} in .env.example must be CHANGE-ME"


def test_services_run_energywatch_subcommands() -> None:
    services = _our_services()
    expected = {"migrate", "broker-files", "ingest-1", "ingest-2", "rollup", "alerting", "api"}
    assert set(services) == expected
    runner = CliRunner()
    for name, svc in services.items():
        command = svc["command"]
        words = [w for w in command if not w.startswith("-") and not w.startswith("/")]
        result = runner.invoke(app, [*words, "--help"])
        assert result.exit_code == 0, f"{name}: `energywatch {' '.join(words)}` does not exist"
        assert "Usage:" in result.output
        options = [w for w in command if w.startswith("--")]
        for option in options:
            assert option in result.output, f"{name}: {option} is not an option of {words}"
    # The check can fail: a command that does not exist is refused.
    assert runner.invoke(app, ["ingset", "--help"]).exit_code != 0


def _setting_exists(var: str) -> bool:
    path = var.removeprefix("ENERGYWATCH_").lower().split("__")
    model: Any = Settings
    for part in path:
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            return False
        model = fields[part].annotation
    return True


def test_environment_variables_are_settings() -> None:
    for name, svc in _our_services().items():
        for var in svc.get("environment", {}):
            if var.startswith("ENERGYWATCH_"):
                assert _setting_exists(var), f"{name}: {var} is not a setting"
    assert not _setting_exists("ENERGYWATCH_API__NO_SUCH_THING")


def test_two_ingest_workers_with_distinct_client_ids() -> None:
    services = _our_services()
    envs = [services[n]["environment"] for n in ("ingest-1", "ingest-2")]
    # A fixed client id would be the same in every installation on a broker.
    assert not any("ENERGYWATCH_INGEST__CLIENT_ID" in env for env in envs)
    ids = {
        Settings(
            demo=True, ingest=IngestSettings(worker=env["ENERGYWATCH_INGEST__WORKER"])
        ).ingest_client_id
        for env in envs
    }
    assert len(ids) == 2


def test_third_party_images_are_pinned_and_services_have_health_checks() -> None:
    for name, svc in _compose()["services"].items():
        image = svc["image"]
        if image.startswith(OUR_IMAGE):
            continue
        tag = image.rpartition(":")[2]
        assert ":" in image and tag != "latest" and re.search(r"\d", tag), f"{name}: {image}"
    for name, svc in _compose()["services"].items():
        if svc.get("restart") != "no":
            assert "healthcheck" in svc, f"{name} has no health check"
    # the TimescaleDB release that docs/operations.md reports as tested on a real server
    tested = re.search(r"tested on\s+TimescaleDB\s+(\d+\.\d+\.\d+)", OPERATIONS.read_text())
    assert tested is not None
    assert _compose()["services"]["timescaledb"]["image"] == (
        f"timescale/timescaledb:{tested[1]}-pg16"
    )
    assert _compose()["services"]["mosquitto"]["image"].startswith("eclipse-mosquitto:2.")


def test_prometheus_scrapes_every_service() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {
        t.split(":")[0]
        for job in config["scrape_configs"]
        for sc in job["static_configs"]
        for t in sc["targets"]
    }
    long_running = {n for n, s in _our_services().items() if s.get("restart") != "no"}
    assert long_running <= targets
    for path in config["rule_files"]:
        assert (DEPLOY / "prometheus" / Path(path).name).is_file()


def test_prometheus_scrapes_the_metrics_port_each_service_is_given() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    services = _our_services()
    checked = set()
    for job in config["scrape_configs"]:
        for target in (t for sc in job["static_configs"] for t in sc["targets"]):
            host, _, port = target.partition(":")
            if host not in services:
                continue
            given = {
                value
                for var, value in services[host]["environment"].items()
                if var.endswith("METRICS_PORT")
            }
            assert port in given, f"{job['job_name']} scrapes {target}, {host} serves {given}"
            assert job.get("metrics_path", "/metrics") == "/metrics"
            checked.add(host)
    assert "api" in checked


def test_grafana_dashboards_use_provisioned_data_sources() -> None:
    provisioned = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/energywatch.yml").read_text()
    )
    uids = {d["uid"] for d in provisioned["datasources"]}
    dashboards = sorted((DEPLOY / "grafana/dashboards").glob("*.json"))
    assert dashboards
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] in uids, f"{path.name}: {panel['title']}"
            assert panel["targets"]


def test_dockerfile_copies_what_exists_and_runs_the_energywatch_command() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["energywatch"]' in text
    assert re.search(r"^FROM python:3\.11", text, re.M)
    assert "\nUSER " in text, "the services must not run as root"
    repo = DEPLOY.parent
    for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.M):
        *sources, _target = line.split()
        for source in sources:
            assert (repo / source).exists(), f"COPY {source}: not in the repository"
    for var in re.findall(r"\b(ENERGYWATCH_[A-Z_]+)=", text):
        assert _setting_exists(var), f"Dockerfile sets {var}, which is not a setting"
