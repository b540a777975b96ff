# Mask R-CNN with Birder's RoPE ViT-B/14 (rope_vit_reg4_b14, CAPI weights),
# a simple feature pyramid and the ViTDet recipe, on COCO 2017.
#
# Pretrained weights: the backbone's init_cfg names the published weights
# 'rope_vit_reg4_b14_capi', which are fetched from the Hugging Face hub
# (birder-project/rope_vit_reg4_b14_capi) and checked by sha256. Offline, put
# rope_vit_reg4_b14_capi.pt in ~/.cache/ropevit_mm/weights/ or replace the
# checkpoint with a local path. Alternatively convert it with
# tools/convert_birder_checkpoint.py and set load_from to the result.
#
# Data: a COCO root (data_root, or tools/train.py --data-root) with
#   annotations/instances_train2017.json, annotations/instances_val2017.json,
#   train2017/, val2017/.
#
# Input size: large-scale jitter at 896x896. 896 = 14 * 64 gives a 64x64
# token grid, the 4096 tokens ViTDet-B/16 uses at 1024 px, so attention cost
# matches the reference recipe; it is also a multiple of 56, so all five
# pyramid levels (strides 3.5, 7, 14, 28, 56) tile the padded image exactly.
# 1008 (72x72, 5184 tokens) or 1064 (76x76, 5776 tokens) give more
# resolution for about 1.3x and 1.5x the attention memory. Every block uses
# global attention (no windows), so with_cp is on to fit 8 images per GPU.
#
# Schedule: 100 epochs at total batch 64 (8 GPUs x 8 images), 184,375
# iterations, linear warm-up for 250 iterations, lr steps at 88.9% and 96.3%.
# AdamW lr 1e-4, weight decay 0.1, layer-wise lr decay 0.7, drop path 0.1,
# automatic mixed precision (float16 with dynamic loss scaling on GPUs).
_base_ = [
    'mmdet::_base_/models/mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['ropevit_mm'], allow_failed_imports=False)

image_size = (896, 896)
backbone_stride = 14
# Birder's rgb_stats on the 0-255 scale: mean (0.5191, 0.5306, 0.4877) and
# std (0.2316, 0.2304, 0.2588) times 255. tools/convert_birder_checkpoint.py
# prints these lines for other checkpoints.
rgb_mean = [132.3705, 135.303, 124.3635]
rgb_std = [59.058, 58.752, 65.994]
pyramid_strides = [3.5, 7, 14, 28, 56]
norm_cfg = dict(type='LayerNorm2d', requires_grad=True)

model = dict(
    data_preprocessor=dict(
        mean=rgb_mean,
        std=rgb_std,
        bgr_to_rgb=True,
        pad_mask=True,
        pad_size_divisor=56,
        batch_augments=[dict(type='BatchFixedSizePad', size=image_size, pad_mask=True)]),
    backbone=dict(
        _delete_=True,
        type='RoPEViT',
        arch='rope_vit_reg4_b14',
        rope_mode='extrapolate',
        drop_path_rate=0.1,
        with_cp=True,
        init_cfg=dict(type='Pretrained', checkpoint='rope_vit_reg4_b14_capi')),
    neck=dict(
        _delete_=True,
        type='SimpleFeaturePyramid',
        in_channels=768,
        out_channels=256,
        scale_factors=(4.0, 2.0, 1.0, 0.5),
        num_outs=5,
        backbone_stride=backbone_stride),
    rpn_head=dict(
        num_convs=2,
        # Anchor sizes stay those of mmdet's FPN (32 to 512 px); only the grid
        # spacing follows the true pyramid strides.
        anchor_generator=dict(strides=pyramid_strides, base_sizes=[4, 8, 16, 32, 64])),
    roi_head=dict(
        bbox_roi_extractor=dict(featmap_strides=pyramid_strides[:4]),
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            norm_cfg=norm_cfg),
        mask_roi_extractor=dict(featmap_strides=pyramid_strides[:4]),
        mask_head=dict(norm_cfg=norm_cfg)))

backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomResize', scale=image_size, ratio_range=(0.1, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_type='absolute_range', crop_size=image_size, recompute_bbox=True,
         allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(batch_size=8, num_workers=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='EmptySafeCocoMetric')
test_evaluator = val_evaluator

max_iters = 184375
# AnyDeviceAmpOptimWrapper is mmengine's AmpOptimWrapper on GPUs and also
# runs bfloat16 autocast on CPU-only machines, where mmengine's refuses to build.
optim_wrapper = dict(
    type='AnyDeviceAmpOptimWrapper',
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.7),
    optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[163889, 177546], gamma=0.1),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# ResumableCheckpointHook writes checkpoints atomically and saves the random
# states, so a run killed at any point resumes exactly.
default_hooks = dict(
    checkpoint=dict(type='ResumableCheckpointHook', by_epoch=False, interval=5000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=64)
