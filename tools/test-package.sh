#!/usr/bin/env bash
# Builds the Debian package of a build directory, shows its control data and contents, checks it
# with lintian, installs it into a scratch root with dpkg (maintainer scripts included, through
# DPKG_ROOT), and starts `rockllm serve` from that root until /api/version answers.
# Usage: tools/test-package.sh [BUILD_DIR]   (default: build; run as root, as dpkg --root needs)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rm -f "$build"/rockllm_*.deb
(cd "$build" && cpack -G DEB >/dev/null)
deb=$(ls "$build"/rockllm_*.deb)
echo "== dpkg-deb --info $deb"
dpkg-deb --info "$deb"
echo "== dpkg-deb --contents $deb"
dpkg-deb --contents "$deb"
echo "== lintian (tags overridden in packaging/debian/lintian-overrides, explained there)"
lintian --fail-on error,warning "$deb" 2> >(grep -v "root privileges" >&2)

root=$(mktemp -d)
trap 'kill "${serve_pid:-0}" 2>/dev/null || true; rm -rf "$root"' EXIT
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/etc"
touch "$root/var/lib/dpkg/status"
echo "== dpkg --root $root -i"
dpkg --root="$root" --force-script-chrootless --force-depends --log=/dev/null -i "$deb"
grep -q '^rockllm:' "$root/etc/passwd" || { echo "postinst did not create the rockllm user" >&2; exit 1; }
grep -q '^render:.*rockllm' "$root/etc/group" || { echo "rockllm is not in the render group" >&2; exit 1; }
test -d "$root/var/lib/rockllm/models" || { echo "postinst did not create the model store" >&2; exit 1; }

port=$((20000 + RANDOM % 30000))
OLLAMA_HOST=127.0.0.1:$port OLLAMA_MODELS="$root/var/lib/rockllm/models" "$root/usr/bin/rockllm" serve 2>"$root/serve.log" &
serve_pid=$!
for _ in $(seq 100); do
  if version=$(curl -fsS "http://127.0.0.1:$port/api/version" 2>/dev/null); then
    echo "== the installed rockllm answers: $version"
    exit 0
  fi
  sleep 0.1
done
echo "the installed rockllm did not answer /api/version" >&2
cat "$root/serve.log" >&2
exit 1
