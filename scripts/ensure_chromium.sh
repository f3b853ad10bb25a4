#!/usr/bin/env bash
# Installs headless Chromium and its WebDriver from Debian's packages for the browser tests
# (tests/browser). Does nothing when both are present; when they cannot be installed (no apt-get,
# not root and no sudo) it says so and exits 0, and the browser tests skip with that reason.
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "ensure_chromium: no apt-get here; install chromium and chromium-driver yourself" >&2
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "ensure_chromium: not root and no sudo; the browser tests will be skipped" >&2
  exit 0
fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
  chromium chromium-driver
