#!/usr/bin/env bash
# The PostgreSQL tests start a throwaway server from initdb/pg_ctl. Install the Debian package when the
# binaries are missing (a fresh CI machine); do nothing when they are there.
set -euo pipefail
if command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
echo "installing postgresql (for the warehouse tests) ..." >&2
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
