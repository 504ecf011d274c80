#!/usr/bin/env bash
# The report is tested in a real headless browser (tests/test_browser.py): Playwright drives Debian's
# chromium, so no browser is downloaded at test time. Install the package when it is missing.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
echo "installing chromium (for the report's browser tests) ..." >&2
for attempt in 1 2 3; do
  if $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; then
    exit 0
  fi
  echo "apt could not install chromium (attempt $attempt); retrying ..." >&2
  sleep $((attempt * 10))
done
echo "chromium could not be installed: the browser tests will fail (DLI_REQUIRE_BROWSER=1)" >&2
exit 1
