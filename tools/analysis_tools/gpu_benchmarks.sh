#!/usr/bin/env bash
# The real-size GPU figures of docs/benchmarks.md, in one command (random weights at the
# published SD-1.5 / SD-2.1 widths; no checkpoint or data set needed):
#
#   bash tools/analysis_tools/gpu_benchmarks.sh [OUT_DIR]
#
# Each line is one run of tools/analysis_tools/benchmark.py; its table goes to stdout and
# its JSON to OUT_DIR (default work_dirs/benchmarks/gpu). Runs go most important first and
# each is capped by `timeout` (seconds in BENCH_TIMEOUT, default 150), so a slow one cannot
# eat the others' time. DRY=1 runs every line on the CPU at toy sizes, to check the command
# lines before spending GPU time (the switches are tested on the tiny models by the tests).
set -u
out=${1:-work_dirs/benchmarks/gpu}
mkdir -p "$out"
cap=${BENCH_TIMEOUT:-150}
failed=0
run() {  # NAME CONFIG ARGS...
  local name=$1 config=$2
  shift 2
  local extra=()
  if [ "${DRY:-0}" = 1 ]; then  # the baseline at toy sizes on the CPU: configs and modes
    extra=(--device cpu --warmup 0 --repeat 1 --sizes 64 --batch-sizes 1 --steps 2 --variants base)
  fi
  echo "=== $name: $config $* (cap ${cap}s)"
  local start=$SECONDS
  timeout "$cap" python3 tools/analysis_tools/benchmark.py "$config" "$@" "${extra[@]}" \
    --out "$out/$name.json" || { echo "=== $name: FAILED or timed out"; failed=1; }
  echo "=== $name: $((SECONDS - start)) s"
}
vpd=configs/vpd/vpd_sd15-fpn_8xb2-80k_ade20k-512x512.py
# 1. VPD training step at batch 8: explicit fp32 attention (VPD's own code) vs SDPA, bf16,
#    activation checkpointing and channels-last, one at a time
run vpd_train "$vpd" --modes train --batch-sizes 8 --warmup 2 --repeat 5 \
  --variants explicit base bf16 bf16+checkpointing bf16+channels_last
# 2. VPD at 512x512, batch 1: latency, the frozen VAE encoder's share, attention-map capture
#    (vae_bf16: the frozen encoder alone in bf16 weights, the backbone's vae_dtype option)
run vpd_infer "$vpd" --modes infer encode --warmup 3 --repeat 10 \
  --variants explicit base bf16 vae_bf16
run vpd_maps "$vpd" --modes backbone --warmup 3 --repeat 10 --variants nomaps base bf16+nomaps bf16
# 3. the editor's 50-step edit of a 256x256 image (three guidance branches per step)
run editor_sample configs/instruct_diffusion/instruct-diffusion_sd15_48xb64-200e_coco-stuff-256x256.py \
  --modes sample --steps 50 --warmup 1 --repeat 3 --variants base bf16
# 4. GenPercept's one step at 768x768
run genpercept_infer configs/genpercept/genpercept_sd21-dpt_2xb8-30k_nyu-480x480.py \
  --modes infer --sizes 768 --warmup 3 --repeat 10 --variants base bf16
# 5. the pixel generalist: DDIM-50 at 128x128, batch 64 (one step's FLOPs from "infer")
gen=configs/pixel_generalist/pixel-generalist_sd14-convnext-l_64xb16-180k_multitask-128x128.py
run generalist_step "$gen" --modes infer --batch-sizes 64 --warmup 2 --repeat 5 --variants base bf16
run generalist_sample "$gen" --modes sample --batch-sizes 64 --steps 50 --warmup 0 --repeat 1 \
  --no-flops --variants bf16
# 6. torch.compile of the UNet (compilation is not timed: warm-up calls absorb it)
[ "${DRY:-0}" = 1 ] || run vpd_compile "$vpd" --modes train --batch-sizes 8 --warmup 3 --repeat 5 --no-flops \
  --variants bf16 bf16+compile
exit $failed
