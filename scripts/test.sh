#!/usr/bin/env bash
# Runs every check and test of the project: formatting, vet, the Terraform
# format and cross-checks, and the Go tests with the race detector against
# the local emulators (which the tests start themselves).
#
# Needs: Go 1.26, clang (for the BigQuery emulator's first build), the
# Google Cloud CLI with its Firestore and Pub/Sub emulators, and Java.
# The first run builds the BigQuery emulator: 15-25 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

step "go vet"
go vet ./...
(cd infra && go vet ./...)

step "terraform fmt"
if command -v terraform >/dev/null; then
  terraform fmt -check -recursive infra
else
  echo "terraform not installed: skipping terraform fmt -check (the Go cross-checks still run)"
fi

step "tools and the BigQuery emulator"
go run ./scripts/localstack --prepare

step "go test -race"
go test -race -count=1 -timeout 30m ./...
(cd infra && go test -race -count=1 ./...)
