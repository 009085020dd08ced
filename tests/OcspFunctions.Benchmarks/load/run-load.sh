#!/usr/bin/env bash
# Whole-process load benchmark and hostile-input run of the OcspResponder, on loopback only.
#
#   tests/OcspFunctions.Benchmarks/load/run-load.sh [options]
#
#   --duration D        wrk duration per measurement (default 10s)
#   --warmup D          wrk warm-up per target before its first measurement (default 3s)
#   --rounds N          measure every target N times, interleaved; the table shows medians (default 3)
#   --connections N     wrk connections (default 32); one wrk thread
#   --serials N         issued serials in index.txt (default 1000; ~10 % revoked)
#   --leaves N          of those, real certificates (default 100): cfssl needs one per response it signs
#   --hostile-count N   requests of the hostile run (default 100000)
#   --no-load           skip the wrk measurements
#   --no-hostile        skip the hostile-input run
#   --keep              keep the work directory
#
# It builds the responder and the benchmark exe in Release, makes a demo PKI with openssl, refreshes the store,
# starts `OcspResponder serve`, `OcspFunctions.Benchmarks bare-kestrel` and `cfssl ocspserve` on free loopback
# ports (pinned to CPU 1; wrk on CPU 0 when there are 2+ CPUs), measures with wrk, then runs
# `OcspFunctions.Benchmarks hostile` against the responder. Everything it started is stopped on exit.
# Exit status: non-zero when a step fails or the hostile run finds a problem.
set -euo pipefail

DURATION=10s
WARMUP=3s
ROUNDS=3
CONNECTIONS=32
SERIALS=1000
LEAVES=100
HOSTILE_COUNT=100000
DO_LOAD=1
DO_HOSTILE=1
KEEP=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --serials) SERIALS=$2; shift 2 ;;
    --leaves) LEAVES=$2; shift 2 ;;
    --hostile-count) HOSTILE_COUNT=$2; shift 2 ;;
    --no-load) DO_LOAD=0; shift ;;
    --no-hostile) DO_HOSTILE=0; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
(( LEAVES <= SERIALS )) || { echo "--leaves must not exceed --serials" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ocsp-load.XXXXXX")
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if (( KEEP )); then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '\n== %s\n' "$*"; }

# ---------------------------------------------------------------- tools
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v cfssl >/dev/null || need+=(golang-cfssl)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v taskset >/dev/null || need+=(util-linux)
if (( ${#need[@]} )); then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v dotnet >/dev/null || { echo "dotnet SDK not found" >&2; exit 1; }

CPUS=$(nproc)
if (( CPUS >= 2 )); then SERVER_CPU=(taskset -c 1); CLIENT_CPU=(taskset -c 0); else SERVER_CPU=(); CLIENT_CPU=(); fi

# ---------------------------------------------------------------- build
log "building (Release) into $WORK"
dotnet publish "$REPO/src/OcspResponder" -c Release -o "$WORK/responder" --nologo -v q >/dev/null
dotnet publish "$REPO/tests/OcspFunctions.Benchmarks" -c Release -o "$WORK/bench" --nologo -v q >/dev/null
# The bare Kestrel baseline runs with the responder's runtime settings (workstation GC with ConserveMemory 7,
# invariant globalization: src/OcspResponder/OcspResponder.csproj).
sed -i -e 's/"System.GC.Server": false/"System.GC.Server": false, "System.GC.ConserveMemory": 7, "System.Globalization.Invariant": true/' \
  "$WORK/bench/OcspFunctions.Benchmarks.runtimeconfig.json"
RESPONDER=(dotnet "$WORK/responder/OcspResponder.dll")
BENCH=(dotnet "$WORK/bench/OcspFunctions.Benchmarks.dll")

# ---------------------------------------------------------------- demo PKI
log "demo PKI: EC P-256 CA, delegated responder, $SERIALS issued serials ($LEAVES real leaves), ~10 % revoked"
PKI="$WORK/pki"
mkdir -p "$PKI/leaves"
cd "$PKI"
cat > openssl.cnf <<'EOF'
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = .
database = $dir/index.txt
new_certs_dir = $dir/leaves
serial = $dir/serial
crlnumber = $dir/crlnumber
certificate = $dir/ca.pem
private_key = $dir/ca.key
default_md = sha256
policy = policy_any
unique_subject = no
default_days = 90
default_crl_days = 7
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = Load Test Root CA
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ ocsp_ext ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = OCSPSigning
noCheck = ignored
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ leaf_ext ]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ crl_ext ]
authorityKeyIdentifier = keyid
EOF
EC=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve)
openssl genpkey "${EC[@]}" -out ca.key 2>/dev/null
openssl req -config openssl.cnf -new -x509 -key ca.key -out ca.pem -days 3650 -sha256 -extensions v3_ca -set_serial 0x1001
openssl genpkey "${EC[@]}" -out responder-key.pem 2>/dev/null
openssl req -config openssl.cnf -new -key responder-key.pem -subj "/CN=Load Test OCSP Responder" -out responder.csr
openssl x509 -req -in responder.csr -CA ca.pem -CAkey ca.key -set_serial 0x1002 -days 30 -sha256 \
  -extfile openssl.cnf -extensions ocsp_ext -out responder.pem 2>/dev/null
