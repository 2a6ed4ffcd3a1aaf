"""Offline checks of the deployment files (docs/scaling.md, docs/operations.md).

* every Kubernetes manifest of ``deploy/k8s`` (and the ConfigMaps its kustomization
  generates) validates against the Kubernetes JSON schemas bundled in the
  ``kubernetes-validate`` package, with every socket connection blocked;
* the kustomization's resources exist, the workload wiring is consistent (service,
  selectors, mounts, plan paths, probes, settings) and the plans load;
* ``deploy/compose/compose.yaml``: services, images, ports, healthchecks, mounts;
* ``deploy/monitoring``: every alert rule has alert/expr/for/labels and a PromQL
  expression that parses; every ``scorecard_*`` metric named by the rules or the Grafana
  dashboard is one the worker exports (read from ``Metrics().registry``);
* ``deploy/Dockerfile`` and ``.dockerignore``.

A live worker's ``/metrics`` is scraped by a later integration test.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tomllib
from dataclasses import fields
from pathlib import Path

import kubernetes_validate
import promql_parser
import pytest
import yaml

from sales_scorecard.streams.metrics import Metrics
from sales_scorecard.streams.settings import PREFIX, Settings, SettingsError
from tests.monitoring import (
    alert_rules,
    dashboard,
    dashboard_exprs,
    monitored_scorecard_metrics,
    selector_names,
    series_names,
)

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
COMPOSE = ROOT / "deploy" / "compose" / "compose.yaml"
MONITORING = ROOT / "deploy" / "monitoring"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"

#: Kubernetes versions the manifests must be valid for: the oldest we support and the
#: newest schema set kubernetes-validate bundles.
KUBE_VERSIONS = ("1.30", kubernetes_validate.latest_version())

SETTING_NAMES = {PREFIX + f.name.upper() for f in fields(Settings)}
DATA_DIR = "SCORECARD_DATA_DIR"
PLAN_SETTINGS = ("SCORECARD_SCORECARD_PLAN", "SCORECARD_COMMISSION_PLAN", "SCORECARD_ALERT_RULES")


# ---------------------------------------------------------------------------------------
# helpers


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def load_yaml_docs(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomization() -> dict:
    return yaml.safe_load((K8S / "kustomization.yaml").read_text())


def read_env_file(path: Path) -> dict[str, str]:
    """A kustomize ``envs:`` file: KEY=VALUE lines, ``#`` comments and blank lines skipped."""
    env: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}:{number}: not KEY=VALUE: {line!r}"
        assert key not in env, f"{path.name}:{number}: {key} set twice"
        env[key] = value
    return env


def generated_configmaps() -> list[dict]:
    """The ConfigMaps of ``configMapGenerator`` (names without kustomize's hash suffix)."""
    maps = []
    for gen in kustomization().get("configMapGenerator", []):
        data: dict[str, str] = {}
        for env_file in gen.get("envs", []):
            data.update(read_env_file(K8S / env_file))
        for item in gen.get("files", []):
            key, _, source = item.partition("=") if "=" in item else (Path(item).name, "", item)
            data[key] = (K8S / source).read_text()
        for literal in gen.get("literals", []):
            key, _, value = literal.partition("=")
            data[key] = value
        maps.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": gen["name"]}, "data": data})
    return maps


def rendered() -> list[dict]:
    """A small ``kustomize build``: resources, generated ConfigMaps, labels and images."""
    k = kustomization()
    docs = [doc for res in k["resources"] for doc in load_yaml_docs(K8S / res)] + generated_configmaps()
    labels = {}
    for entry in k.get("labels", []):
        labels.update(entry["pairs"])
    images = {img["name"]: f"{img.get('newName', img['name'])}:{img['newTag']}" for img in k.get("images", [])}
    for doc in docs:
        doc["metadata"].setdefault("labels", {}).update(labels)
        spec = doc.get("spec", {})
        pod = spec.get("template", {}).get("spec", {})
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            container["image"] = images.get(container["image"], container["image"])
    return docs


