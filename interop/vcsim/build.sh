#!/usr/bin/env bash
# Build the project's vcsim (govmomi's vSphere simulator) offline, from Debian packages only.
#
#   interop/vcsim/build.sh            # installs golang-go + golang-github-vmware-govmomi-dev if missing, builds
#   interop/vcsim/build.sh --force    # rebuild even if the binary is up to date
#
# Output: interop/vcsim/bin/vcsim-harness (git-ignored). GOPATH mode (GO111MODULE=off): GOPATH is
# interop/vcsim/gopath (this project's folder, git-ignored) followed by /usr/share/gocode, the source
# tree Debian's golang-*-dev packages install; nothing is fetched from anywhere but Debian's archive.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$here/bin/vcsim-harness"
force=0
[ "${1:-}" = "--force" ] && force=1

packages=(golang-go golang-github-vmware-govmomi-dev)

if [ "$force" = 0 ] && [ -x "$bin" ] && [ "$bin" -nt "$here/main.go" ] && [ "$bin" -nt "$here/build.sh" ]; then
  echo "vcsim: $bin is up to date"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  # `apt-get update` only when needed: the lists do not know the packages, or name files the archive no longer has.
  if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
    echo "vcsim: apt-get update"
    "${sudo[@]}" apt-get update -q
  fi
  echo "vcsim: apt-get install ${missing[*]}"
  if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    echo "vcsim: apt-get install failed; apt-get update and again"
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

go=/usr/lib/go/bin/go  # Debian's golang-go, whatever other Go is on PATH
[ -x "$go" ] || go=$(command -v go || true)
[ -x "$go" ] || { echo "vcsim: no go toolchain found after installing golang-go" >&2; exit 2; }

gopath="$here/gopath"
src="$gopath/src/vsphere-harness/vcsim"
mkdir -p "$src" "$here/bin" "$gopath/cache"
cp "$here/main.go" "$src/main.go"

echo "vcsim: go build ($("$go" version | awk '{print $3}'), govmomi $(dpkg-query -W -f='${Version}' golang-github-vmware-govmomi-dev))"
(
  cd "$src"
  GO111MODULE=off GOPATH="$gopath:/usr/share/gocode" GOCACHE="$gopath/cache" \
    GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0 \
    "$go" build -trimpath -ldflags="-s -w" -o "$bin.tmp" .
)
mv -f "$bin.tmp" "$bin"
echo "vcsim: built $bin"