openssl genpkey "${EC[@]}" -out leaf.key 2>/dev/null
openssl req -config openssl.cnf -new -key leaf.key -subj "/CN=Load Test Leaf" -out leaf.csr

# Random positive 16-byte serials (first hex digit 1-7: no sign padding, no leading zero), unique.
head -c $((16 * SERIALS * 2)) /dev/urandom | od -An -v -tx1 | tr -d ' \n' | fold -w32 \
  | awk '{ printf "%s%s\n", substr("1234567", (NR % 7) + 1, 1), toupper(substr($0, 2)) }' | awk '!seen[$0]++' > all.serials
head -n "$SERIALS" all.serials > issued.serials
tail -n +$((SERIALS + 1)) all.serials | head -n 1000 > never-issued.serials
head -n "$LEAVES" issued.serials > leaves.serials

# index.txt in `openssl ca` form: every 10th serial revoked (keyCompromise, yesterday); the CRL comes from it.
expiry=$(date -u -d '+90 days' +%y%m%d%H%M%SZ)
revoked_at=$(date -u -d '-1 day' +%y%m%d%H%M%SZ)
awk -v e="$expiry" -v r="$revoked_at" '{
  if (NR % 10 == 0) printf "R\t%s\t%s,keyCompromise\t%s\tunknown\t/CN=Load Test Leaf %d\n", e, r, $0, NR;
  else printf "V\t%s\t\t%s\tunknown\t/CN=Load Test Leaf %d\n", e, $0, NR }' issued.serials > index.txt
echo "unique_subject = no" > index.txt.attr
echo 1000 > crlnumber
awk 'NR % 10 == 0' issued.serials > revoked.serials
openssl ca -config openssl.cnf -gencrl -crlexts crl_ext -out crl.pem 2>/dev/null

# Real leaves for the first $LEAVES serials (same key and subject, distinct serials).
while read -r s; do
  openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -set_serial "0x$s" -days 90 -sha256 \
    -extfile openssl.cnf -extensions leaf_ext -out "leaves/$s.pem" 2>/dev/null
done < leaves.serials
echo "  $(wc -l < issued.serials) issued, $(wc -l < revoked.serials) revoked in the CRL" \
     "($(openssl crl -in crl.pem -noout -text | grep -c 'Serial Number:') entries), $(ls leaves | wc -l) real leaves"

cat > ocsp.json <<'EOF'
{
  "Ocsp": {
    "Store": { "Path": "store" },
    "Timing": { "Validity": "4.00:00:00" },
    "Issuers": [
      {
        "Name": "load-ca",
        "Certificate": "ca.pem",
        "Crls": [ "crl.pem" ],
        "IssuedSerials": "index.txt",
        "Responder": { "Certificate": "responder.pem", "Key": "responder-key.pem" }
      }
    ]
  }
}
EOF

