#!/usr/bin/env bash
# Build an mmcv wheel with compiled CPU ops against the torch in a venv.
#
# Usage: tools/build_mmcv.sh VENV MMCV_VERSION WHEEL_DIR JOBS
#
# mmcv 2.1.0 needs three changes to build against torch 2.14:
#   - its setup.py passes -std=c++17, while torch 2.14 headers require C++20;
#   - its setup.py imports pkg_resources, which setuptools 80 removed;
#   - it must see the installed torch, so the build runs without isolation.
# The compiler output goes to a log file; progress lines are printed every
# 30 seconds, and on failure the first compiler errors and the log path.
set -euo pipefail

venv=$1
version=$2
wheel_dir=$3
jobs=$4

log() { printf '[build_mmcv] %s\n' "$*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/mmcv-build.XXXXXX")
build_log=$work/build.log
pip=("$venv/bin/python" -m pip --disable-pip-version-check)

log "downloading the mmcv==$version source archive"
"${pip[@]}" download --quiet --no-deps --no-binary :all: --no-build-isolation \
  -d "$work" "mmcv==$version"
tar -xzf "$work"/mmcv-"$version".tar.gz -C "$work"
src=$work/mmcv-$version

sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
if ! grep -q -- '-std=c++20' "$src/setup.py"; then
  log "expected a -std=c++17 flag in $src/setup.py; the source layout changed"
  exit 1
fi

log "compiling with $jobs jobs; full log: $build_log"
(
  cd "$src"
  MMCV_WITH_OPS=1 MAX_JOBS=$jobs "${pip[@]}" wheel --no-deps --no-build-isolation \
    -v -w "$work/dist" . >"$build_log" 2>&1
) &
build_pid=$!

started=$(date +%s)
while kill -0 "$build_pid" 2>/dev/null; do
  sleep 30
  # pip -v indents ninja's "[12/77] c++ ..." lines.
  last=$(grep -oE '^ *\[[0-9]+/[0-9]+\]' "$build_log" | tail -n 1 | tr -d ' ' || true)
  log "$(( $(date +%s) - started )) s elapsed, compile step ${last:-[0/?]}"
done

if ! wait "$build_pid"; then
  log "mmcv build failed after $(( $(date +%s) - started )) s. First compiler errors:"
  grep -m 20 -E 'error|Error' "$build_log" || tail -n 40 "$build_log"
  log "full build log: $build_log"
  exit 1
fi

mkdir -p "$wheel_dir"
# Copy under a temporary name, then rename, so a killed copy never leaves a
# partial wheel that a later run would take for a finished one.
built=$(ls "$work"/dist/mmcv-"$version"-*.whl)
cp "$built" "$wheel_dir/.partial"
mv "$wheel_dir/.partial" "$wheel_dir/$(basename "$built")"
log "built $(basename "$built") in $(( $(date +%s) - started )) s; cached in $wheel_dir"
rm -rf "$work"
