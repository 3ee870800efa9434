#!/usr/bin/env bash
# make demo: a blue-green deploy on this machine, end to end.
#
# Starts Redis, a local registry (notifying the sidecar) and Caddy on
# loopback, runs the sidecar, starts a controller container whose labels
# declare one workload, then pushes v1, v2 (while a client keeps
# requesting) and an unhealthy v3, and rolls back with the CLI. Each step
# waits until the sidecar's history records the deploy as finished before
# it reports; what is still going on when it reports is said plainly.
# Everything it starts is removed on exit (KEEP=1 leaves it running).
#
# Variables (defaults): REDIS_PORT (16379), REGISTRY_PORT (15000),
# CADDY_ADMIN (127.0.0.1:12019), CADDY_HTTP (127.0.0.1:18080), SIDECAR
# (127.0.0.1:19080), WATCH (10: the sidecar's post-switch watch, seconds),
# DEMO_NAME (demo: workload name, prefix of everything it creates),
# TINYFORGE (bin/tinyforge), KEEP, DEMO_SUMMARY (a file: the measured
# numbers as JSON lines), DEMO_SYNC (a FIFO: test/demo checks each step).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/demo-lib.sh

REDIS_PORT=${REDIS_PORT:-16379}
REGISTRY_PORT=${REGISTRY_PORT:-15000}
CADDY_ADMIN=${CADDY_ADMIN:-127.0.0.1:12019}
CADDY_HTTP=${CADDY_HTTP:-127.0.0.1:18080}
SIDECAR=${SIDECAR:-127.0.0.1:19080}
WATCH=${WATCH:-10}
DEMO_NAME=${DEMO_NAME:-demo}
TINYFORGE=${TINYFORGE:-bin/tinyforge}
DEMO_LABEL=tinyforge-demo # on every container, network and image the demo creates
W=$DEMO_NAME              # the workload
HOST=$DEMO_NAME.localhost
REPO=127.0.0.1:$REGISTRY_PORT/$DEMO_NAME/app
CONTROLLER=$DEMO_NAME-controller
NET=tinyforge-$DEMO_NAME
TOKEN=demo-webhook-token
API=demo-api-token

say "checking the tools: curl, docker, redis-server, docker-registry, caddy, go"
preflight
line "all found; Docker Engine $(docker version --format '{{.Server.Version}}') answers; ports free"

