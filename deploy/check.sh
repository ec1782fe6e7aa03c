#!/usr/bin/env bash
# `make deploy-check`: validate the Dockerfile (hadolint and its facts), deploy/compose.yaml
# (the Compose Specification's JSON schema), the Helm chart (helm lint, helm template, every
# manifest through kubernetes-validate --strict) and the Grafana dashboard's metric names:
# tests/deploy/. All offline: there is no Docker engine and no cluster here, so nothing is
# built or applied.
#
# Helm is built once from the Go module proxy into ~/.cache/headwater/tools (outside the
# repository; about 2-3 minutes on the 2-core machine), then reused.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.21.4  # keep in step with tests/deploy/test_helm.py
PYTHON="${PYTHON:-.venv/bin/python}"
tools="${XDG_CACHE_HOME:-$HOME/.cache}/headwater/tools/helm-$HELM_VERSION"
helm="$tools/helm"

if [[ ! -x "$helm" ]]; then
  go=$(command -v go || true)
  [[ -z "$go" && -x /usr/local/go/bin/go ]] && go=/usr/local/go/bin/go
  if [[ -z "$go" ]]; then
    echo "deploy-check: helm $HELM_VERSION is not in $tools and there is no Go toolchain to" \
         "build it from the Go module proxy (helm.sh/helm/v3/cmd/helm): install Go 1.24+," \
         "or put a helm $HELM_VERSION binary at $helm" >&2
    exit 1
  fi
  echo "deploy-check: building helm $HELM_VERSION from the Go module proxy into $tools (once)"
  mkdir -p "$tools"
  GOBIN="$tools" GOFLAGS=-mod=mod "$go" install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi
export HEADWATER_HELM="$helm"
echo "deploy-check: helm $("$helm" version --template '{{.Version}}') at $helm"
exec "$PYTHON" -m pytest -q -p no:cacheprovider tests/deploy
