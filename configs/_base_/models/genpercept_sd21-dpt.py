# GenPercept (Xu et al., Sec. 2.3) affine-invariant depth with Stable Diffusion 2.1, in mmseg's
# DepthEstimator: VPD's depth model (the same DPT-style head on the UNet's multi-level
# features), but one deterministic UNet step on the RGB latent at t = 1 with the empty prompt
# (Eq. 8), no adapter and no attention maps, and whole-image inference.
_base_ = ['./vpd_sd15-dpt.py']

sd_pretrained = 'checkpoints/stable-diffusion-2-1'  # SD-2.1's up-block widths are SD-1.5's
model = dict(
    backbone=dict(
        _delete_=True,
        type='DiffusionUNetBackbone',
        pretrained=sd_pretrained,
        mode='genpercept',  # t = 1, empty prompt, no adapter (Eq. 8)
        attn_map_levels=()),
    test_cfg=dict(_delete_=True, mode='whole'))  # one step on the whole (padded) image
