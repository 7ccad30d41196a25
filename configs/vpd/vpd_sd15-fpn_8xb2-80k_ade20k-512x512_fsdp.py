# VPD on ADE20K (vpd_sd15-fpn_8xb2-80k_ade20k-512x512.py: the same model, data and schedule)
# trained with FSDP, for GPUs that full fine-tuning does not fit (docs/benchmarks.md, "When
# to shard"). Its checkpoints load in the plain config for testing.
#   bash tools/dist_train.sh configs/vpd/vpd_sd15-fpn_8xb2-80k_ade20k-512x512_fsdp.py 8
_base_ = ['./vpd_sd15-fpn_8xb2-80k_ade20k-512x512.py', '../_base_/fsdp.py']