def by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[dict], kind: str) -> dict:
    found = by_kind(docs, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def exported_metric_names() -> set[str]:
    """Every series name the worker's registry exposes (counters with ``_total``)."""
    return series_names(Metrics().registry.collect())


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


# ---------------------------------------------------------------------------------------
# Kubernetes


def mebibytes(quantity: str) -> int:
    """A Kubernetes memory quantity in Mi or Gi, as MiB."""
    if quantity.endswith("Gi"):
        return int(quantity[:-2]) * 1024
    assert quantity.endswith("Mi"), quantity
    return int(quantity[:-2])


def test_kustomization_resources_exist_and_cover_every_manifest():
    k = kustomization()
    assert k["apiVersion"] == "kustomize.config.k8s.io/v1beta1" and k["kind"] == "Kustomization"
    listed = k["resources"]
    assert len(listed) == len(set(listed))
    for res in listed:
        assert (K8S / res).is_file(), f"kustomization lists missing {res}"
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert manifests == set(listed), "every manifest in deploy/k8s is in the kustomization and vice versa"
    for gen in k["configMapGenerator"]:
        for source in gen.get("envs", []) + [f.partition("=")[2] or f for f in gen.get("files", [])]:
            assert (K8S / source).is_file(), f"generator {gen['name']} reads missing {source}"


def test_rendered_kinds():
    kinds = sorted(d["kind"] for d in rendered())
    assert kinds == sorted(["ServiceAccount", "Service", "StatefulSet", "PodDisruptionBudget", "Job",
                            "ConfigMap", "ConfigMap"])


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_every_manifest_validates_against_the_kubernetes_schemas_offline(version, no_network):
    docs = rendered()
    assert docs
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']} invalid for Kubernetes {version}: "
                        f"{path}: {exc.message}")