log "refresh"
"${RESPONDER[@]}" refresh --config ocsp.json 2>&1 | sed 's/^/  /'

# Requests: hits (every issued serial), misses (never issued: unauthorized), the real leaves (for cfssl).
"${BENCH[@]}" ocsp-requests --ca ca.pem --serials issued.serials --out hit.tsv
"${BENCH[@]}" ocsp-requests --ca ca.pem --serials never-issued.serials --out miss.tsv
"${BENCH[@]}" ocsp-requests --ca ca.pem --serials leaves.serials --out leaf.tsv

# ---------------------------------------------------------------- servers
free_port() {
  local p
  for p in $(shuf -i 20000-60000 -n 100); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "no free port" >&2; return 1
}

wait_http() { # url, name: up to 30 s
  local i
  for i in $(seq 1 150); do
    if curl -s -o /dev/null --max-time 1 "$1"; then return 0; fi
    sleep 0.2
  done
  echo "$2 did not answer at $1" >&2; return 1
}

OCSP_PORT=$(free_port)
"${SERVER_CPU[@]}" "${RESPONDER[@]}" serve --config ocsp.json --urls "http://127.0.0.1:$OCSP_PORT" > serve.log 2>&1 &
OCSP_PID=$!; PIDS+=("$OCSP_PID")
OCSP="http://127.0.0.1:$OCSP_PORT"
wait_http "$OCSP/health" "OcspResponder serve"

# One response as the bare Kestrel body, so the payload size matches a hit.
first_leaf=$(head -n 1 leaves.serials)
"${RESPONDER[@]}" staple --config ocsp.json --cert "leaves/$first_leaf.pem" --out sample.der > /dev/null
BARE_PORT=$(free_port)
"${SERVER_CPU[@]}" "${BENCH[@]}" bare-kestrel --urls "http://127.0.0.1:$BARE_PORT" --body sample.der > bare.log 2>&1 &
BARE_PID=$!; PIDS+=("$BARE_PID")
BARE="http://127.0.0.1:$BARE_PORT"
wait_http "$BARE/" "bare-kestrel"

# cfssl: one response per real leaf (same status as the CRL), base64 DER one a line (ocspsign prints
# {"ocspResponse":"…"}), served from memory.
: > cfssl.responses
revoked_date=$(date -u -d '-1 day' +%Y-%m-%d)
while read -r s; do
  if grep -qx "$s" revoked.serials; then status=(-status revoked -reason 1 -revoked-at "$revoked_date"); else status=(-status good); fi
  cfssl ocspsign -ca ca.pem -responder responder.pem -responder-key responder-key.pem -cert "leaves/$s.pem" \
    "${status[@]}" -interval 96h -loglevel 5 | sed -n 's/.*"ocspResponse":"\([^"]*\)".*/\1/p' >> cfssl.responses
done < leaves.serials
[[ $(grep -c . cfssl.responses) == "$LEAVES" ]] || { echo "cfssl ocspsign did not give $LEAVES responses" >&2; exit 1; }
CFSSL_PORT=$(free_port)
"${SERVER_CPU[@]}" cfssl ocspserve -address 127.0.0.1 -port "$CFSSL_PORT" -responses cfssl.responses -loglevel 3 > cfssl.log 2>&1 &
CFSSL_PID=$!; PIDS+=("$CFSSL_PID")
CFSSL="http://127.0.0.1:$CFSSL_PORT"
wait_http "$CFSSL/" "cfssl ocspserve"

