# VPD depth as VPD's released code trained it (depth/models_depth/model.py; mmseg 1.2 ports
# the same network as its VPD backbone + VPDDepthHead): the same backbone, data and schedule
# as vpd_sd15-dpt_4xb6-25k_nyu-480x480.py, with mmseg's VPDDepthHead (the released
# deconvolution decoder, sigmoid x max_depth) instead of our DPT-style head, and the released
# optimiser groups: no weight decay on 1-D parameters (norms, biases, the adapter's gamma),
# the UNet at 1/100 of the rate (depth/models_depth/optimizer.py). Released NYU checkpoints,
# converted with tools/model_converters/vpd_to_mmgeneralist.py, load into this config.
#   bash tools/dist_train.sh configs/vpd/vpd_sd15-vpdhead_4xb6-25k_nyu-480x480.py 4
_base_ = ['./vpd_sd15-dpt_4xb6-25k_nyu-480x480.py']

model = dict(
    decode_head=dict(
        _delete_=True,
        type='VPDDepthHead',  # mmseg's
        in_channels=_base_.unet_widths,
        max_depth=10.0,
        fmap_border=(1, 1),  # 480 crops padded to 512: mmseg's 480x480 VPD config
        loss_decode=dict(type='SiLogLoss')))
optim_wrapper = dict(
    constructor='ForceDefaultOptimWrapperConstructor',  # mmseg's: custom keys + 1-D rules
    paramwise_cfg=dict(
        _delete_=True,
        bias_decay_mult=0.0,
        norm_decay_mult=0.0,
        force_default_settings=True,
        custom_keys={
            'backbone.unet': dict(lr_mult=0.01),
            'backbone.text.adapter.gamma': dict(decay_mult=0.0),
        }))
