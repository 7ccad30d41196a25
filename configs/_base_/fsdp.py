# Fully sharded data parallel: add this file to a config's _base_ list (last) to train it with
# mmengine's FlexibleRunner and FSDPStrategy instead of the Runner and DDP. Weights, gradients
# and AdamW moments are sharded over the GPUs, each UNet / VAE / text-encoder block of at
# least 10M parameters its own FSDP unit; checkpoints are saved whole (state_dict_cfg='full'),
# so the ordinary configs and tools/test.py load them. See docs/benchmarks.md, "When to shard".
#   bash tools/dist_train.sh configs/vpd/vpd_sd15-fpn_8xb2-80k_ade20k-512x512_fsdp.py 8
runner_type = 'FlexibleRunner'
strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(
        type='MMFullyShardedDataParallel',
        # frozen (VAE, text encoder) and trained parameters share units, and the configs'
        # per-module learning rates need the original parameters: use_orig_params
        use_orig_params=True,
        auto_wrap_policy=dict(type='diffusion_size_wrap_policy', min_num_params=int(1e7))),
    state_dict_cfg='full')
