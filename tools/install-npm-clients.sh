#!/usr/bin/env bash
# Installs the official npm clients (ollama, openai, @anthropic-ai/sdk, and zod for the SDK's schema helper; versions pinned in tests/clients/package.json)
# that tests/test_official_clients.cpp drives against rockllm serve. Usage: tools/install-npm-clients.sh DEST_DIR
set -euo pipefail
dest=${1:?usage: $0 DEST_DIR}
source_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/clients"
mkdir -p "$dest"
cp "$source_dir/package.json" "$source_dir/official_clients.mjs" "$dest/"
[ -f "$source_dir/package-lock.json" ] && cp "$source_dir/package-lock.json" "$dest/"
if [ ! -d "$dest/node_modules/ollama" ] || [ ! -d "$dest/node_modules/openai" ] || [ ! -d "$dest/node_modules/@anthropic-ai/sdk" ] || [ ! -d "$dest/node_modules/zod" ]; then
  (cd "$dest" && npm install --silent --no-audit --no-fund >/dev/null)
fi
