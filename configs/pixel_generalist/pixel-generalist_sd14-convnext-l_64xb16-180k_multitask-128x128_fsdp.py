# The pixel generalist (pixel-generalist_sd14-convnext-l_64xb16-180k_multitask-128x128.py: the
# same model, data and schedule) trained with FSDP. Fan et al. (Sec. 5) name the memory of
# full fine-tuning at large pixel targets as the method's limit; sharding is one answer,
# lora=dict(r=8) on the model the other (docs/benchmarks.md, "When to shard").
#   bash tools/dist_train.sh CONFIG 8   (CONFIG: this file)
_base_ = [
    './pixel-generalist_sd14-convnext-l_64xb16-180k_multitask-128x128.py', '../_base_/fsdp.py'
]