# ---------------------------------------------------------------- sanity: answers are what the rows claim
log "sanity checks (openssl ocsp as the client)"
check_ocsp() { # name url serial expected-status
  local out
  out=$(openssl ocsp -issuer ca.pem -serial "0x$3" -url "$2" -CAfile ca.pem -no_nonce 2>&1 || true)
  if grep -q "Response verify OK" <<<"$out" && grep -qi ": $4" <<<"$out"; then echo "  $1 POST 0x$3: $4, verify OK"
  else echo "  $1 POST 0x$3: unexpected answer:"; sed 's/^/    /' <<<"$out"; return 1; fi
}
revoked_leaf=$(grep -xF -f leaves.serials revoked.serials | head -n 1)
check_ocsp responder "$OCSP" "$first_leaf" good
check_ocsp responder "$OCSP" "$revoked_leaf" revoked
check_ocsp cfssl "$CFSSL" "$first_leaf" good
check_ocsp cfssl "$CFSSL" "$revoked_leaf" revoked
miss_path=$(head -n 1 miss.tsv | cut -f1)
hit_path=$(sed -n 2p hit.tsv | cut -f1)
curl -s "$OCSP$hit_path" -o get-hit.der
curl -s "$OCSP$miss_path" -o get-miss.der
[[ $(od -An -tx1 get-miss.der | tr -d ' \n') == 30030a0106 ]] || { echo "  GET miss is not unauthorized" >&2; exit 1; }
echo "  responder GET hit: $(stat -c %s get-hit.der)-byte response; GET miss: unauthorized (30 03 0a 01 06)"
echo "  bare Kestrel: $(curl -s "$BARE$hit_path" | wc -c) bytes; cfssl GET (broken in 1.2.0, not measured): HTTP $(curl -s -o /dev/null -w '%{http_code}' "$CFSSL$hit_path")"

# ---------------------------------------------------------------- load
to_ms() { # wrk latency "1.23ms" / "850.00us" / "1.02s" -> ms
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; } # utime + stime of a process
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
TCK=$(getconf CLK_TCK)

