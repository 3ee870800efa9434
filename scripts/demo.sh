#!/usr/bin/env bash
# make demo: a blue-green deploy on this machine, end to end.
#
# Starts Redis, a local registry (notifying the sidecar) and Caddy on
# loopback, runs the sidecar, starts a controller container whose labels
# declare one workload, pushes v1 then v2 of a demo image and shows the
# switch through Caddy. Everything it starts is removed on exit
# (KEEP=1 leaves it running).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

scripts/install-deps.sh || die "install the packages above, then run make demo again"
docker info >/dev/null 2>&1 || die "the Docker Engine is not reachable"
command -v curl >/dev/null || die "the demo needs curl (e.g. apt-get install curl)"

REDIS_PORT=${REDIS_PORT:-16379}
REGISTRY_PORT=${REGISTRY_PORT:-15000}
CADDY_ADMIN=${CADDY_ADMIN:-127.0.0.1:12019}
CADDY_HTTP=${CADDY_HTTP:-127.0.0.1:18080}
SIDECAR=${SIDECAR:-127.0.0.1:19080}
HOST=demo.localhost
REPO=127.0.0.1:$REGISTRY_PORT/demo/app
TOKEN=demo-webhook-token
API=demo-api-token
NET=tinyforge-demo
work=$(mktemp -d /tmp/tinyforge-demo.XXXXXX)
pids=()

cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then
    say "KEEP=1: leaving everything running (logs in $work)"; return
  fi
  say "cleaning up"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  docker rm -f $(docker ps -aq --filter label=tinyforge.workload=demo) tinyforge-demo-controller >/dev/null 2>&1 || true
  docker network rm "$NET" >/dev/null 2>&1 || true
  docker rmi -f $(docker images -q "$REPO") tinyforge-demo-base >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

bg() { # name, command...: run in the background, output to $work/name.log
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
}
wait_for() { # what, command...
  local what=$1; shift
  for _ in $(seq 1 150); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  die "$what did not come up (logs in $work)"
}

say "starting redis-server on 127.0.0.1:$REDIS_PORT"
bg redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$work"
wait_for redis redis-cli -p "$REDIS_PORT" ping

say "starting a registry on 127.0.0.1:$REGISTRY_PORT (it notifies the sidecar on every push)"
cat >"$work/registry.yml" <<YML
version: 0.1
storage: {filesystem: {rootdirectory: $work/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$REGISTRY_PORT}
notifications:
  endpoints:
    - name: tinyforge
      url: http://$SIDECAR/v1/hooks/distribution
      headers: {Authorization: [Bearer $TOKEN]}
      timeout: 2s
      threshold: 5
      backoff: 1s
YML
bg registry docker-registry serve "$work/registry.yml"
wait_for registry curl -sf "http://127.0.0.1:$REGISTRY_PORT/v2/"

say "starting caddy (admin on $CADDY_ADMIN)"
[ "$(cat /proc/sys/net/ipv4/tcp_migrate_req 2>/dev/null)" = 1 ] ||
  echo 1 >/proc/sys/net/ipv4/tcp_migrate_req 2>/dev/null ||
  echo "   (could not set net.ipv4.tcp_migrate_req=1: a few new connections may be reset at a switch)"
echo "{\"admin\":{\"listen\":\"$CADDY_ADMIN\"}}" >"$work/caddy.json"
mkdir -p "$work/caddy-home"
bg caddy env HOME="$work/caddy-home" XDG_DATA_HOME="$work/caddy-home" XDG_CONFIG_HOME="$work/caddy-home" \
  caddy run --config "$work/caddy.json"
wait_for caddy curl -sf "http://$CADDY_ADMIN/config/"

say "starting the sidecar on $SIDECAR (log: $work/sidecar.log)"
TINYFORGE_WEBHOOK_TOKEN=$TOKEN TINYFORGE_API_TOKEN=$API \
bg sidecar bin/tinyforge sidecar --listen "$SIDECAR" --redis-url "redis://127.0.0.1:$REDIS_PORT/0" \
  --caddy-admin "http://$CADDY_ADMIN" --caddy-listen "$CADDY_HTTP" --network "$NET" --domain localhost \
  --log-format json
wait_for sidecar curl -sf "http://$SIDECAR/healthz"

say "building the demo app image (FROM scratch, a static Go binary)"
mkdir -p "$work/image"
CGO_ENABLED=0 go build -o "$work/image/app" ./test/testapp
printf 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n' >"$work/image/Dockerfile"
docker build -q -t tinyforge-demo-base "$work/image" >/dev/null 2>&1
version() { # tag: an image of the demo app that answers its tag
  printf 'FROM tinyforge-demo-base\nENV APP_VERSION=%s\n' "$1" | docker build -q -t "$REPO:$1" - >/dev/null 2>&1
}

say "starting the controller: its labels are the whole configuration"
docker run -d --name tinyforge-demo-controller \
  --label tinyforge.enable=true \
  --label tinyforge.workloads.demo.image="$REPO" \
  --label tinyforge.workloads.demo.port=8080 \
  --label tinyforge.workloads.demo.healthcheck=/health \
  --label tinyforge.workloads.demo.faces.web.subdomain=demo \
  tinyforge-demo-base >/dev/null

get() { curl -s -m 2 -H "Host: $HOST" "http://$CADDY_HTTP/" || true; }
wait_served() {
  for _ in $(seq 1 300); do [ "$(get)" = "$1" ] && return 0; sleep 0.1; done
  die "$1 was never served (logs in $work)"
}

say "pushing v1: the registry calls the sidecar, which deploys it"
version v1
t0=$(date +%s%N)
docker push -q "$REPO:v1" >/dev/null
wait_served v1
echo "   curl -H 'Host: $HOST' http://$CADDY_HTTP/  ->  $(get)   ($(( ($(date +%s%N) - t0) / 1000000 )) ms after the push)"

say "pushing v2 while a client keeps requesting (blue-green: v1 serves until v2 is healthy)"
version v2
( for _ in $(seq 1 60); do printf '%s ' "$(get)"; sleep 0.05; done; echo ) &
watcher=$!
docker push -q "$REPO:v2" >/dev/null
wait_served v2
wait $watcher
echo "   now serving: $(get)"
sleep 3 # the drain period, then the old container goes
say "containers of the workload (the old one has been drained and removed):"
docker ps --filter label=tinyforge.workload=demo --format '   {{.Names}}  {{.Image}}  {{.Status}}'
say "history, from the management API:"
curl -s -H "Authorization: Bearer $API" "http://$SIDECAR/v1/workloads" |
  python3 -c 'import json,sys; [print("  ", e["time"][:19], e["image"], e["outcome"]) for e in json.load(sys.stdin)["workloads"]["demo"]["history"]]' 2>/dev/null || true
say "done"
