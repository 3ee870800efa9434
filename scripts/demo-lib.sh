# Helpers of scripts/demo.sh: its checks before it starts anything, the
# services it runs on loopback, and how it waits for and reports what the
# sidecar did. Sourced, never run on its own. test/demo runs the demo end
# to end and checks every sentence these functions print.

say() { if [ -t 1 ]; then printf '\033[1;34m==>\033[0m %s\n' "$*"; else printf '==> %s\n' "$*"; fi; }
line() { printf '   %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }
# count LIST NOUN: "1 NOUN" or "N NOUNs" for a newline-separated LIST.
count() { local n; n=$(printf '%s' "$1" | grep -c . || true); [ "$n" = 1 ] && echo "1 $2" || echo "$n $2s"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# fact JSON: one line of DEMO_SUMMARY (when set), the numbers the demo
# printed, in a form a program can check.
fact() { if [ -n "${DEMO_SUMMARY:-}" ]; then printf '%s\n' "$1" >>"$DEMO_SUMMARY"; fi; }
json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }

# checkpoint NAME: under DEMO_SYNC (a FIFO test/demo reads), stop until
# the test has checked what was printed since the last checkpoint against
# the real state. Without DEMO_SYNC, nothing.
checkpoint() {
  [ -n "${DEMO_SYNC:-}" ] || return 0
  echo "@checkpoint $1"
  read -r -t 300 _ <"$DEMO_SYNC" || die "DEMO_SYNC: no answer from the test at checkpoint $1"
}

# preflight: every tool the demo needs, the Docker Engine, free ports and
# no leftovers of an earlier run; says everything that is wrong at once.
preflight() {
  local missing=() pkgs=() tool pkg
  for tool in curl:curl docker:docker.io redis-server:redis-server docker-registry:docker-registry caddy:caddy; do
    pkg=${tool#*:} tool=${tool%%:*}
    command -v "$tool" >/dev/null || { missing+=("$tool (Debian package $pkg)"); pkgs+=("$pkg"); }
  done
  local problems=()
  if [ ${#missing[@]} -gt 0 ]; then
    problems+=("missing: $(IFS=,; echo "${missing[*]}" | sed 's/,/, /g')")
    problems+=("install them with: sudo apt-get install ${pkgs[*]}   (or run scripts/install-deps.sh as root)")
  fi
  command -v go >/dev/null || problems+=("missing: go (the demo compiles its app; Go 1.26 from https://go.dev/dl/)")
  [ -x "$TINYFORGE" ] || problems+=("no tinyforge binary at $TINYFORGE: run make demo (it builds it) or set TINYFORGE")
  if command -v docker >/dev/null; then
    local err
    if ! err=$(docker version --format '{{.Server.Version}}' 2>&1); then
      problems+=("the Docker Engine does not answer (docker version: $(echo "$err" | grep -v '^$' | tail -1)): start it, or point DOCKER_HOST at it")
    elif [ -n "$(docker ps -aq --filter "label=$DEMO_LABEL=$DEMO_NAME")$(docker network ls -q --filter "label=$DEMO_LABEL=$DEMO_NAME")" ]; then
      problems+=("containers or networks of an earlier demo run remain (labelled $DEMO_LABEL=$DEMO_NAME); remove them with: docker rm -f \$(docker ps -aq --filter label=$DEMO_LABEL=$DEMO_NAME); docker network rm \$(docker network ls -q --filter label=$DEMO_LABEL=$DEMO_NAME)")
    fi
  fi
  local var addr other
  for var in REDIS_PORT REGISTRY_PORT CADDY_ADMIN CADDY_HTTP SIDECAR; do
    addr=${!var}
    [[ $var == *_PORT ]] && addr=127.0.0.1:$addr
    if ! [[ $addr =~ ^[^:]+:[0-9]+$ ]]; then
      problems+=("$var=${!var}: want $([[ $var == *_PORT ]] && echo "a port number" || echo "host:port")")
    elif tcp_open "${addr%:*}" "${addr##*:}"; then
      other=$((${addr##*:} + 1))
      [[ $var == *_PORT ]] || other=${addr%:*}:$other
      problems+=("$addr ($var) is in use: stop what listens there or choose another address, e.g. $var=$other make demo")
    fi
  done
  [[ $WATCH =~ ^[0-9]+$ ]] || problems+=("WATCH=$WATCH: want a whole number of seconds")
  if [ ${#problems[@]} -gt 0 ]; then
    printf 'demo: %s\n' "${problems[@]}" >&2
    exit 1
  fi
}

# bg NAME COMMAND...: run in the background, output to $work/NAME.log.
bg() {
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
}

# wait_up WHAT LOG COMMAND...: wait until COMMAND succeeds; otherwise say
# what did not start and show the end of its log.
wait_up() {
  local what=$1 log=$2; shift 2
  for _ in $(seq 1 150); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  printf 'demo: %s did not answer within 30 s; the end of %s:\n' "$what" "$log" >&2
  tail -n 15 "$log" >&2 || true
  exit 1
}
tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# get: the body the app answers through Caddy ("" on any failure).
get() { curl -s -m 2 -H "Host: $HOST" "http://$CADDY_HTTP/" || true; }

# wait_served TAG T0: wait until Caddy serves TAG; echo the ms since T0.
wait_served() {
  local deadline=$(($(now_ms) + 60000))
  while [ "$(now_ms)" -lt $deadline ]; do
    [ "$(get)" = "$1" ] && { echo $(($(now_ms) - $2)); return 0; }
    sleep 0.1
  done
  die "$1 was not served within 60 s (the sidecar's log: $work/sidecar.log)"
}

cli() { TINYFORGE_URL="http://$SIDECAR" TINYFORGE_API_TOKEN="$API" "$TINYFORGE" "$@"; }

# newest_deploy: the id of the newest deploy in the workload's history
# ("" when there is none), read with the CLI like the rest of it.
# (The first line is the table's header.)
newest_deploy() { cli deploys --limit 1 "$W" 2>/dev/null | awk 'NR == 2 {print $3}'; }

# wait_recorded PREV_ID T0: wait until the history's newest deploy is not
# PREV_ID, i.e. the sidecar recorded the deploy as finished; sets rec_id,
# rec_took, rec_outcome and rec_ms (ms since T0). Only finished deploys
# are in the history.
wait_recorded() {
  local l deadline=$(($(now_ms) + (WATCH + 90) * 1000))
  while [ "$(now_ms)" -lt $deadline ]; do
    l=$(cli deploys --limit 1 "$W" 2>/dev/null | sed -n 2p) # after the header
    if [ -n "$l" ] && [ "$(awk '{print $3}' <<<"$l")" != "$1" ]; then
      rec_ms=$(($(now_ms) - $2))
      read -r _ _ rec_id rec_took _ _ _ rec_outcome <<<"$l" # date time id took image digest source outcome
      return 0
    fi
    sleep 0.2
  done
  die "the history recorded no new deploy within $((WATCH + 90)) s (the sidecar's log: $work/sidecar.log)"
}

# wait_gone T0 FILTER...: wait until no container matches the docker ps
# filters; echo the ms since T0.
wait_gone() {
  local t0=$1 deadline=$(($(now_ms) + (WATCH + 90) * 1000)); shift
  while [ "$(now_ms)" -lt $deadline ]; do
    [ -z "$(docker ps -aq "$@")" ] && { echo $(($(now_ms) - t0)); return 0; }
    sleep 0.2
  done
  die "containers ($*) were not removed within $((WATCH + 90)) s (the sidecar's log: $work/sidecar.log)"
}

# containers: the workload's containers, one "name (tag, status)" per line.
containers() {
  docker ps -a --filter "label=tinyforge.workload=$W" --filter "label=$DEMO_LABEL=$DEMO_NAME" \
    --format '{{.Names}} ({{.Label "tinyforge.tag"}}, {{.Status}})'
}
# the_container: the id of the workload's container, while it has one.
the_container() { docker ps -aq --filter "label=tinyforge.workload=$W" --filter "label=$DEMO_LABEL=$DEMO_NAME" | head -n 1; }

# client_start / client_stop: a client requesting the app through Caddy
# without pause, one "body code" line per request in $work/client.log.
client_start() {
  rm -f "$work/client.stop"
  (while [ ! -e "$work/client.stop" ]; do
    printf '%s\n' "$(curl -s -m 2 -H "Host: $HOST" -w ' %{http_code}' "http://$CADDY_HTTP/" 2>/dev/null || true)"
    sleep 0.02
  done >"$work/client.log") &
  client=$!
}
# client_stop sets requests, failed and per_tag ("v1: 40, v2: 200").
client_stop() {
  touch "$work/client.stop"
  wait "$client" || true
  requests=$(wc -l <"$work/client.log")
  failed=$(awk '!($2 == 200 && $1 ~ /^v[0-9]+$/)' "$work/client.log" | wc -l)
  per_tag=$(awk '$2 == 200 && $1 ~ /^v[0-9]+$/ {n[$1]++} END {for (t in n) print t ": " n[t]}' "$work/client.log" | sort | paste -sd, - | sed 's/,/, /g')
}
