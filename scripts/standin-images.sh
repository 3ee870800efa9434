#!/usr/bin/env bash
# Builds offline stand-ins for the upstream images compose.example.yml
# names, from the Debian packages of the same software, for machines that
# cannot pull (the compose e2e test runs the stack with them):
#
#   redis        redis-server (Debian's redis-server)    ~ redis:7
#   caddy        caddy (Debian's caddy 2.6)               ~ caddy:2
#   registry     registry (Debian's docker-registry 2.8)  ~ registry:2
#   socket-proxy haproxy (Debian's haproxy) with a config
#                of the same kind as the upstream's        ~ tecnativa/docker-socket-proxy
#
# Each image is FROM scratch: the binary, the shared libraries `ldd` lists,
# /bin/sh (dash) where the compose file runs a shell, and the /etc files
# the program reads, laid out where the upstream image has them. The tag is
# a hash of the build context, so a rerun reuses an image still present.
#
# Prints one NAME=image line per stand-in (REDIS_IMAGE=..., ...), the
# variables compose.example.yml reads. Images are labelled
# tinyforge.standin=true; remove them with
#   docker image rm $(docker images -q --filter label=tinyforge.standin=true)
# Extra labels for the images (e.g. a test run's) come from STANDIN_LABELS
# ("k=v k2=v2"); STANDIN_TAG adds a suffix to the tag, so a caller that
# removes its images afterwards owns its own tags (tests running at once).
set -euo pipefail

