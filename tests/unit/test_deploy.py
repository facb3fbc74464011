"""The deployment examples stay true: the Kubernetes manifest's config validates and its shape holds."""

from __future__ import annotations

import yaml
from kits.paths import ROOT

from slactl.config import parse

DEPLOY = ROOT / "deploy"


def test_the_kubernetes_example_runs_two_replicas_on_a_secret_store_with_health_probes(tmp_path):
    docs = {d["kind"]: d for d in yaml.safe_load_all((DEPLOY / "kubernetes/slactl.yaml").read_text())}
    cfg = parse(docs["ConfigMap"]["data"]["slactl.yaml"], base_dir=tmp_path, source_file="configmap")
    assert cfg.schedule.listen == ("0.0.0.0", 9464)
    dep = docs["Deployment"]["spec"]
    assert dep["replicas"] == 2
    (container,) = dep["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["SLACTL_STORE"]["valueFrom"]["secretKeyRef"]["key"] == "url"
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/healthz"
    assert docs["PodDisruptionBudget"]["spec"]["minAvailable"] == 1


def test_the_container_recipe_installs_the_postgresql_extra_and_runs_the_scheduler_unprivileged():
    text = (DEPLOY / "Containerfile").read_text()
    assert "slactl[postgresql]" in text and 'CMD ["scheduler", "run"]' in text and "USER 10001" in text
