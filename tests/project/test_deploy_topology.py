"""The topology past one machine (docs/deploy.md), read from docker-compose.yml and
deploy/k8s/*.yaml and checked against the Celery and Django configuration: the
services exist, web runs at least two replicas, beat exactly one, every queue a task is
routed to has workers consuming it, every command names a real module, every variable
the files set is one the settings read, autoscalers scale what exists, probes hit the
health views, and no file carries a secret's value."""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from django.urls import resolve

from config import celery_queues, health

BASE_DIR = Path(settings.BASE_DIR)
COMPOSE = BASE_DIR / "docker-compose.yml"
K8S_DIR = BASE_DIR / "deploy" / "k8s"
EVERY_QUEUE = set(celery_queues.QUEUE_NAMES)
# Read by the files themselves (the workers' health checks), not by the app.
DEPLOYMENT_ONLY_VARIABLES = {"WORKER_NAME"}
# A name that says its value is secret.
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_SID$|_KEY$|AUTH")
# user:password@ in a URL.
URL_PASSWORD = re.compile(r"://[^:/@\s]*:([^@\s]+)@")


# --- Reading the files ------------------------------------------------------------------


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def compose_services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def k8s_documents() -> list[dict[str, Any]]:
    documents = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        documents.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return documents


def k8s_of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in k8s_documents() if doc["kind"] == kind}


def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]


def k8s_command(deployment: dict[str, Any]) -> list[str]:
    (container,) = pod_spec(deployment)["containers"]
    return list(container["command"])


def compose_command(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else list(command)


def is_celery(command: list[str], subcommand: str) -> bool:
    return bool(command) and command[0] == "celery" and subcommand in command


def queues_of(command: list[str]) -> set[str]:
    """The queues a `celery worker -Q a,b` consumes (all declared ones without -Q)."""
    if "-Q" not in command:
        return set(EVERY_QUEUE)
    return set(command[command.index("-Q") + 1].split(","))


def settings_variables() -> set[str]:
    """Every environment variable the settings, gunicorn's and Celery's modules read."""
    names: set[str] = set()
    pattern = re.compile(
        r"(?:os\.environ\.get|os\.environ\.setdefault|os\.getenv|env_bool|env_list)"
        r"\(\s*\"([A-Z0-9_]+)\"|os\.environ\[\"([A-Z0-9_]+)\"\]"
    )
    for module in ("settings.py", "gunicorn_conf.py", "celery.py"):
        for match in pattern.finditer((BASE_DIR / "config" / module).read_text()):
            names.add(match.group(1) or match.group(2))
    return names


def replicas(service: dict[str, Any]) -> int:
    return int(service.get("deploy", {}).get("replicas", 1))


# --- docker-compose.yml -------------------------------------------------------------------


def test_compose_runs_the_whole_topology():
    services = compose_services()
    for name in (
        "migrate",
        "web",
        "lb",
        "worker-messaging",
        "worker-caregaps",
        "worker-imports",
        "worker-reports",
        "beat",
        "db",
        "db-replica",
        "redis",
    ):
        assert name in services, f"docker-compose.yml has no {name}"


def test_compose_runs_at_least_two_web_replicas_behind_the_load_balancer():
    services = compose_services()
    assert replicas(services["web"]) >= 2
    assert "ports" not in services["web"], "web is reached through the load balancer only"
    config = (BASE_DIR / "deploy" / "nginx.conf").read_text()
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in services["lb"]["volumes"]
    assert re.search(r"server web:8000\b", config)
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in config


def test_compose_runs_exactly_one_beat():
    services = compose_services()
    beats = [n for n, s in services.items() if is_celery(compose_command(s), "beat")]
    assert beats == ["beat"]
    assert replicas(services["beat"]) == 1
    # Its schedule file is on a volume of its own
    command = compose_command(services["beat"])
    assert "--schedule=/app/.run/celerybeat-schedule" in command
    assert any(volume.endswith(":/app/.run") for volume in services["beat"]["volumes"])


def test_compose_has_a_consuming_worker_for_every_queue_and_at_least_two_worker_replicas():
    workers = {
        name: service
        for name, service in compose_services().items()
        if is_celery(compose_command(service), "worker")
    }
    consumed = set().union(*(queues_of(compose_command(s)) for s in workers.values()))
    assert consumed == EVERY_QUEUE
    assert all("-Q" in compose_command(s) for s in workers.values()), "each worker names its queues"
    assert sum(replicas(s) for s in workers.values()) >= 2


def test_compose_runs_migrations_once_before_the_app_starts():
    services = compose_services()
    assert compose_command(services["migrate"]) == ["python", "manage.py", "migrate", "--no-input"]
    assert services["migrate"]["restart"] == "no"
    for name, service in services.items():
        if compose_command(service)[:1] in (["gunicorn"], ["celery"]):
            depends = service["depends_on"]
            assert depends["migrate"]["condition"] == "service_completed_successfully", name


def test_compose_redis_is_persisted_and_never_evicts_a_queued_task():
    redis = compose_services()["redis"]
    command = compose_command(redis)
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])