for bin in redis-server caddy docker-registry haproxy dash sed; do
  if ! command -v "$bin" >/dev/null; then
    echo "standin-images: $bin is missing (scripts/install-deps.sh installs it)" >&2
    exit 1
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# copy_bin ROOT SRC DEST: SRC at ROOT/DEST, with every library ldd lists
# at its own path (the dynamic loader included).
copy_bin() {
  local root=$1 src=$2 dest=$3 lib
  mkdir -p "$root$(dirname "$dest")"
  cp -L "$src" "$root$dest"
  for lib in $(ldd "$src" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

# build NAME VAR: builds $work/NAME (a root/ dir and a Dockerfile) as
# tinyforge-standin/NAME:<hash> and prints VAR=<ref>.
build() {
  local name=$1 var=$2 dir=$work/$1 hash ref
  hash=$(cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
  ref=tinyforge-standin/$name:$hash${STANDIN_TAG:+-$STANDIN_TAG}
  if ! docker image inspect "$ref" >/dev/null 2>&1; then
    local labels=(--label tinyforge.standin=true) kv
    for kv in ${STANDIN_LABELS:-}; do labels+=(--label "$kv"); done
    if ! docker build -q "${labels[@]}" -t "$ref" "$dir" >"$work/build.log" 2>&1; then
      cat "$work/build.log" >&2
      exit 1
    fi
  fi
  echo "$var=$ref"
}

common() { # common ROOT: the files every stand-in shares
  local root=$1
  mkdir -p "$root/etc/ssl/certs" "$root/tmp"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  copy_bin "$root" /usr/bin/dash /bin/sh
  printf 'root:x:0:0:root:/root:/bin/sh\nredis:x:999:999::/data:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\nredis:x:999:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
}

# redis: redis-server on PATH, /data owned by the redis user (999), as in redis:7.
r=$work/redis/root
common "$r"
copy_bin "$r" /usr/bin/redis-server /usr/local/bin/redis-server
mkdir -p "$work/redis/data" && touch "$work/redis/data/.keep"
cat >"$work/redis/Dockerfile" <<'EOF'
FROM scratch
COPY root/ /
COPY --chown=999:999 data /data
ENV PATH=/usr/local/bin:/usr/bin:/bin
WORKDIR /data
EXPOSE 6379
CMD ["redis-server"]
EOF
build redis REDIS_IMAGE

# caddy: /usr/bin/caddy, config and data under /config and /data, as in caddy:2.
c=$work/caddy/root
common "$c"
copy_bin "$c" /usr/bin/caddy /usr/bin/caddy
mkdir -p "$c/config" "$c/data" "$c/etc/caddy"
printf ':80 {\n\trespond "caddy"\n}\n' >"$c/etc/caddy/Caddyfile"
cat >"$work/caddy/Dockerfile" <<'EOF'
FROM scratch
COPY root/ /
ENV PATH=/usr/bin:/bin XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data
WORKDIR /srv
EXPOSE 80 443 2019
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
EOF
build caddy CADDY_IMAGE

# registry: /bin/registry and its default config, as in registry:2.
g=$work/registry/root
common "$g"
copy_bin "$g" /usr/bin/docker-registry /bin/registry
mkdir -p "$g/etc/docker/registry" "$g/var/lib/registry"
cat >"$g/etc/docker/registry/config.yml" <<'EOF'
version: 0.1
storage:
  filesystem:
    rootdirectory: /var/lib/registry
http:
  addr: :5000
EOF
cat >"$work/registry/Dockerfile" <<'EOF'
FROM scratch
COPY root/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
EXPOSE 5000
ENTRYPOINT ["registry", "serve"]
CMD ["/etc/docker/registry/config.yml"]
EOF
build registry REGISTRY_IMAGE

# socket-proxy: HAProxy with an allow-list config switched by environment
# variables (CONTAINERS=1, POST=1, ...), whose entrypoint writes the
# effective config to /tmp at start, as tecnativa/docker-socket-proxy does:
# read-only it needs a tmpfs on /tmp (and /run for the pid file).
s=$work/socket-proxy/root
common "$s"
copy_bin "$s" "$(command -v haproxy)" /usr/local/sbin/haproxy
copy_bin "$s" /usr/bin/sed /bin/sed
mkdir -p "$s/usr/local/etc/haproxy" "$s/usr/local/bin" "$s/run"
cat >"$s/usr/local/etc/haproxy/haproxy.cfg.template" <<'EOF'
global
    log stdout format raw daemon "${LOG_LEVEL}"
    pidfile /run/haproxy.pid
    maxconn 4000

defaults
    mode http
    log global
    option httplog
    option dontlognull
    option http-server-close
    retries 3
    timeout http-request 10s
    timeout queue 1m
    timeout connect 10s
    timeout client 10m
    timeout server 10m
    timeout http-keep-alive 10s
    maxconn 3000

backend dockerbackend
    server dockersocket ${SOCKET_PATH}

frontend dockerfrontend
    bind ${BIND_CONFIG}
    http-request deny unless METH_GET || { env(POST) -m bool }
    http-request deny if { method DELETE } !{ env(DELETE) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/containers/[a-zA-Z0-9_.-]+/((stop)|(restart)|(kill)) } { env(ALLOW_RESTARTS) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/auth } { env(AUTH) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/build } { env(BUILD) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/commit } { env(COMMIT) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/configs } { env(CONFIGS) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/containers } { env(CONTAINERS) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/distribution } { env(DISTRIBUTION) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/events } { env(EVENTS) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/exec } { env(EXEC) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/grpc } { env(GRPC) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/images } { env(IMAGES) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/info } { env(INFO) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/networks } { env(NETWORKS) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/nodes } { env(NODES) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/_ping } { env(PING) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/plugins } { env(PLUGINS) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/secrets } { env(SECRETS) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/services } { env(SERVICES) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/session } { env(SESSION) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/swarm } { env(SWARM) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/system } { env(SYSTEM) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/tasks } { env(TASKS) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/version } { env(VERSION) -m bool }
    http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/volumes } { env(VOLUMES) -m bool }
    http-request deny
    default_backend dockerbackend
EOF
cat >"$s/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
case "$DISABLE_IPV6" in
  1|true|TRUE|True|yes|YES) BIND_CONFIG=":2375" ;;
  *) BIND_CONFIG="[::]:2375 v4v6" ;;
esac
sed "s/\${BIND_CONFIG}/$BIND_CONFIG/g" /usr/local/etc/haproxy/haproxy.cfg.template > /tmp/haproxy.cfg
if [ "${1#-}" != "$1" ]; then set -- haproxy "$@"; fi
if [ "$1" = haproxy ]; then shift; set -- haproxy -W -db "$@"; fi
exec "$@"
EOF
chmod 755 "$s/usr/local/bin/docker-entrypoint.sh"
cat >"$work/socket-proxy/Dockerfile" <<'EOF'
FROM scratch
COPY root/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/bin:/bin \
    LOG_LEVEL=info SOCKET_PATH=/var/run/docker.sock DISABLE_IPV6=0 \
    ALLOW_RESTARTS=0 AUTH=0 BUILD=0 COMMIT=0 CONFIGS=0 CONTAINERS=0 DELETE=0 \
    DISTRIBUTION=0 EVENTS=1 EXEC=0 GRPC=0 IMAGES=0 INFO=0 NETWORKS=0 NODES=0 \
    PING=1 PLUGINS=0 POST=0 SECRETS=0 SERVICES=0 SESSION=0 SWARM=0 SYSTEM=0 \
    TASKS=0 VERSION=1 VOLUMES=0
EXPOSE 2375
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["haproxy", "-f", "/tmp/haproxy.cfg"]
EOF
build socket-proxy SOCKET_PROXY_IMAGE