work=$(mktemp -d "${TMPDIR:-/tmp}/tinyforge-demo.XXXXXX")
pids=()
client=
ok=0
cleanup() {
  [ -z "$client" ] || { touch "$work/client.stop"; wait "$client" 2>/dev/null || true; }
  if [ "${KEEP:-0}" = 1 ]; then
    say "KEEP=1: leaving everything running (logs in $work)"; return
  fi
  say "cleaning up"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  local cs ns is
  cs=$(docker ps -aq --filter "label=$DEMO_LABEL=$DEMO_NAME")
  ns=$(docker network ls -q --filter "label=$DEMO_LABEL=$DEMO_NAME")
  is=$(docker images -q --filter "label=$DEMO_LABEL=$DEMO_NAME" | awk '!seen[$0]++') # newest first: children before their base
  [ -z "$cs" ] || docker rm -f $cs >/dev/null || true
  [ -z "$ns" ] || docker network rm $ns >/dev/null || true
  [ -z "$is" ] || docker rmi -f $is >/dev/null || true
  line "removed $(count "$cs" container), $(count "$ns" network), $(count "$is" image)"
  local left
  left=$(docker ps -aq --filter "label=$DEMO_LABEL=$DEMO_NAME"; docker network ls -q --filter "label=$DEMO_LABEL=$DEMO_NAME"
    docker images -aq --filter "label=$DEMO_LABEL=$DEMO_NAME")
  [ -z "$left" ] || line "but these remain, labelled $DEMO_LABEL=$DEMO_NAME: $(echo $left)"
  if [ "$ok" = 1 ]; then rm -rf "$work"; else line "logs kept in $work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting redis-server on 127.0.0.1:$REDIS_PORT"
bg redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$work"
wait_up redis-server "$work/redis.log" tcp_open 127.0.0.1 "$REDIS_PORT"

say "starting a registry on 127.0.0.1:$REGISTRY_PORT (it notifies the sidecar of every push)"
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
wait_up docker-registry "$work/registry.log" curl -sf "http://127.0.0.1:$REGISTRY_PORT/v2/"

say "starting caddy: admin API on $CADDY_ADMIN; the sidecar will have it serve the workload on $CADDY_HTTP"
[ "$(cat /proc/sys/net/ipv4/tcp_migrate_req 2>/dev/null)" = 1 ] ||
  echo 1 >/proc/sys/net/ipv4/tcp_migrate_req 2>/dev/null ||
  line "(could not set net.ipv4.tcp_migrate_req=1: a few new connections may be reset at a switch)"
echo "{\"admin\":{\"listen\":\"$CADDY_ADMIN\"}}" >"$work/caddy.json"
mkdir -p "$work/caddy-home"
bg caddy env HOME="$work/caddy-home" XDG_DATA_HOME="$work/caddy-home" XDG_CONFIG_HOME="$work/caddy-home" \
  caddy run --config "$work/caddy.json"
wait_up caddy "$work/caddy.log" curl -sf "http://$CADDY_ADMIN/config/"

say "starting the sidecar on $SIDECAR (watch after each switch: $WATCH s; log: $work/sidecar.log)"
TINYFORGE_WEBHOOK_TOKEN=$TOKEN TINYFORGE_API_TOKEN=$API \
bg sidecar "$TINYFORGE" sidecar --listen "$SIDECAR" --redis-url "redis://127.0.0.1:$REDIS_PORT/0" \
  --caddy-admin "http://$CADDY_ADMIN" --caddy-listen "$CADDY_HTTP" --network "$NET" --domain localhost \
  --scope "$DEMO_NAME" --labels "$DEMO_LABEL=$DEMO_NAME" --watch "${WATCH}s" --log-format json
wait_up "the sidecar" "$work/sidecar.log" curl -sf "http://$SIDECAR/healthz"

say "building the demo app (FROM scratch, a static Go binary): v1, v2 and v3-unhealthy, whose /health answers 500"
mkdir -p "$work/image"
CGO_ENABLED=0 go build -o "$work/image/app" ./test/testapp
printf 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n' >"$work/image/Dockerfile"
build() { # TAG CONTEXT: docker build, its output shown only when it fails
  docker build -q --label "$DEMO_LABEL=$DEMO_NAME" -t "$1" "$2" >"$work/build.log" 2>&1 ||
    { cat "$work/build.log" >&2; die "docker build of $1 failed"; }
}
build "$DEMO_NAME-base" "$work/image"
image() { # TAG [ENV=value]: an image of the demo app that answers TAG
  printf 'FROM %s\nENV APP_VERSION=%s %s\n' "$DEMO_NAME-base" "$1" "${2:-}" >"$work/image/Dockerfile.$1"
  build "$REPO:$1" - <"$work/image/Dockerfile.$1"
}
image v1
image v2
image v3-unhealthy HEALTH=fail

say "starting the controller $CONTROLLER: its labels are the whole configuration"
controller_labels=(
  tinyforge.enable=true tinyforge.scope="$DEMO_NAME"
  tinyforge.workloads."$W".image="$REPO" tinyforge.workloads."$W".port=8080
  tinyforge.workloads."$W".healthcheck=/health tinyforge.workloads."$W".healthTimeout=5s
  tinyforge.workloads."$W".faces.web.subdomain="$DEMO_NAME"
)
run=(docker run -d --name "$CONTROLLER" --label "$DEMO_LABEL=$DEMO_NAME")
for l in "${controller_labels[@]}"; do run+=(--label "$l"); done
"${run[@]}" "$DEMO_NAME-base" >/dev/null
for l in "${controller_labels[@]}"; do line "$l"; done
deadline=$(($(now_ms) + 30000))
until cli deploys --limit 1 "$W" >/dev/null 2>&1; do # "unknown workload" until the sidecar read the controller
  [ "$(now_ms)" -lt $deadline ] || die "the sidecar did not read the controller within 30 s (its log: $work/sidecar.log)"
  sleep 0.2
done
line "the sidecar read them: it now declares the workload $W"
checkpoint setup

# before: what a step starts from: the workload's container (old) and the
# newest deploy of the history (prev).
before() { old=$(the_container); prev=$(newest_deploy); }
# push TAG: push it; sets t0, the time the push started.
push() {
  t0=$(now_ms)
  docker push -q "$REPO:$1" >/dev/null
  fact "{\"push\":\"$1\",\"at_ms\":$t0}"
}
recorded() { # TAG WHAT: say the deploy wait_recorded found
  fact "{\"recorded\":\"$rec_id\",\"tag\":\"$1\",\"ms\":$rec_ms,\"outcome\":$(json_str "$rec_outcome")}"
  line "deploy $rec_id recorded in the history $rec_ms ms after the $2: $rec_outcome, took $rec_took"
}
client_said() { # WHAT: the client's count since WHAT
  fact "{\"client\":{\"requests\":$requests,\"failed\":$failed}}"
  line "client: $requests requests from the $1 until then, $failed failed ($per_tag)"
}

say "push v1: the registry notifies the sidecar, which deploys it"
before
push v1
served_ms=$(wait_served v1 "$t0")
fact "{\"served\":\"v1\",\"ms\":$served_ms}"
line "v1 served $served_ms ms after the push: curl -H 'Host: $HOST' http://$CADDY_HTTP/ -> $(get)"
line "v1 serves; the sidecar now watches it for $WATCH s (it must stay up and healthy) before the deploy counts as done"
wait_recorded "$prev" "$t0"
recorded v1 push
checkpoint v1

# switched TAG OLD_TAG WHAT: report the blue-green switch from old
# (serving OLD_TAG) to TAG that WHAT started at t0, while the client
# requests the app: served, old removed, deploy recorded, the client's
# count and the containers after.
switched() {
  local tag=$1 old_tag=$2 what=$3 gone_ms
  served_ms=$(wait_served "$tag" "$t0")
  fact "{\"served\":\"$tag\",\"ms\":$served_ms}"
  line "$tag served $served_ms ms after the $what"
  line "$tag serves; $old_tag is kept running, unrouted, for $WATCH s in case $tag fails, then removed"
  gone_ms=$(wait_gone "$t0" --filter "id=$old")
  wait_recorded "$prev" "$t0"
  client_stop
  fact "{\"removed\":\"$old_tag\",\"ms\":$gone_ms}"
  local removed="$old_tag removed $gone_ms ms after the $what"
  if [ "$gone_ms" -le "$rec_ms" ]; then line "$removed"; recorded "$tag" "$what"; else recorded "$tag" "$what"; line "$removed"; fi
  client_said "$what"
  line "containers after:"
  containers | sed 's/^/     /'
}

say "push v2 while a client requests the app without pause"
line "containers before:"
containers | sed 's/^/     /'
before
client_start
push v2
switched v2 v1 push
checkpoint v2

say "push v3-unhealthy: its health check fails for 5 s (healthTimeout), so it must never serve"
before
client_start
push v3-unhealthy
wait_recorded "$prev" "$t0"
wait_gone "$t0" --filter "label=tinyforge.workload=$W" --filter "label=tinyforge.tag=v3-unhealthy" >/dev/null
client_stop
recorded v3-unhealthy push
line "v2 still serves: curl -H 'Host: $HOST' http://$CADDY_HTTP/ -> $(get)"
client_said push
line "containers (the v3-unhealthy one was removed):"
containers | sed 's/^/     /'
checkpoint v3

say "roll back with the CLI: the sidecar redeploys the previous successful image, blue-green"
line "\$ TINYFORGE_URL=http://$SIDECAR TINYFORGE_API_TOKEN=$API $TINYFORGE rollback $W"
before
client_start
t0=$(now_ms)
fact "{\"rollback\":true,\"at_ms\":$t0}"
cli rollback "$W" | sed 's/^/   /'
switched v1 v2 rollback
checkpoint rollback

say "the history: tinyforge deploys $W (newest first; each step with the time since the one before)"
cli deploys "$W" | sed 's/^/   /'
checkpoint history
ok=1
