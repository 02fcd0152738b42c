# syntax=docker/dockerfile:1
# The gateway image: `fhir-ledger` on Debian 12, run as the non-root user 10001 (the Helm chart's
# user.uid). Build: docker build -t fhir-ledger:0.1.0 .
# Under Helm, the site's gateway.json, mapping sets, policy bundles and keys come from the chart's
# ConfigMaps and Secrets, mounted over /etc/fhir-ledger/config. The copy of config/ in the image
# (without keys/: no key belongs in an image) serves `docker run`, given a keyring
# (FL_KEYRING_FILE) and the endpoints (FL_* variables, config/README.md).

FROM debian:12 AS build
# The -dev packages scripts/install-deps lists, without the test, lint and service tools; Node.js
# and npm run solc-js, which compiles the contract during the build.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates cmake ninja-build g++ pkgconf \
      libpoco-dev rapidjson-dev libssl-dev librdkafka-dev libhiredis-dev libsecp256k1-dev \
      libre2-dev nettle-dev prometheus-cpp-dev libcli11-dev nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The pinned npm tools first, so the layer stays cached while only sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFL_BUILD_TESTS=OFF \
 && cmake --build /build --target fhir-ledger \
 && strip /build/gateway/app/fhir-ledger
# The runtime stage installs exactly the packages that own the libraries the binary links, so
# the list cannot drift from the build (Debian 12 merges /lib into /usr/lib: try both).
RUN libs="$(ldd /build/gateway/app/fhir-ledger | awk '$2 == "=>" && $3 ~ /^\// {print $3}')" \
 && for lib in $libs; do \
      real="$(readlink -f "$lib")"; found=""; \
      for p in "$lib" "$real" "${real#/usr}" "/usr$real"; do \
        if owner="$(dpkg -S "$p" 2>/dev/null)"; then found="${owner%%:*}"; break; fi; \
      done; \
      [ -n "$found" ] || { echo "no package owns $lib" >&2; exit 1; }; \
      echo "$found" >>/build/runtime-packages.all; \
    done \
 && sort -u /build/runtime-packages.all >/build/runtime-packages \
 && cat /build/runtime-packages

FROM debian:12-slim
COPY --from=build /build/runtime-packages /tmp/runtime-packages
# ca-certificates: https JSON-RPC and JWKS URLs; tzdata: normalize-date reads
# /usr/share/zoneinfo.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates tzdata $(cat /tmp/runtime-packages) \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
 && groupadd --system --gid 10001 fhir-ledger \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin fhir-ledger
COPY --from=build /build/gateway/app/fhir-ledger /usr/local/bin/fhir-ledger
# Readable by the gateway, writable by nobody: it needs no write access to its configuration.
COPY --chown=root:root config/gateway.json /etc/fhir-ledger/config/gateway.json
COPY --chown=root:root config/mappings /etc/fhir-ledger/config/mappings
COPY --chown=root:root config/policies /etc/fhir-ledger/config/policies
USER 10001:10001
WORKDIR /etc/fhir-ledger/config
# The probes' port and the API's (config/README.md, service.healthPort and api.port).
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/fhir-ledger"]
CMD ["serve", "--config", "/etc/fhir-ledger/config/gateway.json"]
