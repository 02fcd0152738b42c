#!/usr/bin/env python3
"""Checks what `helm template` rendered against the values it was given (chart_test.sh).

  check_manifests.py RENDERED.yaml CHART_DIR VALUES.json|yaml...

The values files are merged as Helm merges them (the chart's values.yaml first), so every
expectation is derived from the values, not restated; each failed check is printed and the
exit status is 1.
"""
import json
import os
import sys

import yaml

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def merge(base, override):
    """Helm's merge of values files: maps deeply, everything else replaced, null deletes."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override
    out = dict(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif key in out:
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load_values(chart, files):
    with open(os.path.join(chart, "values.yaml"), encoding="utf-8") as f:
        values = yaml.safe_load(f)
    for path in files:
        with open(path, encoding="utf-8") as f:
            values = merge(values, yaml.safe_load(f))
    return values


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def one(items, what):
    check(len(items) == 1, f"expected exactly one {what}, found {len(items)}")
    return items[0] if items else {}


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def env_region(name):
    return "".join(c.upper() if c.isalnum() else "_" for c in name)


def check_security(where, pod_sc, container):
    sc = container.get("securityContext", {})
    name = f"{where} container {container['name']}"
    non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
    uid = sc.get("runAsUser", pod_sc.get("runAsUser"))
    check(non_root is True, f"{name}: runAsNonRoot is not true")
    check(isinstance(uid, int) and uid > 0, f"{name}: runs as uid {uid}, not a non-root uid")
    check(sc.get("readOnlyRootFilesystem") is True, f"{name}: root filesystem is writable")
    check(sc.get("allowPrivilegeEscalation") is False,
          f"{name}: allowPrivilegeEscalation is not false")
    check(sc.get("privileged") is not True, f"{name}: privileged")
    check("ALL" in sc.get("capabilities", {}).get("drop", []), f"{name}: capabilities not dropped")
    check(not sc.get("capabilities", {}).get("add"), f"{name}: adds capabilities")


def check_secret_volume(where, volume, secret_name, gid, pod_sc):
    secret = volume.get("secret")
    if not check(secret is not None, f"{where}: volume {volume['name']} is not a Secret"):
        return
    check(secret.get("secretName") == secret_name,
          f"{where}: volume {volume['name']} mounts Secret {secret.get('secretName')}, "
          f"expected {secret_name}")
    mode = secret.get("defaultMode", 0o644)
    # Secret files belong to root: the gateway reads them through the group, which must be the
    # pod's fsGroup, and nobody else may.
    check(mode & 0o040, f"{where}: Secret {secret_name} mode {oct(mode)} is not group-readable")
    check(mode & 0o007 == 0, f"{where}: Secret {secret_name} mode {oct(mode)} lets others read")
    check(pod_sc.get("fsGroup") == gid,
          f"{where}: fsGroup {pod_sc.get('fsGroup')} is not the gateway's group {gid}")


def mount_for(container, volume_name):
    return next((m for m in container.get("volumeMounts", []) if m["name"] == volume_name), None)


def volume_mounted_at(pod, container, directory):
    """The volume a container sees at `directory`, and its mount."""
    for m in container.get("volumeMounts", []):
        if m["mountPath"].rstrip("/") == directory.rstrip("/"):
            return next(v for v in pod["volumes"] if v["name"] == m["name"]), m
    return None, None


def main():
    rendered, chart, value_files = sys.argv[1], sys.argv[2], sys.argv[3:]
    values = load_values(chart, value_files)
    with open(rendered, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]

    accounts = values["ledger"]["accounts"]
    regions = values["redis"]["regions"]
    secrets = values["secrets"]
    uid, gid = values["user"]["uid"], values["user"]["gid"]

    def secret_name(kind):
        s = secrets[kind]
        if s.get("existingSecret"):
            return s["existingSecret"]
        created = [d for d in by_kind(docs, "Secret") if d["metadata"]["name"].endswith(
            "-" + {"keyring": "keyring", "ledgerKeys": "ledger-keys",
                   "redisPasswords": "redis-passwords", "apiTokenKeys": "api-token-keys"}[kind])]
        s_doc = one(created, f"created Secret for secrets.{kind}")
        if s_doc:
            check(set(s_doc.get("stringData", {})) == set(s.get("values", {})),
                  f"Secret for secrets.{kind} holds {sorted(s_doc.get('stringData', {}))}, "
                  f"expected {sorted(s.get('values', {}))}")
        return s_doc.get("metadata", {}).get("name")

    # The gateway config every Deployment runs.
    config_maps = {d["metadata"]["name"]: d for d in by_kind(docs, "ConfigMap")}
    gateway_cm = one([d for d in config_maps.values() if "gateway.json" in (d.get("data") or {})],
                     "ConfigMap with gateway.json")
    config = json.loads(gateway_cm["data"]["gateway.json"])

    check(config["ledger"]["rpcUrl"] == values["ledger"]["rpcUrl"], "ledger.rpcUrl not rendered")
    check(config["kafka"]["bootstrapServers"] == values["kafka"]["bootstrapServers"],
          "kafka.bootstrapServers not rendered")
    check(config["kafka"]["groupId"] == values["kafka"]["groupId"],
          f"kafka.groupId is {config['kafka'].get('groupId')}, expected the values' "
          f"{values['kafka']['groupId']}")
    check(config["service"]["healthPort"] == values["health"]["port"], "healthPort not rendered")
    check(config["mappings"]["dir"] == "mappings", "mappings.dir is not the mounted mappings/")

    # Each region's Redis endpoint and ACL user, and no region the values do not list.
    check(set(config["redis"]["regions"]) == set(regions),
          f"Redis regions {sorted(config['redis']['regions'])}, expected {sorted(regions)}")
    for name, region in regions.items():
        got = config["redis"]["regions"].get(name, {})
        for field in ("host", "port", "username", "db", "timeoutMs", "cluster"):
            check(got.get(field) == region.get(field),
                  f"region {name}: {field} is {got.get(field)!r}, expected {region.get(field)!r}")
        check("passwordKey" not in got, f"region {name}: passwordKey leaked into gateway.json")

    api = values["api"]
    if api["enabled"]:
        check(config["api"].get("port") == api["port"], "api.port not rendered")
        check(config["api"].get("bind") == "0.0.0.0", "the API listens on loopback only")
        check(config["api"].get("audience") == api["audience"], "api.audience not rendered")
    else:
        check("api" not in config, "the API is configured although api.enabled is false")

    deployments = by_kind(docs, "Deployment")
    check(len(deployments) == len(accounts),
          f"{len(deployments)} Deployments for {len(accounts)} ledger accounts")
    gateway_labels = []
    for account in accounts:
        matching = [d for d in deployments if d["metadata"]["name"].endswith("-" + account["name"])]
        deployment = one(matching, f"Deployment for ledger account {account['name']}")
        if not deployment:
            continue
        where = f"Deployment {deployment['metadata']['name']}"
        spec = deployment["spec"]
        check(spec.get("replicas") == 1, f"{where}: {spec.get('replicas')} replicas share one key")
        check(spec.get("strategy", {}).get("type") == "Recreate",
              f"{where}: a rolling update would run two signers of one account")
        pod = spec["template"]["spec"]
        labels = spec["template"]["metadata"]["labels"]
        check(selects(spec["selector"]["matchLabels"], labels),
              f"{where}: selector misses its pods")
        gateway_labels.append(labels)
        pod_sc = pod.get("securityContext", {})
        check(pod_sc.get("runAsNonRoot") is True, f"{where}: pod runAsNonRoot is not true")
        check(pod_sc.get("runAsUser") == uid and pod_sc.get("runAsGroup") == gid,
              f"{where}: pod runs as {pod_sc.get('runAsUser')}:{pod_sc.get('runAsGroup')}")
        check(pod.get("automountServiceAccountToken") is False,
              f"{where}: mounts a service account token it does not need")
        for c in pod.get("initContainers", []) + pod["containers"]:
            check_security(where, pod_sc, c)

        gateway = one([c for c in pod["containers"] if c["name"] == "gateway"], "gateway container")
        args = gateway.get("command", []) + gateway.get("args", [])
        check(args[:1] == ["serve"] and "--config" in args, f"{where}: not `serve --config FILE`")
        config_path = args[args.index("--config") + 1] if "--config" in args else ""

        # Probes on the health port.
        ports = {p["name"]: p["containerPort"] for p in gateway.get("ports", [])}
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = gateway.get(probe, {}).get("httpGet", {})
            port = ports.get(get.get("port"), get.get("port"))
            check(get.get("path") == path, f"{where}: {probe} on {get.get('path')}, not {path}")
            check(port == config["service"]["healthPort"],
                  f"{where}: {probe} on port {port}, not the health port "
                  f"{config['service']['healthPort']}")
        if api["enabled"]:
            check(ports.get("api") == config["api"]["port"], f"{where}: no container port api")

        # gateway.json, the mapping sets and the policy bundles from the ConfigMaps, laid out as
        # config/ is, in the folder --config names.
        volume, mount = volume_mounted_at(pod, gateway, os.path.dirname(config_path))
        if check(volume is not None, f"{where}: nothing mounted at {os.path.dirname(config_path)}"):
            check(mount.get("readOnly") is True, f"{where}: config mounted writable")
            projected = {}
            for source in volume.get("projected", {}).get("sources", []):
                cm = source.get("configMap")
                if cm:
                    for item in cm.get("items", []):
                        projected[item["path"]] = (cm["name"], item["key"])
            want = {os.path.basename(config_path): (gateway_cm["metadata"]["name"], "gateway.json")}
            for set_name, files in (values.get("mappingSets") or {}).items():
                for rel, content in (files or {}).items():
                    if content is not None:
                        want[f"mappings/{set_name}/{rel}"] = content
            for file, content in (values.get("policyBundles") or {}).items():
                if content is not None:
                    want[f"policies/{file}"] = content
            check(set(projected) == set(want),
                  f"{where}: config folder holds {sorted(projected)}, expected {sorted(want)}")
            for path, expected in want.items():
                if path not in projected:
                    continue
                cm_name, key = projected[path]
                data = (config_maps.get(cm_name, {}).get("data") or {})
                if isinstance(expected, tuple):
                    check(projected[path] == expected, f"{where}: {path} is not gateway.json")
                else:
                    check(data.get(key) == expected,
                          f"{where}: {path} (ConfigMap {cm_name} key {key}) is not the "
                          "values' file")
            for field in ("bundle", "shadow"):
                ref = (config.get("policy") or {}).get(field)
                if ref:
                    check(ref in projected, f"{where}: policy.{field} {ref} is not mounted")

        # Keyring (which carries the pepper): the Secret is copied by the init container to a
        # file only the gateway's user can read, where keys.keyringFile points.
        keyring_file = config["keys"]["keyringFile"]
        init = one([c for c in pod.get("initContainers", []) if c["name"] == "keyring"],
                   f"{where}: keyring init container")
        if init:
            command = init.get("command", [])
            check(command[:3] == ["install", "-m", "0400"] and command[-1] == keyring_file,
                  f"{where}: the keyring copy is not `install -m 0400 … {keyring_file}`: "
                  f"{command}")
            src_volume, _ = volume_mounted_at(pod, init, os.path.dirname(command[-2]))
            if check(src_volume is not None, f"{where}: init container reads no keyring Secret"):
                check_secret_volume(where, src_volume, secret_name("keyring"), gid, pod_sc)
                items = src_volume["secret"].get("items", [])
                check([(i["key"], i["path"]) for i in items] ==
                      [(secrets["keyring"]["key"], os.path.basename(command[-2]))],
                      f"{where}: keyring Secret items {items}")
            dst_volume, dst_mount = volume_mounted_at(pod, init, os.path.dirname(keyring_file))
            check(dst_volume is not None and "emptyDir" in dst_volume and
                  dst_volume["emptyDir"].get("medium") == "Memory",
                  f"{where}: the keyring copy is not in a memory emptyDir")
        kr_volume, kr_mount = volume_mounted_at(pod, gateway, os.path.dirname(keyring_file))
        check(kr_volume is not None and "emptyDir" in kr_volume and kr_mount.get("readOnly"),
              f"{where}: the gateway does not see the keyring copy read-only at {keyring_file}")

        # This account's ledger key, and no other account's.
        key_file = config["ledger"]["privateKeyFile"]
        lk_volume, _ = volume_mounted_at(pod, gateway, os.path.dirname(key_file))
        if check(lk_volume is not None, f"{where}: no ledger key mounted for {key_file}"):
            check_secret_volume(where, lk_volume, secret_name("ledgerKeys"), gid, pod_sc)
            items = lk_volume["secret"].get("items", [])
            check([(i["key"], i["path"]) for i in items] ==
                  [(account["privateKeySecretKey"], os.path.basename(key_file))],
                  f"{where}: ledger key items {items}, expected only "
                  f"{account['privateKeySecretKey']}")

        # The API's token keys and TLS files.
        if api["enabled"]:
            key_files = [k["publicKeyFile"] for k in config["api"].get("keys", [])]
            if config["api"].get("jwksFile"):
                key_files.append(config["api"]["jwksFile"])
            check(key_files or config["api"].get("jwksUrl"), f"{where}: the API has no token keys")
            for file in key_files:
                v, _ = volume_mounted_at(pod, gateway, os.path.dirname(file))
                if check(v is not None, f"{where}: nothing mounted for API key file {file}"):
                    check_secret_volume(where, v, secret_name("apiTokenKeys"), gid, pod_sc)
            tls = config["api"].get("tls")
            check(bool(tls) == bool(api["tls"]["secretName"]), f"{where}: api.tls mismatch")
            for file in (tls or {}).values():
                if file.startswith("/"):
                    v, _ = volume_mounted_at(pod, gateway, os.path.dirname(file))
                    if check(v is not None, f"{where}: nothing mounted for {file}"):
                        check_secret_volume(where, v, api["tls"]["secretName"], gid, pod_sc)

        # Redis passwords: the region's variable from the Secret.
        env = {e["name"]: e for e in gateway.get("env", [])}
        redis_secret = secrets["redisPasswords"]
        has_redis_secret = bool(redis_secret.get("existingSecret") or redis_secret.get("values"))
        for name, region in regions.items():
            var = f"FL_REDIS_{env_region(name)}_PASSWORD"
            if not has_redis_secret:
                check(var not in env, f"{where}: {var} set without a password Secret")
                continue
            ref = env.get(var, {}).get("valueFrom", {}).get("secretKeyRef", {})
            check(ref.get("name") == secret_name("redisPasswords") and
                  ref.get("key") == region.get("passwordKey", name),
                  f"{where}: {var} is {ref}, expected key {region.get('passwordKey', name)}")
        check(not [e for e in env.values() if "value" in e and "PASSWORD" in e["name"]],
              f"{where}: a password in clear in the environment")

        # Every Deployment runs the one config: one consumer group.
        check(projected.get(os.path.basename(config_path), ("",))[0] ==
              gateway_cm["metadata"]["name"] if volume else False,
              f"{where}: runs another gateway.json than the others")

    # The API's Service reaches every account's pod on the API port.
    services = by_kind(docs, "Service")
    api_services = [s for s in services if any(p.get("targetPort") == "api"
                                               for p in s["spec"]["ports"])]
    if api["enabled"]:
        service = one(api_services, "Service for the API")
        if service:
            port = service["spec"]["ports"][0]
            check(port["port"] == api["service"]["port"], f"API Service on port {port['port']}")
            check(all(selects(service["spec"]["selector"], labels) for labels in gateway_labels),
                  "the API Service does not select every gateway pod")
    else:
        check(not api_services, "an API Service although api.enabled is false")

    pdb = one(by_kind(docs, "PodDisruptionBudget"), "PodDisruptionBudget")
    if pdb:
        selector = pdb["spec"]["selector"]["matchLabels"]
        check(all(selects(selector, labels) for labels in gateway_labels),
              "the PodDisruptionBudget does not cover every gateway pod")
        check("maxUnavailable" in pdb["spec"] or "minAvailable" in pdb["spec"],
              "the PodDisruptionBudget sets no budget")

    monitors = by_kind(docs, "ServiceMonitor")
    if values["metrics"]["serviceMonitor"]["enabled"]:
        monitor = one(monitors, "ServiceMonitor")
        if monitor:
            targets = [s for s in services
                       if selects(monitor["spec"]["selector"]["matchLabels"],
                                  s["metadata"].get("labels", {}))]
            target = one(targets, "Service the ServiceMonitor selects")
            endpoint = monitor["spec"]["endpoints"][0]
            check(endpoint.get("path") == "/metrics", "the ServiceMonitor scrapes no /metrics")
            if target:
                port = next((p for p in target["spec"]["ports"]
                             if p["name"] == endpoint.get("port")), None)
                check(port is not None and port["targetPort"] == "health",
                      "the ServiceMonitor's port is not the health port")
                check(all(selects(target["spec"]["selector"], labels)
                          for labels in gateway_labels),
                      "the metrics Service does not select every gateway pod")
    else:
        check(not monitors, "a ServiceMonitor although metrics.serviceMonitor.enabled is false")

    for message in failures:
        print(f"FAIL {os.path.basename(value_files[-1])}: {message}")
    if not failures:
        print(f"ok   {os.path.basename(value_files[-1])}: {len(deployments)} Deployment(s), "
              f"{len(regions)} region(s), {len(docs)} manifests")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
