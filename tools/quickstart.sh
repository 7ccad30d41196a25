#!/usr/bin/env bash
# The main job, end to end on the CPU with nothing downloaded:
#   set up the environment (if missing) -> generate the ADE20K-format synthetic data ->
#   write a tiny random Stable-Diffusion folder -> train tiny VPD with tools/train.py ->
#   evaluate it and a constant predictor with mmseg's IoUMetric, and paint predictions.
#
#   bash tools/quickstart.sh [extra tools/train.py options, e.g. --cfg-options train_cfg.max_iters=200]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
PY="${MMGEN_VENV:-$ROOT/.venv}/bin/python"
CONFIG=configs/vpd/vpd_tiny-fpn_1xb8-1k_synthetic-ade-64x64.py
WORK=work_dirs/quickstart

# seeded and a few seconds long, so always regenerated: an interrupted run leaves nothing stale
"$PY" tools/dataset_converters/generate_synthetic.py --out data/synthetic --formats ade --size 64
"$PY" tools/model_converters/make_tiny_diffusion.py --out checkpoints/tiny-sd
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK" "$@"
CKPT="$(cat "$WORK/last_checkpoint")"
"$PY" tools/analysis_tools/eval_vs_trivial.py "$CONFIG" "$CKPT" --work-dir "$WORK/eval" \
  --show-dir "$WORK/vis" --json "$WORK/eval_vs_trivial.json"
echo "painted predictions (input | ground truth | prediction): $WORK/vis/vis_image ;" \
  "a dozen of them under the metrics: $WORK/vis/summary.png ; metrics: $WORK/eval_vs_trivial.json"
echo "your own pictures: $PY demo/image_demo.py IMAGE_OR_FOLDER $CONFIG $CKPT --out-dir outputs"
