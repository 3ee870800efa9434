#!/usr/bin/env bash
# Installs the services tinyforge's tests and demo run on loopback
# (redis-server, docker-registry, caddy, nginx, knot), and curl, which the
# demo drives them with, from Debian packages when missing.
# As root on Debian/Ubuntu it installs them; elsewhere it says what to install.
set -euo pipefail

need=()
command -v curl            >/dev/null || need+=(curl)
command -v redis-server    >/dev/null || need+=(redis-server)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v caddy           >/dev/null || need+=(caddy)
command -v nginx           >/dev/null || need+=(nginx)
command -v knotd           >/dev/null || need+=(knot)
command -v kdig            >/dev/null || need+=(knot-dnsutils)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${need[*]} from Debian packages" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Tests start their own knotd on a loopback port; the system service the
  # package may start would only hold port 53, so stop and disable it.
  if [[ " ${need[*]} " == *" knot "* ]]; then
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
      systemctl disable --now knot.service >/dev/null 2>&1 || true
    elif command -v service >/dev/null; then
      service knot stop >/dev/null 2>&1 || true
    fi
  fi
  exit 0
fi
echo "missing: ${need[*]}" >&2
echo "install them, e.g.: sudo apt-get install ${need[*]}" >&2
exit 1
