# VPD on ADE20K (vpd_sd15-fpn_8xb2-80k_ade20k-512x512.py: the same model, data and schedule)
# trained with DeepSpeed ZeRO-2, for GPUs that full fine-tuning does not fit
# (docs/benchmarks.md, "When to shard"). Needs DeepSpeed (see ../_base_/deepspeed_zero2.py).
#   bash tools/dist_train.sh configs/vpd/vpd_sd15-fpn_8xb2-80k_ade20k-512x512_deepspeed.py 8
_base_ = ['./vpd_sd15-fpn_8xb2-80k_ade20k-512x512.py', '../_base_/deepspeed_zero2.py']
optim_wrapper = dict(type='DiffusionDeepSpeedOptimWrapper')  # keeps the schedule's groups
