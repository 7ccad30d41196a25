# DeepSpeed ZeRO stage 2: add this file to a config's _base_ list (last) to train it with
# mmengine's FlexibleRunner and DeepSpeedStrategy, and set
#   optim_wrapper = dict(type='DiffusionDeepSpeedOptimWrapper')
# in the config itself (a base cannot set it beside the schedule's). Gradients and AdamW
# moments are partitioned over the ranks; the weights stay whole on each (FSDP, _base_/fsdp.py,
# shards them as well). Needs `pip install --no-build-isolation deepspeed==0.18.9`. See
# docs/benchmarks.md, "When to shard".
#   bash tools/dist_train.sh configs/vpd/vpd_sd15-fpn_8xb2-80k_ade20k-512x512_deepspeed.py 8
# Checkpoints are DeepSpeed folders (iter_N.pth/): mp_rank_00_model_states.pt holds the
# model's state dict under 'module' (whole under ZeRO-2); `python WORK_DIR/zero_to_fp32.py`
# (DeepSpeed's) writes a plain one.
runner_type = 'FlexibleRunner'
strategy = dict(
    type='DeepSpeedStrategy',
    zero_optimization=dict(
        stage=2,
        allgather_partitions=True,
        reduce_scatter=True,
        allgather_bucket_size=int(5e8),
        reduce_bucket_size=int(5e8),
        overlap_comm=False,
        contiguous_gradients=True),
    # bf16 on GPUs that have it: strategy=dict(bf16=dict(enabled=True)) (fp32 by default)
)
