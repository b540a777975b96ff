# UperNet with Birder's RoPE ViT-B/14 (rope_vit_reg4_b14, CAPI weights) and a
# simple feature pyramid, on ADE20K (150 classes).
#
# Pretrained weights: the backbone's init_cfg names the published weights
# 'rope_vit_reg4_b14_capi', which are fetched from the Hugging Face hub
# (birder-project/rope_vit_reg4_b14_capi) and checked by sha256. Offline, put
# rope_vit_reg4_b14_capi.pt in ~/.cache/ropevit_mm/weights/ or replace the
# checkpoint with a local path.
#
# Data: ADEChallengeData2016 under data_root, as mmseg expects it:
#   images/training/*.jpg, annotations/training/*.png,
#   images/validation/*.jpg, annotations/validation/*.png
# (labels 0..150 with 0 "other", reduced to 150 classes plus ignore 255).
#
# Input size: 504x504 training crops, a 36x36 token grid (1296 tokens). The
# usual 512 px crop gives 37x37 tokens, and the pyramid's 0.5 level needs an
# even grid; 504 = 14 * 36 needs no padding in training. The four levels then
# have strides 3.5, 7, 14, 28 (144, 72, 36 and 18 px maps). Test images keep
# mmseg's ADE20K resize (short side 512) and are padded at the bottom and
# right to a multiple of 28 (data_preprocessor test_cfg). Sliding windows of
# 504 px at stride 336 then always fall on even token grids. mmseg crops the
# padding from the logits before resizing them to the original image.
#
# Schedule: 160k iterations at total batch 16 (8 GPUs x 2 images), AdamW lr
# 1e-4, weight decay 0.05, layer-wise lr decay 0.65, drop path 0.1, linear
# warm-up for 1500 iterations then linear decay to 0, as mmseg's MAE ViT-B
# UperNet recipe.
# NOTE: no ADE20K result of this config exists yet; the recipe is mmseg's
# MAE ViT-B one, not tuned for this backbone.
_base_ = [
    'mmseg::_base_/models/upernet_mae.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_160k.py',
]
custom_imports = dict(imports=['ropevit_mm'], allow_failed_imports=False)

crop_size = (504, 504)
num_classes = 150
embed_dims = 768
pyramid_channels = 256
# Birder's rgb_stats on the 0-255 scale: mean (0.5191, 0.5306, 0.4877) and
# std (0.2316, 0.2304, 0.2588) times 255.
rgb_mean = [132.3705, 135.303, 124.3635]
rgb_std = [59.058, 58.752, 65.994]

data_preprocessor = dict(
    mean=rgb_mean,
    std=rgb_std,
    bgr_to_rgb=True,
    size=crop_size,
    # 28 px = patch size 14 times the 2x downsampling of the 0.5 level.
    test_cfg=dict(size_divisor=28))

model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(
        _delete_=True,
        type='RoPEViT',
        arch='rope_vit_reg4_b14',
        pretrain_size=224,
        out_indices=(-1, ),
        rope_mode='extrapolate',
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint='rope_vit_reg4_b14_capi')),
    neck=dict(
        _delete_=True,
        type='SimpleFeaturePyramid',
        in_channels=embed_dims,
        out_channels=pyramid_channels,
        scale_factors=(4.0, 2.0, 1.0, 0.5),
        backbone_stride=14),
    decode_head=dict(
        in_channels=[pyramid_channels] * 4,
        in_index=[0, 1, 2, 3],
        channels=512,
        num_classes=num_classes),
    # The stride-14 level, the backbone's own resolution.
    auxiliary_head=dict(in_channels=pyramid_channels, in_index=2, num_classes=num_classes),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(336, 336)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.65))

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=1500, end=160000),
]

# ResumableCheckpointHook writes checkpoints atomically and saves the random
# states, so a run killed at any point resumes exactly.
default_hooks = dict(checkpoint=dict(type='ResumableCheckpointHook'))
