#!/usr/bin/env bash
# Installs the services tinyforge's tests and demo run on loopback
# (redis-server, docker-registry, caddy, nginx, knot), the one the compose
# test builds a stand-in socket proxy from (haproxy), the browser test/ui
# drives (chromium) and the tools the tests check output with (curl, which
# the demo also drives them with; kdig; promtool, from Debian's prometheus
# package: no smaller package ships it), from Debian packages when missing. As root on
# Debian/Ubuntu it installs them; elsewhere it says what to install.
#
# The tests start each service privately; the system services these
# packages come with would only hold ports the compose stack publishes
# (80, 443, 5000, 6379, 53) or run for nothing (prometheus). So the install
# starts none of them (policy-rc.d), and any that runs afterwards is
# stopped and disabled.
set -euo pipefail

need=()
command -v curl            >/dev/null || need+=(curl)
command -v redis-server    >/dev/null || need+=(redis-server)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v caddy           >/dev/null || need+=(caddy)
command -v nginx           >/dev/null || need+=(nginx)
command -v knotd           >/dev/null || need+=(knot)
command -v kdig            >/dev/null || need+=(knot-dnsutils)
command -v promtool        >/dev/null || need+=(prometheus)
command -v haproxy         >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v chromium        >/dev/null || need+=(chromium)

# Stops and disables the system services of these packages, with systemd
# or with the SysV scripts; absent ones are skipped.
quiet_services() {
  local services=(redis-server docker-registry caddy nginx haproxy knot prometheus) s
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    for s in "${services[@]}"; do
      if systemctl is-enabled --quiet "$s" 2>/dev/null || systemctl is-active --quiet "$s" 2>/dev/null; then
        echo "stopping and disabling the system service $s (the tests run their own)" >&2
        systemctl disable --now "$s" >/dev/null 2>&1 || true
      fi
    done
    return 0
  fi
  for s in "${services[@]}"; do
    [ -x "/etc/init.d/$s" ] || continue
    "/etc/init.d/$s" stop >/dev/null 2>&1 || true
    command -v update-rc.d >/dev/null && update-rc.d "$s" disable >/dev/null 2>&1 || true
  done
}

if [ ${#need[@]} -eq 0 ]; then
  [ "$(id -u)" -eq 0 ] && quiet_services
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${need[*]} from Debian packages" >&2
  # policy-rc.d exit 101: "action forbidden", so no package starts its service.
  added_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    added_policy=1
  fi
  trap '[ -n "$added_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  quiet_services
  exit 0
fi
echo "missing: ${need[*]}" >&2
echo "install them, e.g.: sudo apt-get install ${need[*]}" >&2
echo "then stop their system services, which would hold ports 80, 443, 5000, 6379 and 53:" >&2
echo "  sudo systemctl disable --now redis-server docker-registry caddy nginx haproxy knot prometheus" >&2
exit 1
