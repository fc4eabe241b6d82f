#!/usr/bin/env bash
# Install Debian's Chromium for the browser test of the HTML report (tests/browser/).
#
#   interop/browser/install.sh     # apt-get install chromium when /usr/bin/chromium is missing
#
# `apt-get update` runs only when the package lists do not know chromium (or the install fails on stale
# lists). Run as root, or with sudo available. Nothing is downloaded but Debian's packages.
set -euo pipefail
bin=/usr/bin/chromium

if [ -x "$bin" ]; then
  echo "browser: $bin is installed"
  exit 0
fi

sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show chromium >/dev/null 2>&1; then
  echo "browser: apt-get update"
  "${sudo[@]}" apt-get update -q
fi
echo "browser: apt-get install chromium"
if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends chromium; then
  echo "browser: apt-get install failed; apt-get update and again"
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" apt-get install -y -q --no-install-recommends chromium
fi
[ -x "$bin" ] || { echo "browser: $bin missing after apt-get install chromium" >&2; exit 2; }
echo "browser: installed $("$bin" --version 2>/dev/null || echo chromium)"