def test_the_validator_rejects_a_broken_manifest(no_network):
    """The schema check has teeth: unknown fields and wrong types are caught."""
    sts = one(rendered(), "StatefulSet")
    sts["spec"]["replicas"] = "three"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(sts, KUBE_VERSIONS[0], strict=True)
    sts = one(rendered(), "StatefulSet")
    sts["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGett"] = {"path": "/healthz"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(sts, KUBE_VERSIONS[0], strict=True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its built-in kustomize) is not installed")
def test_kubectl_kustomize_builds_and_the_build_validates():
    out = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert sorted(d["kind"] for d in docs) == sorted(d["kind"] for d in rendered())
    for doc in docs:
        kubernetes_validate.validate(doc, KUBE_VERSIONS[-1], strict=True)
    # Generated ConfigMap names carry a hash, and every reference was rewritten to it.
    names = {d["metadata"]["name"] for d in by_kind(docs, "ConfigMap")}
    assert all(re.fullmatch(r"scorecard-(settings|plans)-[a-z0-9]{10}", n) for n in names), names
    assert all(name in out.stdout.replace(f"name: {name}\n", "", 1) for name in names)


def test_worker_statefulset_contract():
    docs = rendered()
    sts = one(docs, "StatefulSet")
    service = one(docs, "Service")
    pdb = one(docs, "PodDisruptionBudget")
    pod = sts["spec"]["template"]
    pod_labels = pod["metadata"]["labels"]
    worker = next(c for c in pod["spec"]["containers"] if c["name"] == "worker")
    env = env_of(worker)

    assert worker["command"] + worker["args"] == ["scorecard", "worker"]
    assert env["SCORECARD_WEB_HOST"] == "0.0.0.0"
    port = int(env.get("SCORECARD_WEB_PORT", "6066"))
    assert port == 6066
    assert {"name": "http", "containerPort": port, "protocol": "TCP"} in worker["ports"]

    # Probes: liveness (and startup) on /healthz, readiness on /readyz, on the web port.
    for probe, path in (("livenessProbe", "/healthz"), ("startupProbe", "/healthz"), ("readinessProbe", "/readyz")):
        assert worker[probe]["httpGet"]["path"] == path
        assert worker[probe]["httpGet"]["port"] in ("http", port)

    # Resource requests from the benchmark: one core; memory for 10,000 reps x 13 months at
    # the measured ~12.6 KB per rep-period plus an idle worker (~1.6 GiB), with a higher
    # limit for the rebuild; no CPU limit.
    requests, limits = worker["resources"]["requests"], worker["resources"]["limits"]
    assert requests["cpu"] in ("1", "1000m", 1)
    peak = 70 * 2**20 + 10_000 * 13 * 12_611
    assert mebibytes(requests["memory"]) * 2**20 >= peak
    assert mebibytes(limits["memory"]) > mebibytes(requests["memory"])
    assert "cpu" not in limits

    # The RocksDB store: a PVC template mounted at SCORECARD_DATA_DIR.
    claims = {c["metadata"]["name"]: c for c in sts["spec"]["volumeClaimTemplates"]}
    mounts = {m["name"]: m["mountPath"] for m in worker["volumeMounts"]}
    assert "data" in claims and claims["data"]["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert mounts["data"] == env[DATA_DIR]

    # Plans: files of the plans ConfigMap at the paths the settings name.
    plan_volume = next(v for v in pod["spec"]["volumes"] if "configMap" in v)
    plans_map = next(m for m in generated_configmaps() if m["metadata"]["name"] == plan_volume["configMap"]["name"])
    for setting in PLAN_SETTINGS:
        path = Path(env[setting])
        assert str(path.parent) == mounts[plan_volume["name"]], setting
        assert path.name in plans_map["data"], setting

    # Non-root, as the image.
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert pod["spec"]["securityContext"]["runAsUser"] != 0

    # The headless Service and the PDB select exactly these pods.
    assert sts["spec"]["serviceName"] == service["metadata"]["name"]
    assert service["spec"]["clusterIP"] == "None"
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(port, "http")]
    for selector in (service["spec"]["selector"], pdb["spec"]["selector"]["matchLabels"],
                     sts["spec"]["selector"]["matchLabels"]):
        assert selector.items() <= pod_labels.items()
    assert pdb["spec"].get("maxUnavailable") == 1 or "minAvailable" in pdb["spec"]


def test_every_configmap_reference_resolves_and_settings_are_known():
    docs = rendered()
    maps = {m["metadata"]["name"]: m for m in by_kind(docs, "ConfigMap")}
    settings_env: dict[str, str] = {}
    for workload in by_kind(docs, "StatefulSet") + by_kind(docs, "Job"):
        pod = workload["spec"]["template"]["spec"]
        for container in pod["containers"] + pod.get("initContainers", []):
            for source in container.get("envFrom", []):
                name = source["configMapRef"]["name"]
                assert name in maps, f"{workload['kind']} references unknown ConfigMap {name}"
                settings_env.update(maps[name]["data"])
            for name in env_of(container):
                assert name in SETTING_NAMES, f"{container['name']}: {name} is not a SCORECARD_* setting"
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in maps
    assert set(settings_env) <= SETTING_NAMES, set(settings_env) - SETTING_NAMES
    assert "SCORECARD_PARTITIONS" in settings_env and "SCORECARD_REPLICATION_FACTOR" in settings_env
    assert "SCORECARD_STANDBY_REPLICAS" in settings_env
    # The worker accepts the whole environment of its pod.
    sts = one(docs, "StatefulSet")
    worker = sts["spec"]["template"]["spec"]["containers"][0]
    settings = Settings.from_env({**settings_env, **env_of(worker)})
    assert settings.web_host == "0.0.0.0" and settings.store == "rocksdb"
    # A standby needs another worker to live on.
    assert 1 <= settings.standby_replicas < sts["spec"]["replicas"]


def test_topics_job_runs_topics_create():
    job = one(rendered(), "Job")
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] + container["args"] == ["scorecard", "topics", "create"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")


def test_packaged_plans_in_the_configmap_load():
    from sales_scorecard.core.alert_rules import load_alert_rules
    from sales_scorecard.core.commission import load_plans
    from sales_scorecard.core.scoreplan import load_scorecard_plan

    load_scorecard_plan(str(K8S / "plans" / "scorecard.yaml"))
    load_plans(str(K8S / "plans" / "commission.yaml"))
    assert load_alert_rules(str(K8S / "plans" / "alerts.yaml"))


# ---------------------------------------------------------------------------------------
# compose


def test_compose_services_ports_and_healthchecks():
    services = compose()["services"]
    # No kafka-exporter: the worker exports its group's consumer lag itself.
    assert set(services) == {"kafka", "topics-init", "worker", "prometheus", "grafana"}, set(services)

    kafka = services["kafka"]
    assert kafka["image"] == "apache/kafka:3.9.2"
    assert set(kafka["environment"]["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "kafka:9092" in kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert services["prometheus"]["image"].startswith("prom/prometheus")
    assert services["grafana"]["image"].startswith("grafana/grafana")

    for name in ("topics-init", "worker"):
        build = services[name]["build"]
        assert (COMPOSE.parent / build["context"]).resolve() == ROOT
        assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE
        env = services[name]["environment"]
        assert set(env) <= SETTING_NAMES, set(env) - SETTING_NAMES
        assert env["SCORECARD_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert services["topics-init"]["command"] == ["topics", "create"]
    worker = services["worker"]
    assert worker["command"] == ["worker"]
    assert worker["environment"]["SCORECARD_WEB_HOST"] == "0.0.0.0"
    assert "6066:6066" in worker["ports"]
    assert any(v.split(":")[1] == worker["environment"][DATA_DIR] for v in worker["volumes"])
    assert worker["depends_on"]["topics-init"]["condition"] == "service_completed_successfully"
    assert services["topics-init"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert "9090:9090" in services["prometheus"]["ports"]
    assert "3000:3000" in services["grafana"]["ports"]

    for name in ("kafka", "worker", "prometheus", "grafana"):
        test = services[name]["healthcheck"]["test"]
        assert test[0] == "CMD" and len(test) > 1, name
    assert "/healthz" in " ".join(worker["healthcheck"]["test"])


def test_compose_bind_mounts_exist():
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (COMPOSE.parent / source).exists(), f"{name} mounts missing {source}"


# ---------------------------------------------------------------------------------------
# monitoring


def test_alert_rules_are_complete_and_parse():
    rules = alert_rules()
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert {"alert", "expr", "for", "labels"} <= set(rule), rule.get("alert")
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]
        promql_parser.parse(rule["expr"])
        promql_parser.parse_duration(rule["for"])


def test_alert_rules_cover_the_required_signals():
    by_metric: dict[str, list[dict]] = {}
    for rule in alert_rules():
        for name in selector_names(rule["expr"]):
            by_metric.setdefault(name, []).append(rule)
    for metric in ("scorecard_consumer_lag_records", "scorecard_records_rejected_total", "up",
                   "scorecard_ready", "scorecard_last_processed_timestamp_seconds"):
        assert metric in by_metric, f"no alert uses {metric}"
    stuck = [r for r in by_metric["scorecard_ready"] if "== 0" in r["expr"]]
    assert stuck and any(promql_parser.parse_duration(r["for"]).total_seconds() == 600 for r in stuck)


def test_every_scorecard_metric_in_rules_and_dashboard_is_exported():
    exported = exported_metric_names()
    assert "scorecard_records_rejected_total" in exported and "scorecard_ready" in exported
    ours = monitored_scorecard_metrics()
    assert ours, "the rules and the dashboard name no scorecard_* metric"
    assert ours <= exported, f"not exported by the worker: {sorted(ours - exported)}"
    # Every metric the worker exports appears on the dashboard.
    on_dashboard = {name for expr in dashboard_exprs() for name in selector_names(expr)}
    families = {f.name for f in Metrics().registry.collect()}
    missing = {f for f in families if not any(n == f or n.startswith(f + "_") for n in on_dashboard)}
    assert not missing, f"exported but not on the dashboard: {sorted(missing)}"


def test_rules_and_dashboard_need_nothing_but_the_worker():
    """Every metric of the rules and the dashboard comes from a worker's /metrics
    (or is Prometheus' own ``up``): no exporter next to it."""
    names = {name for rule in alert_rules() for name in selector_names(rule["expr"])}
    names |= {name for expr in dashboard_exprs() for name in selector_names(expr)}
    assert names - {"up"} <= exported_metric_names(), sorted(names - {"up"} - exported_metric_names())
    lag_rules = [r for r in alert_rules() if "scorecard_consumer_lag_records" in r["expr"]]
    assert {r["alert"] for r in lag_rules} == {"ScorecardIngestStalled", "ScorecardConsumerLag"}
    # Every live worker reports the group's lag: aggregate with max, never sum over workers.
    assert all("max by (topic) (scorecard_consumer_lag_records" in r["expr"] for r in lag_rules)


def test_grafana_dashboard_and_provisioning():
    dash = dashboard()
    assert dash["uid"] and dash["title"]
    ids = []
    stack = list(dash["panels"])
    while stack:
        panel = stack.pop()
        ids.append(panel["id"])
        stack.extend(panel.get("panels", []))
        for target in panel.get("targets", []):
            assert target["datasource"]["type"] == "prometheus"
    assert len(ids) == len(set(ids))
    for expr in dashboard_exprs():
        promql_parser.parse(expr)

    prov = MONITORING / "grafana" / "provisioning"
    datasource = yaml.safe_load((prov / "datasources" / "prometheus.yml").read_text())["datasources"][0]
    assert datasource["type"] == "prometheus" and datasource["url"] == "http://prometheus:9090"
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    assert variables["datasource"]["current"]["value"] == datasource["uid"]
    provider = yaml.safe_load((prov / "dashboards" / "sales-scorecard.yml").read_text())["providers"][0]
    grafana = compose()["services"]["grafana"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in grafana["volumes"]}
    dash_target = next(t for t, s in mounted.items() if s.endswith("grafana-dashboard.json"))
    assert Path(dash_target).parent == Path(provider["options"]["path"])
    assert mounted["/etc/grafana/provisioning"].endswith("grafana/provisioning")


def test_prometheus_scrape_config():
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    worker_targets = jobs["sales-scorecard"]["static_configs"][0]["targets"]
    assert worker_targets == ["worker:6066"]
    assert jobs["sales-scorecard"].get("metrics_path", "/metrics") == "/metrics"
    # The worker exports its own consumer lag: no exporter job.
    assert set(jobs) == {"sales-scorecard"}, set(jobs)
    # Rules select the job this config scrapes.
    assert all('job="sales-scorecard"' in r["expr"] for r in alert_rules())
    # Files mounted where prometheus.yml expects them.
    prometheus = compose()["services"]["prometheus"]
    mounted = {v.split(":")[1] for v in prometheus["volumes"]}
    assert {"/etc/prometheus/prometheus.yml", "/etc/prometheus/alerts.yml"} <= mounted


# ---------------------------------------------------------------------------------------
# image


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents wins."""
    excluded = False
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        raw = raw.strip()
        if not raw or raw.startswith("#"):
            continue
        negate = raw.startswith("!")
        pattern = raw.lstrip("!").strip("/")
        regex = (re.escape(pattern).replace(r"\*\*", "\0").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
                 .replace("\0", ".*"))
        parts = path.strip("/").split("/")
        if any(re.fullmatch(regex, "/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            excluded = not negate
    return excluded


def test_dockerfile():
    instructions = dockerfile_instructions()
    froms = [rest for word, rest in instructions if word == "FROM"]
    assert froms and all(f.split()[0] == "python:3.11-slim" for f in froms)
    final = instructions[max(i for i, (w, _) in enumerate(instructions) if w == "FROM"):]
    users = [rest for word, rest in final if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert ("ENTRYPOINT", '["scorecard"]') in final
    assert ("CMD", '["worker"]') in final
    assert any(w == "RUN" and "pip install ." in r for w, r in instructions)

    # Every package directory of pyproject.toml is copied into the build, and everything
    # copied exists and is not excluded from the build context.
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    package_dirs = set(setuptools["package-dir"].values())
    sources = []
    for word, rest in instructions:
        if word == "COPY" and not rest.startswith("--from"):
            sources.extend(rest.split()[:-1])
    assert package_dirs <= {s.rstrip("/") for s in sources}, package_dirs - {s.rstrip("/") for s in sources}
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not dockerignore_excludes(source), f"{source} is excluded by .dockerignore"
        for file in (ROOT / source).rglob("*.py") if (ROOT / source).is_dir() else []:
            if "__pycache__" not in file.parts:
                assert not dockerignore_excludes(str(file.relative_to(ROOT))), file


def test_dockerignore_keeps_the_context_small():
    for path in (".venv/bin/python", ".git/HEAD", "tests/unit/test_engine.py", "var/demo.log",
                 "bench/results/x.json", "core/__pycache__/engine.cpython-311.pyc", "deploy/k8s/statefulset.yaml"):
        assert dockerignore_excludes(path), path
    for path in ("pyproject.toml", "README.md", "core/engine.py", "core/plans/default_scorecard.yaml",
                 "schemas/json/deal.json", "deploy/local/pom.xml", "streams/static/index.html"):
        assert not dockerignore_excludes(path), path


def test_worker_binds_all_interfaces_only_with_a_tokens_file_from_a_secret():
    # A worker reachable from other pods must authenticate (docs/access-control.md).
    pod = one(rendered(), "StatefulSet")["spec"]["template"]["spec"]
    worker = next(c for c in pod["containers"] if c["name"] == "worker")
    env = env_of(worker)
    tokens = Path(env["SCORECARD_AUTH_TOKENS_FILE"])
    mounts = {m["name"]: m for m in worker["volumeMounts"]}
    volume = next(v for v in pod["volumes"] if "secret" in v)
    assert mounts[volume["name"]]["mountPath"] == str(tokens.parent) and mounts[volume["name"]]["readOnly"] is True
    assert volume["secret"]["secretName"] == "scorecard-tokens"
    assert volume["secret"]["defaultMode"] & 0o007 == 0  # not world-readable
    Settings(web_host=env["SCORECARD_WEB_HOST"], auth_tokens_file=str(tokens)).check_web_access()
    with pytest.raises(SettingsError, match="not a loopback address"):
        Settings(web_host=env["SCORECARD_WEB_HOST"]).check_web_access()


def test_compose_worker_reads_its_tokens_file_from_a_secret():
    data = compose()
    worker = data["services"]["worker"]
    assert worker["secrets"] == ["scorecard-tokens"]
    assert worker["environment"]["SCORECARD_AUTH_TOKENS_FILE"] == "/run/secrets/scorecard-tokens"
    assert data["secrets"]["scorecard-tokens"]["file"] == "./tokens.yaml"
    assert "deploy/compose/tokens.yaml" in (ROOT / ".gitignore").read_text().splitlines()


@pytest.mark.parametrize("deployed, packaged", [
    ("deploy/k8s/plans/scorecard.yaml", "core/plans/default_scorecard.yaml"),
    ("deploy/k8s/plans/commission.yaml", "core/plans/default_commission.yaml"),
])
def test_the_deployed_plans_are_the_packaged_defaults(deployed: str, packaged: str) -> None:
    # A cluster runs the plans mounted from deploy/k8s/plans: a copy that falls behind the
    # defaults (a single-scope scorecard plan, say) would score teams with the rep plan.
    import yaml

    root = Path(__file__).resolve().parents[2]
    assert yaml.safe_load((root / deployed).read_text()) == yaml.safe_load((root / packaged).read_text())