def test_compose_points_the_replica_url_at_the_streaming_replica():
    services = compose_services()
    env = services["web"]["environment"]
    assert "@db-replica:5432/" in env["DATABASE_REPLICA_URL"]
    assert "@db:5432/" in env["DATABASE_URL"]
    replica_script = services["db-replica"]["volumes"][1].split(":")[0]
    assert "pg_basebackup" in (BASE_DIR / replica_script).read_text()


def test_compose_sets_only_variables_the_settings_read():
    known = settings_variables() | DEPLOYMENT_ONLY_VARIABLES
    for name, service in compose_services().items():
        if compose_command(service)[:1] in (["gunicorn"], ["celery"], ["python"]):
            unknown = set(service["environment"]) - known
            assert not unknown, f"{name} sets variables nothing reads: {unknown}"


def test_compose_commits_no_secret_value():
    for name, service in compose_services().items():
        for key, value in (service.get("environment") or {}).items():
            value = str(value)
            if SECRET_NAME.search(key):
                assert value == "" or value.startswith("${"), f"{name}: {key} has a value"
            for password in URL_PASSWORD.findall(value):
                assert password.startswith("${"), f"{name}: {key} carries a password"


# --- Kubernetes ------------------------------------------------------------------------------

WORKERS = [f"equinav-worker-{queue}" for queue in ("messaging", "caregaps", "imports", "reports")]


def test_kubernetes_has_a_deployment_per_process_type_and_a_migrate_job():
    deployments = k8s_of_kind("Deployment")
    assert set(deployments) == {"equinav-web", "equinav-beat", *WORKERS}
    (job,) = k8s_of_kind("Job").values()
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "manage.py", "migrate", "--no-input"]


def test_kustomization_lists_every_manifest():
    listed = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())["resources"]
    present = {p.name for p in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(listed) == present


def test_kubernetes_web_runs_at_least_two_pods_behind_a_service():
    web = k8s_of_kind("Deployment")["equinav-web"]
    assert web["spec"]["replicas"] >= 2
    service = k8s_of_kind("Service")["equinav-web"]
    assert (
        service["spec"]["selector"].items() <= web["spec"]["template"]["metadata"]["labels"].items()
    )
    (ingress,) = k8s_of_kind("Ingress").values()
    backends = [
        path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    ]
    assert backends == ["equinav-web"]


def test_kubernetes_runs_exactly_one_beat_recreated_never_rolled_and_never_autoscaled():
    deployments = k8s_of_kind("Deployment")
    beats = [name for name, d in deployments.items() if is_celery(k8s_command(d), "beat")]
    assert beats == ["equinav-beat"]
    beat = deployments["equinav-beat"]
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    targets = {
        h["spec"]["scaleTargetRef"]["name"] for h in k8s_of_kind("HorizontalPodAutoscaler").values()
    }
    assert "equinav-beat" not in targets


def test_kubernetes_has_a_consuming_worker_for_every_queue():
    deployments = k8s_of_kind("Deployment")
    consumed = set()
    for name in WORKERS:
        command = k8s_command(deployments[name])
        assert is_celery(command, "worker") and "-Q" in command, name
        consumed |= queues_of(command)
    assert consumed == EVERY_QUEUE


def test_every_autoscaler_targets_an_existing_deployment_and_web_and_each_worker_have_one():
    deployments = k8s_of_kind("Deployment")
    autoscalers = k8s_of_kind("HorizontalPodAutoscaler").values()
    targets = set()
    for hpa in autoscalers:
        assert hpa["apiVersion"] == "autoscaling/v2"
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["kind"], target["name"] in deployments) == ("Deployment", True)
        assert hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        targets.add(target["name"])
    assert targets == {"equinav-web", *WORKERS}
    web_hpa = next(h for h in autoscalers if h["spec"]["scaleTargetRef"]["name"] == "equinav-web")
    assert web_hpa["spec"]["minReplicas"] >= 2


