#!/usr/bin/env bash
# `make deps`: make sure the system packages and services the test suite needs are here.
# Installs with apt-get (as root, `apt-get update` first), only what is missing, saying each:
# PostgreSQL (started, loopback trusted), nginx, curl, openssl and Chromium. Safe to run again.
set -euo pipefail

PG_HOST=127.0.0.1
PG_PORT=5432

have() { command -v "$1" >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif have sudo; then sudo "$@"; else return 1; fi; }

apt_updated=0
apt_install() {
  if ! have apt-get; then
    echo "test-services: apt-get not found; install $* yourself" >&2
    return 1
  fi
  if [ "$apt_updated" = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_ready() { (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null; }

ensure_postgres() {
  if pg_ready; then return 0; fi
  if ! have pg_ctlcluster; then
    echo "test-services: installing PostgreSQL" >&2
    apt_install postgresql || return 1
    # A cluster we just installed is for tests on this machine: trust loopback connections.
    for hba in /etc/postgresql/*/main/pg_hba.conf; do
      grep -q '^host all all 127.0.0.1/32 trust' "$hba" ||
        as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    done
  fi
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "test-services: starting PostgreSQL $version" >&2
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do pg_ready && return 0; sleep 1; done
  echo "test-services: PostgreSQL did not come up on $PG_HOST:$PG_PORT" >&2
  return 1
}

# nginx: the pull-source tests start it themselves (autoindex, auth_basic) on a loopback port.
if ! have nginx && ! [ -x /usr/sbin/nginx ]; then
  echo "test-services: installing nginx" >&2
  apt_install nginx-light || apt_install nginx || echo "test-services: no nginx; its tests fail" >&2
fi

# The callback API tests run the integration guide's curl + openssl recipe as printed.
for tool in curl openssl; do
  have "$tool" || apt_install "$tool" || echo "test-services: $tool missing; its test skips" >&2
done

if ! ensure_postgres; then
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "test-services: continuing without PostgreSQL; its tests will be skipped" >&2
fi

# Browser tests drive Debian's chromium through Playwright (never a downloaded browser).
if [ ! -x /usr/bin/chromium ]; then
  echo "test-services: installing chromium for the browser tests" >&2
  apt_install chromium || echo "test-services: no chromium; browser tests will be skipped" >&2
fi
