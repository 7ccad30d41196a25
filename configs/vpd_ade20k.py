# `python tools/train.py configs/vpd_ade20k.py`: VPD (SD-1.5 + Semantic FPN) on ADE20K,
# the paper's default 80k schedule. The full, descriptively named config is
# configs/vpd/vpd_sd15-fpn_8xb2-80k_ade20k-512x512.py; its tiny CPU counterpart on generated
# data is configs/vpd/vpd_tiny-fpn_1xb8-1k_synthetic-ade-64x64.py.
_base_ = ['./vpd/vpd_sd15-fpn_8xb2-80k_ade20k-512x512.py']
