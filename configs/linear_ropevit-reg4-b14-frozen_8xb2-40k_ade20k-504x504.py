# Linear probe of Birder's RoPE ViT-B/14 (rope_vit_reg4_b14, CAPI weights) on
# ADE20K (150 classes). The backbone is frozen. A BatchNorm + 1x1 convolution
# head (BNHead) classifies each token of its last-block map, which is Birder's
# `neck` map without the final norm. The logits are upsampled bilinearly to
# the image.
#
# Pretrained weights, data layout, crops and test padding are those of the
# UperNet config this file inherits: 504x504 crops (36x36 tokens), test images
# with short side 512 padded to a multiple of 28, whole-image inference.
#
# RoPE: rope_mode='interpolate' rescales the rotary coordinates of any token
# grid onto the 16x16 pretraining grid (224 px), as Birder's authors advise
# for a frozen backbone at a new resolution; the weights never adapt to
# extrapolated coordinates here.
#
# Frozen: frozen_stages=12 freezes the patch embedding, position embedding,
# special tokens and all 12 blocks (requires_grad=False, eval mode), and the
# layer-decay constructor with rate 1.0 leaves frozen parameters out of the
# optimizer, so AdamW only updates the head. The backbone's final LayerNorm
# is unused without final_norm, so RoPEViT freezes it as well.
#
# Schedule: 40k iterations at total batch 16 (8 GPUs x 2 images), AdamW lr
# 1e-3, weight decay 1e-4, linear warm-up for 1500 iterations then linear
# decay to 0.
# NOTE: lr and schedule are a starting point, not tuned on ADE20K.
_base_ = ['./upernet_ropevit-reg4-b14_sfp_8xb2-160k_ade20k-504x504.py']

norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    backbone=dict(rope_mode='interpolate', frozen_stages=12, drop_path_rate=0.0),
    neck=None,
    decode_head=dict(
        _delete_=True,
        type='BNHead',
        in_channels=768,
        in_index=0,
        dropout_ratio=0.0,
        num_classes=150,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=None,
    test_cfg=dict(_delete_=True, mode='whole'))

optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=1e-4), paramwise_cfg=dict(layer_decay_rate=1.0))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=1500, end=40000),
]
train_cfg = dict(max_iters=40000, val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=4000))
