#!/usr/bin/env bash
# Build (or check) the mmgeneralist environment: one idempotent, cached step.
#
#   bash tools/setup_env.sh            # creates ./.venv, or returns in seconds when it is current
#   MMGEN_VENV=/path/to/venv bash tools/setup_env.sh
#
# What it does, in order:
#   1. a virtual environment with torch/torchvision and the build tools (requirements/build.txt);
#   2. mmcv 2.1.0 *with its compiled ops*, built from the source archive once and cached as a
#      wheel under $MMGEN_CACHE (default ~/.cache/mmgeneralist). On a machine with CUDA (or with
#      FORCE_CUDA=1) mmcv's CUDA ops are compiled too, and that wheel is cached under its own key;
#   3. the OpenMMLab codebases, diffusers and transformers at exact pins (requirements/runtime.txt),
#      mmpose without its unbuildable chumpy dependency, xtcocotools built against numpy 2;
#   4. mmgeneralist itself in editable mode, and the test tools (requirements/tests.txt).
# A stamp file keyed on the requirement files and this script makes a second run a no-op.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMGEN_VENV:-$ROOT/.venv}"
CACHE="${MMGEN_CACHE:-$HOME/.cache/mmgeneralist}"
PYTHON_BIN="${PYTHON:-python3.11}"
MMCV_VERSION=2.1.0

log() { printf '[setup_env] %s\n' "$*" >&2; }

command -v "$PYTHON_BIN" >/dev/null 2>&1 || PYTHON_BIN=python3
"$PYTHON_BIN" - <<'EOF' || { echo "[setup_env] Python 3.10-3.12 is required (set PYTHON=/path/to/python3.11)." >&2; exit 1; }
import sys
sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)
EOF

key="$(cat "$ROOT"/requirements/*.txt "$ROOT/tools/setup_env.sh" "$ROOT/setup.py" | sha256sum | cut -c1-16)"
stamp="$VENV/.mmgeneralist-env-$key"
if [[ -f "$stamp" ]] && "$VENV/bin/python" -c "import mmcv.ops, mmgeneralist" >/dev/null 2>&1; then
  log "environment in $VENV is current (delete $stamp to force a rebuild)"
  exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating virtual environment $VENV"
  "$PYTHON_BIN" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)
# pip's configured local indexes may name folders this machine lacks: drop those warnings
pip_() { "${PIP[@]}" "$@" 2> >(grep -v 'is neither a file nor a directory' >&2); }
rm -f "$VENV"/.mmgeneralist-env-*

log "1/4 torch, torchvision and build tools"
pip_ install -q -r "$ROOT/requirements/build.txt"

# ---- 2. mmcv with compiled ops, from a cached wheel when one fits this torch/CUDA ----
cuda_tag="$("$PY" - <<'EOF'
import os, torch
from torch.utils.cpp_extension import CUDA_HOME
cuda = (torch.cuda.is_available() and CUDA_HOME is not None) or os.environ.get("FORCE_CUDA") == "1"
print(f"cu{torch.version.cuda.replace('.', '')}" if cuda and torch.version.cuda else "cpu")
EOF
)"
torch_ver="$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')"
wheel_dir="$CACHE/wheels/mmcv-$MMCV_VERSION-torch$torch_ver-$cuda_tag"
if ! "$PY" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" >/dev/null 2>&1; then
  if ! ls "$wheel_dir"/mmcv-*.whl >/dev/null 2>&1; then
    log "2/4 building mmcv $MMCV_VERSION with ops for torch $torch_ver ($cuda_tag); this takes 8-16 minutes once, then it is cached in $wheel_dir"
    src="$(mktemp -d)"
    trap 'rm -rf "$src"' EXIT
    pip_ download -q --no-deps --no-binary :all: --no-build-isolation "mmcv==$MMCV_VERSION" -d "$src"
    tar -xzf "$src"/mmcv-"$MMCV_VERSION".tar.gz -C "$src"
    # torch>=2.14 headers need C++20; mmcv 2.1.0 passes -std=c++17 last, which would win.
    sed -i "s/'-std=c++17'/'-std=c++20'/g" "$src/mmcv-$MMCV_VERSION/setup.py"
    mkdir -p "$wheel_dir.partial"
    [[ "$cuda_tag" != cpu ]] && export FORCE_CUDA=1
    (cd "$src/mmcv-$MMCV_VERSION" && MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      pip_ wheel --no-deps --no-build-isolation . -w "$wheel_dir.partial")
    rm -rf "$wheel_dir" && mv "$wheel_dir.partial" "$wheel_dir"
  else
    log "2/4 mmcv from cached wheel $wheel_dir"
  fi
  # mmcv's own pure-Python requirements first, then the wheel itself
  pip_ install -q addict yapf opencv-python pyyaml packaging pillow mmengine \
    -c "$ROOT/requirements/constraints.txt"
  pip_ install -q --no-deps "$wheel_dir"/mmcv-*.whl
else
  log "2/4 mmcv $MMCV_VERSION with ops already installed"
fi

log "3/4 OpenMMLab codebases, diffusers, transformers, DeepSpeed"
pip_ install -q -r "$ROOT/requirements/runtime.txt" -c "$ROOT/requirements/constraints.txt"
pip_ install -q --no-build-isolation -r "$ROOT/requirements/deepspeed.txt" \
  -c "$ROOT/requirements/constraints.txt"
# mmpose lists chumpy (SMPL only), which does not build with a modern pip.
pip_ install -q --no-deps mmpose==1.3.2
# The binary xtcocotools wheel was built against numpy 1; build it against the installed numpy.
# panopticapi (for mmdet's panoptic loading and PQ) is not on PyPI; panopticapi-lite is the same
# code, and declares numpy<2 although it runs on numpy 2.
pip_ install -q --no-deps panopticapi-lite==0.2.0
if ! "$PY" -c "import xtcocotools.coco" >/dev/null 2>&1; then
  pip_ install -q --no-deps --no-binary xtcocotools --no-build-isolation xtcocotools==1.14.3
fi

log "4/4 mmgeneralist (editable) and test tools"
pip_ install -q --no-deps --no-build-isolation -e "$ROOT"
pip_ install -q -r "$ROOT/requirements/tests.txt" -c "$ROOT/requirements/constraints.txt"

"$PY" - <<'EOF'
import mmcv.ops, mmseg.models, mmdet.models, mmpretrain.models, mmpose.apis  # noqa: F401
import panopticapi.evaluation, xtcocotools.coco  # noqa: F401
import diffusers, transformers, mmgeneralist  # noqa: F401
print(f"[setup_env] ok: torch, mmcv {mmcv.__version__} (ops), mmseg, mmdet, mmpose, "
      f"mmpretrain, diffusers {diffusers.__version__}, transformers {transformers.__version__}")
EOF
touch "$stamp"
log "done; activate with: source $VENV/bin/activate"
