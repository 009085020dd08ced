#!/usr/bin/env bash
# Infrastructure checks on their own (they also run inside `bash tests/run-tests.sh`, as the Infra tests of
# tests/OcspFunctions.Tests): installs @cdktf/hcl2json into tests/.tools when missing, converts every
# infra/terraform/*.tf to JSON (a syntax error fails here), then runs the Infra tests: Terraform invariants, and Bicep
# compiled and linted by the real compiler (restoring the test project downloads it: tests/tools/BicepCli).
# Exits non-zero when any file does not parse or compile, a diagnostic is reported, or an invariant is broken.
set -euo pipefail
cd "$(dirname "$0")/../.."

tools=tests/.tools
if [ ! -f "$tools/node_modules/@cdktf/hcl2json/package.json" ]; then
  command -v npm >/dev/null || { echo "npm is required (Debian: apt-get install nodejs npm)"; exit 1; }
  echo "installing @cdktf/hcl2json into $tools"
  npm install --prefix "$tools" --no-audit --no-fund --loglevel=error @cdktf/hcl2json@0.21.0 >/dev/null
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
node tests/infra/hcl2json.mjs infra/terraform > "$out/terraform.json"
echo "parsed: $(ls infra/terraform/*.tf | xargs -n1 basename | tr '\n' ' ')-> $(wc -c < "$out/terraform.json") bytes of JSON"

dotnet test tests/OcspFunctions.Tests -c Release -nologo -v q --filter "FullyQualifiedName~OcspFunctions.Tests.Infra"