declare -A RPS P50 P99 CPU ERRS
measure() { # key url file mode server-pid round
  local out t0 t1 n rps p50 p99 cpu errs
  if (( $6 == 1 )); then "${CLIENT_CPU[@]}" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" -s "$HERE/ocsp.lua" "$2" -- "$3" "$4" > /dev/null; fi
  t0=$(cpu_ticks "$5")
  out=$("${CLIENT_CPU[@]}" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$HERE/ocsp.lua" "$2" -- "$3" "$4")
  t1=$(cpu_ticks "$5")
  echo "$out" > "wrk-$1-$6.txt"
  n=$(awk '/ requests in / { print $1 }' <<<"$out")
  rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  cpu=$(awk -v a="$t0" -v b="$t1" -v n="$n" -v t="$TCK" 'BEGIN { printf "%.1f", (b - a) * 1e6 / t / n }')
  errs=$(awk '/Non-2xx/ { n += $NF } /Socket errors/ { gsub(",", ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' <<<"$out")
  RPS[$1]+="$rps "; P50[$1]+="$p50 "; P99[$1]+="$p99 "; CPU[$1]+="$cpu "; ERRS[$1]=$(( ${ERRS[$1]:-0} + errs ))
  printf '  round %d %-22s %8s req/s  p50 %6s ms  p99 %7s ms  server CPU %6s us/req  errors %s\n' "$6" "$1" "$rps" "$p50" "$p99" "$cpu" "$errs"
  if (( errs > 0 )); then grep -E 'Non-2xx|Socket errors' <<<"$out" | sed 's/^/      wrk: /'; fi
}

if (( DO_LOAD )); then
  log "load: $ROUNDS rounds of wrk -t1 -c$CONNECTIONS -d$DURATION --latency over all targets, interleaved ($WARMUP warm-up each in round 1);" \
      "servers on CPU ${SERVER_CPU[2]:-any}, wrk on CPU ${CLIENT_CPU[2]:-any}"
  for round in $(seq 1 "$ROUNDS"); do
    measure bare-get "$BARE" hit.tsv get "$BARE_PID" "$round"
    measure bare-post "$BARE" hit.tsv post "$BARE_PID" "$round"
    measure responder-get-hit "$OCSP" hit.tsv get "$OCSP_PID" "$round"
    measure responder-get-miss "$OCSP" miss.tsv get "$OCSP_PID" "$round"
    measure responder-post-hit "$OCSP" hit.tsv post "$OCSP_PID" "$round"
    measure responder-post-miss "$OCSP" miss.tsv post "$OCSP_PID" "$round"
    measure cfssl-post-hit "$CFSSL" leaf.tsv post "$CFSSL_PID" "$round"
    measure cfssl-post-miss "$CFSSL" miss.tsv post "$CFSSL_PID" "$round"
  done
  echo "  responder VmRSS after load: $(awk '/VmRSS/ { printf "%.0f MB", $2 / 1024 }' "/proc/$OCSP_PID/status")"

  log "results: medians of $ROUNDS rounds ($CPUS CPUs, .NET $(dotnet --version), $(cfssl version 2>/dev/null | awk '/^Version/ { print "cfssl " $2 }'), wrk -t1 -c$CONNECTIONS -d$DURATION)"
  printf '| %-40s | %7s | %6s | %7s | %10s | %7s | %8s | %8s |\n' "Target" "req/s" "p50 ms" "p99 ms" "CPU us/req" "vs bare" "vs cfssl" "CPU/bare"
  printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "------------------------------------------" "--------:" "-------:" "--------:" "-----------:" "--------:" "---------:" "---------:"
  row() { # key label bare-key
    local rps p50 p99 cpu brps ccpu crps bcpu
    rps=$(median ${RPS[$1]}); p50=$(median ${P50[$1]}); p99=$(median ${P99[$1]}); cpu=$(median ${CPU[$1]})
    brps=$(median ${RPS[$3]}); bcpu=$(median ${CPU[$3]}); crps=$(median ${RPS[cfssl-post-hit]})
    printf '| %-40s | %7.0f | %6.2f | %7.2f | %10.1f | %7.2f | %8.2f | %8.2f |\n' "$2" "$rps" "$p50" "$p99" "$cpu" \
      "$(awk -v a="$rps" -v b="$brps" 'BEGIN { print a / b }')" "$(awk -v a="$rps" -v b="$crps" 'BEGIN { print a / b }')" \
      "$(awk -v a="$cpu" -v b="$bcpu" 'BEGIN { print a / b }')"
  }
  row responder-get-hit "OcspResponder GET hit ($SERIALS serials)" bare-get
  row responder-get-miss "OcspResponder GET miss (unauthorized)" bare-get
  row responder-post-hit "OcspResponder POST hit ($SERIALS serials)" bare-post
  row responder-post-miss "OcspResponder POST miss (unauthorized)" bare-post
  row cfssl-post-hit "cfssl ocspserve POST hit ($LEAVES serials)" bare-post
  row cfssl-post-miss "cfssl ocspserve POST miss" bare-post
  row bare-get "bare Kestrel GET (fixed bytes)" bare-get
  row bare-post "bare Kestrel POST (fixed bytes)" bare-post
  total_errors=0
  for k in "${!ERRS[@]}"; do total_errors=$(( total_errors + ERRS[$k] )); done
  echo "  vs bare / CPU/bare: against bare Kestrel with the same method; vs cfssl: against cfssl POST hit."
  echo "  non-2xx/socket errors over all runs: $total_errors (a miss is HTTP 200 unauthorized, so 0 is expected;" \
       "wrk counts a request over its 2 s timeout as a socket error)"
fi

# ---------------------------------------------------------------- hostile input
HOSTILE_RC=0
if (( DO_HOSTILE )); then
  log "hostile input: $HOSTILE_COUNT requests against the responder (pid $OCSP_PID)"
  "${CLIENT_CPU[@]}" "${BENCH[@]}" hostile --url "$OCSP" --pid "$OCSP_PID" --requests hit.tsv --requests miss.tsv \
    --count "$HOSTILE_COUNT" --concurrency 32 --seed 1 --max-seconds 900 || HOSTILE_RC=$?
  if grep -qiE 'fail|exception|unhandled' serve.log; then
    echo "serve.log has errors:"; grep -iE 'fail|exception|unhandled' serve.log | head -n 20; HOSTILE_RC=1
  fi
fi
exit "$HOSTILE_RC"
