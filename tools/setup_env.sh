#!/usr/bin/env bash
# Create or update the project-local virtual environment .venv.
#
# Installs the pinned OpenMMLab stack from requirements/, builds mmcv 2.1.0
# with compiled ops once per machine (the wheel is cached outside the
# checkout), and installs this plugin in editable mode. A second run with
# unchanged requirements installs nothing: it compares a stamp of the inputs
# and prints "environment up to date".
#
# Environment variables:
#   PYTHON                Python interpreter that creates the venv (python3).
#   ROPEVIT_VENV          venv folder (.venv in the checkout).
#   ROPEVIT_WHEEL_CACHE   folder for the built mmcv wheel
#                         (${XDG_CACHE_HOME:-~/.cache}/ropevit_mm/wheels).
#   ROPEVIT_BUILD_JOBS    parallel compile jobs for mmcv (nproc).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

python_bin=${PYTHON:-python3}
venv=${ROPEVIT_VENV:-$root/.venv}
cache_root=${ROPEVIT_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ropevit_mm/wheels}
jobs=${ROPEVIT_BUILD_JOBS:-$(nproc)}

log() { printf '[setup_env] %s\n' "$*"; }

pin_of() {
  # Print the version pinned for package $1 in requirements/runtime.txt.
  sed -n "s/^$1==\([^ ]*\).*/\1/p" requirements/runtime.txt
}

torch_version=$(pin_of torch)
torchvision_version=$(pin_of torchvision)
mmcv_version=$(pin_of mmcv)

# Everything that decides what the venv contains goes into the stamp.
stamp_input=$(cat requirements/runtime.txt requirements/tests.txt setup.py tools/setup_env.sh)
stamp=$(printf '%s' "$stamp_input" | sha256sum | cut -c1-16)
stamp_file=$venv/.ropevit_setup_stamp

if [[ -x $venv/bin/python && -f $stamp_file && $(cat "$stamp_file") == "$stamp" ]]; then
  log "environment up to date ($venv, stamp $stamp); nothing installed"
  exit 0
fi

if [[ ! -x $venv/bin/python ]]; then
  log "creating virtual environment $venv with $($python_bin --version)"
  "$python_bin" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)
py_tag=$("$venv/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
arch=$(uname -m)

# mmcv's setup.py imports pkg_resources, which setuptools 80 removed, and
# torch 2.14 requires setuptools>=77.0.3, so both are resolved together.
log "installing torch==$torch_version torchvision==$torchvision_version and build tools"
"${pip[@]}" install --quiet "torch==$torch_version" "torchvision==$torchvision_version" \
  'setuptools<80' wheel ninja

# mmcv 2.1.0 publishes no wheel for this torch, so it is built from source.
# The wheel depends on the mmcv, torch and Python versions and the CPU arch.
wheel_dir=$cache_root/mmcv$mmcv_version-torch$torch_version-$py_tag-$arch
wheel=$(ls "$wheel_dir"/mmcv-"$mmcv_version"-*.whl 2>/dev/null | head -n 1 || true)
if [[ -z $wheel ]]; then
  log "no cached mmcv wheel in $wheel_dir; building mmcv==$mmcv_version with ops (13 to 20 min on 2 cores)"
  "$root/tools/build_mmcv.sh" "$venv" "$mmcv_version" "$wheel_dir" "$jobs"
  wheel=$(ls "$wheel_dir"/mmcv-"$mmcv_version"-*.whl | head -n 1)
else
  log "reusing cached mmcv wheel $wheel"
fi
"${pip[@]}" install --quiet --no-deps "$wheel"

log "installing the pinned stack and test requirements"
# The constraint keeps pip from replacing the torch installed above.
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
printf 'torch==%s\ntorchvision==%s\nmmcv==%s\nsetuptools<80\n' \
  "$torch_version" "$torchvision_version" "$mmcv_version" >"$constraints"
"${pip[@]}" install --quiet -c "$constraints" -r requirements/runtime.txt -r requirements/tests.txt

log "installing ropevit_mm in editable mode"
"${pip[@]}" install --quiet --no-deps --no-build-isolation -e .

"$venv/bin/python" -c 'import mmcv.ops, mmdet, mmseg, ropevit_mm; print("[setup_env] imports ok: mmcv", mmcv.__version__, "mmdet", mmdet.__version__, "mmseg", mmseg.__version__)'
printf '%s' "$stamp" >"$stamp_file"
log "environment ready ($venv, stamp $stamp)"
