#!/usr/bin/env python3
"""Lays out, under ROOT, the files the first rendered Deployment's gateway container would see,
so the real binary can check the rendered gateway.json (chart_test.sh).

  materialize.py RENDERED.yaml ROOT DEV_KEYRING LEDGER_KEY PEM_FILE

The ConfigMap files are written as the projected volume holds them; the files the Secrets would
hold are stand-ins (the development keyring, a development ledger key, one PEM for every
certificate and key). Absolute paths in gateway.json are moved under ROOT. Prints the config's
path.
"""
import json
import os
import shutil
import sys

import yaml


def main():
    rendered, root, keyring, ledger_key, pem = sys.argv[1:6]
    with open(rendered, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    config_maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    pod = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"]
    gateway = next(c for c in pod["containers"] if c["name"] == "gateway")
    volumes = {v["name"]: v for v in pod["volumes"]}

    for mount in gateway["volumeMounts"]:
        volume = volumes[mount["name"]]
        for source in volume.get("projected", {}).get("sources", []):
            data = config_maps[source["configMap"]["name"]].get("data") or {}
            for item in source["configMap"]["items"]:
                path = os.path.join(root + mount["mountPath"], item["path"])
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w", encoding="utf-8") as f:
                    f.write(data[item["key"]])

    config_path = root + gateway["args"][gateway["args"].index("--config") + 1]
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)

    def moved(path):
        return root + path if path.startswith("/") else path

    def put(path, source, mode=0o440):
        os.makedirs(os.path.dirname(moved(path)), exist_ok=True)
        shutil.copyfile(source, moved(path))
        os.chmod(moved(path), mode)

    # What the init container's copy and the Secret volumes would hold.
    put(config["keys"]["keyringFile"], keyring, 0o400)
    config["keys"]["keyringFile"] = moved(config["keys"]["keyringFile"])
    put(config["ledger"]["privateKeyFile"], ledger_key)
    config["ledger"]["privateKeyFile"] = moved(config["ledger"]["privateKeyFile"])
    api = config.get("api", {})
    for key in api.get("keys", []):
        put(key["publicKeyFile"], pem)
        key["publicKeyFile"] = moved(key["publicKeyFile"])
    if api.get("jwksFile"):
        os.makedirs(os.path.dirname(moved(api["jwksFile"])), exist_ok=True)
        with open(moved(api["jwksFile"]), "w", encoding="utf-8") as f:
            f.write('{"keys": []}\n')
        api["jwksFile"] = moved(api["jwksFile"])
    for field, path in list(api.get("tls", {}).items()):
        if field.endswith("File"):
            put(path, pem)
            api["tls"][field] = moved(path)

    with open(config_path, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    print(config_path)


if __name__ == "__main__":
    main()
