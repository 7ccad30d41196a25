# The data preprocessors of the Stable-Diffusion models: images to [-1, 1] (the VAE's input
# range) in RGB order, padded to a multiple of 64 (the total stride of SD's VAE and UNet;
# predictions are cropped back to the image). A config lists this file among its bases and
# sets its model's data_preprocessor to one of them.
sd_normalization = dict(mean=[127.5] * 3, std=[127.5] * 3, bgr_to_rgb=True)
seg_data_preprocessor = dict(
    type='SegDataPreProcessor',
    **sd_normalization,
    pad_val=0,
    seg_pad_val=255,  # padded labels are ignored
    size_divisor=64,
    test_cfg=dict(size_divisor=64))
# padded depth is 0: missing, ignored by the loss and the metric
depth_data_preprocessor = dict(seg_data_preprocessor, seg_pad_val=0)
det_data_preprocessor = dict(
    type='DetDataPreprocessor', **sd_normalization, pad_size_divisor=64, pad_mask=False)