@pytest.mark.parametrize("name", ["equinav-web", "equinav-beat", *WORKERS])
def test_every_pod_runs_as_non_root_read_only_with_resources_and_the_shared_configuration(name):
    spec = pod_spec(k8s_of_kind("Deployment")[name])
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    (container,) = spec["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= container["resources"][kind].keys()
    sources = {next(iter(source.values()))["name"] for source in container["envFrom"]}
    assert sources == {"equinav-config", "equinav-secrets"}
    # A writable /tmp on a read-only root (a mount path, not a temporary file)
    assert any(mount["mountPath"] == "/tmp" for mount in container["volumeMounts"])  # noqa: S108


def test_web_probes_hit_the_health_views():
    (container,) = pod_spec(k8s_of_kind("Deployment")["equinav-web"])["containers"]
    paths = {
        probe: container[probe]["httpGet"]["path"]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert paths["livenessProbe"] == "/healthz"
    assert paths["readinessProbe"] == "/healthz/ready"
    for path in paths.values():
        assert resolve(path).func in (health.healthz, health.healthz_ready)
        assert path in health.HEALTH_VIEWS


def test_kubernetes_commits_the_configuration_but_no_secret():
    assert k8s_of_kind("Secret") == {}
    (config,) = k8s_of_kind("ConfigMap").values()
    for key, value in config["data"].items():
        assert not SECRET_NAME.search(key), f"{key} belongs in the Secret"
        assert not URL_PASSWORD.search(str(value))
    assert set(config["data"]) <= settings_variables()
    for name, deployment in k8s_of_kind("Deployment").items():
        (container,) = pod_spec(deployment)["containers"]
        for variable in container.get("env", []):
            assert variable["name"] in settings_variables(), name
            assert "value" not in variable or not SECRET_NAME.search(variable["name"])


# --- Commands name real modules --------------------------------------------------------------


def every_command() -> list[list[str]]:
    commands = [compose_command(s) for s in compose_services().values() if s.get("command")]
    commands += [k8s_command(d) for d in k8s_of_kind("Deployment").values()]
    for line in (BASE_DIR / "Procfile").read_text().splitlines():
        if ":" in line:
            commands.append(shlex.split(line.split(":", 1)[1]))
    return commands


def test_every_command_names_a_real_module():
    app_commands = [c for c in every_command() if c[0] in ("gunicorn", "celery")]
    assert len(app_commands) >= 10
    for command in app_commands:
        if command[0] == "gunicorn":
            assert command[-1] == "config.wsgi:application"
            module, attribute = command[-1].split(":")
            assert callable(getattr(importlib.import_module(module), attribute))
            conf = command[command.index("--config") + 1]
            assert (BASE_DIR / conf).is_file()
        else:
            assert command[1:3] == ["-A", "config"]
            # `-A config` finds the app in config.celery
            assert importlib.import_module("config.celery").app.main == "equinav"
            queues = queues_of(command) if "worker" in command else set()
            assert queues <= EVERY_QUEUE, command
