#!/usr/bin/env bash
# The one test command (README "Run the tests"). On a fresh machine it installs what the tests need
# (Debian packages; from npm: Azurite and @cdktf/hcl2json), builds the solution and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Debian packages the tests drive as real peers.
packages=(openssl libnss3-tools nginx-light curl)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node.js for the npm tools below (present on the project's machines; installed from Debian if not).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "installing: nodejs npm"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi

# The infrastructure tests parse infra/terraform with HashiCorp's HCL parser (@cdktf/hcl2json, run by node),
# installed into tests/.tools (gitignored).
if [ ! -f tests/.tools/node_modules/@cdktf/hcl2json/package.json ]; then
  echo "installing: @cdktf/hcl2json (npm, into tests/.tools)"
  npm install --prefix tests/.tools --no-audit --no-fund --loglevel=error @cdktf/hcl2json@0.21.0 >/dev/null
fi

# Azurite (the Blob storage emulator) for the Blob adapter tests, into tests/.tools/azurite (gitignored), where the
# test fixture looks for it. Installed once; a different version is replaced.
AZURITE_VERSION=3.37.0
AZURITE_DIR=tests/.tools/azurite
installed=$(node -p "require('./$AZURITE_DIR/node_modules/azurite/package.json').version" 2>/dev/null || true)
if [ ! -x "$AZURITE_DIR/node_modules/.bin/azurite-blob" ] || [ "$installed" != "$AZURITE_VERSION" ]; then
  command -v npm >/dev/null || { echo "Node.js 18+ with npm is required to install Azurite (https://nodejs.org)"; exit 1; }
  echo "installing: azurite@$AZURITE_VERSION (npm) into $AZURITE_DIR"
  mkdir -p "$AZURITE_DIR"
  npm install --prefix "$AZURITE_DIR" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION"
fi

command -v dotnet >/dev/null || { echo "the .NET 10 SDK is required (https://dot.net)"; exit 1; }

dotnet build OcspFunctions.sln -c Release -nologo -v q
log=$(mktemp)
set +e
dotnet test OcspFunctions.sln -c Release --no-build -nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain closing line for CI: "N passed, N failed".
passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
echo "$passed passed, $failed failed"
exit "$status"
