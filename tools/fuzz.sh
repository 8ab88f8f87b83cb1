#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, with ASan and UBSan) and runs each for a while, starting from
# the kept inputs (tests/fuzz/regressions) and seeds from the test data.
#   tools/fuzz.sh [SECONDS_PER_TARGET [TARGET...]]      (default 60 s, every target)
# Prints executions and coverage per target and writes them to build-fuzz/fuzz-report.md. Inputs
# that crash are left in build-fuzz/findings/<target>/: minimise one (fuzz_<target> -minimize_crash=1),
# fix the bug, and keep the input in tests/fuzz/regressions/<target>/ so the unit tests replay it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
all=(gguf tokenizer_spm tokenizer_bpe tokenizer_wordpiece json_request model_name modelfile go_template jinja_template npu_regcmd json_schema
     precompiled_charsmap)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
build=build-fuzz
testdata=$(cd .. && pwd)/shared/testdata

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DROCKLLM_FUZZ=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

# Seed corpora: the kept inputs, plus test data.
python3 - "$build/corpus" "$testdata" "${targets[@]}" <<'PY'
import os, shutil, sys, glob
corpus, testdata, targets = sys.argv[1], sys.argv[2], sys.argv[3:]
def put(target, name, data):
    d = os.path.join(corpus, target); os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f: f.write(data)
for t in targets:
    for path in glob.glob(os.path.join("tests/fuzz/regressions", t, "*")):
        put(t, "kept-" + os.path.basename(path), open(path, "rb").read())
    if t == "gguf":
        model = open(os.path.join(testdata, "models/stories260K.gguf"), "rb").read()
        for cut in (24, 200, 1000, 4096, 16384):
            put(t, "stories-%d" % cut, model[:cut])
    if t.startswith("tokenizer"):
        inp = {"tokenizer_spm": "ggml-vocab-llama-spm.gguf.inp", "tokenizer_bpe": "ggml-vocab-gpt-2.gguf.inp",
               "tokenizer_wordpiece": "ggml-vocab-bert-bge.gguf.inp"}[t]
        texts = open(os.path.join(testdata, "vocab", inp), "rb").read().split(b"\n__ggml_vocab_test__\n")
        for i, text in enumerate(texts): put(t, "vocab-test-%d" % i, text)
    if t == "go_template":
        for path in glob.glob(os.path.join(testdata, "templates/*.gotmpl")): put(t, os.path.basename(path), open(path, "rb").read())
    if t == "jinja_template":
        for path in glob.glob(os.path.join(testdata, "templates/jinja/*")): put(t, os.path.basename(path), open(path, "rb").read())
PY

report="$build/fuzz-report.md"
{
  echo "| target | seconds | executions | exec/s | coverage (edges) | features | crashes |"
  echo "| ------ | ------- | ---------- | ------ | ---------------- | -------- | ------- |"
} >"$report"
failed=0
for t in "${targets[@]}"; do
  rm -rf "$build/findings/$t"
  mkdir -p "$build/findings/$t" "$build/logs"
  log="$build/logs/$t.log"
  max_len=4096
  [ "$t" = gguf ] && max_len=65536
  status=0
  "$build/tests/fuzz/fuzz_$t" "$build/corpus/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -max_len=$max_len -print_final_stats=1 -artifact_prefix="$build/findings/$t/" >"$log" 2>&1 || status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo 0)
  crashes=$(find "$build/findings/$t" -type f | wc -l)
  echo "| $t | $seconds | $runs | $rate | $cov | $ft | $crashes |" | tee -a "$report"
  if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed=1
    echo "fuzz_$t found a problem (exit $status); see $log and $build/findings/$t/" >&2
  fi
done
echo "report: $report"
exit $failed
