# CPU test config: the ADE20K UperNet config with a 4-block, 64-channel
# RoPEViT and narrow heads, trained on COCO label maps written by
# tools/coco_to_semantic.py. Everything not overridden here (pyramid scales,
# heads, padding rules, optimizer constructor, layer decay) comes from the
# real config, so the two cannot drift apart.
#
# Input size: whole images resized to 112x112 (aspect ratio not kept), an
# 8x8 token grid with patch 14 (112 = 4 * 28, so no padding). Training and
# evaluation see the same 16 images at the same scale: the test checks that
# the pipeline can fit real data on a CPU in about a minute, not how well it
# generalizes. The tests set data_root and data_prefix.img_path to the
# converted folders.
_base_ = ['../../../configs/upernet_ropevit-reg4-b14_sfp_8xb2-160k_ade20k-504x504.py']

crop_size = (112, 112)
num_classes = 81  # background and the 80 COCO 2017 categories
embed_dims = 64
pyramid_channels = 32
norm_cfg = dict(type='BN', requires_grad=True)

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch=dict(
            _delete_=True,
            patch_size=14,
            num_layers=4,
            num_heads=4,
            hidden_dim=embed_dims,
            mlp_dim=4 * embed_dims,
            num_reg_tokens=4),
        pretrain_size=112,
        drop_path_rate=0.0,
        init_cfg=None),
    neck=dict(in_channels=embed_dims, out_channels=pyramid_channels),
    decode_head=dict(
        in_channels=[pyramid_channels] * 4, channels=32, num_classes=num_classes, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=pyramid_channels, channels=16, num_classes=num_classes, norm_cfg=norm_cfg),
    test_cfg=dict(crop_size=crop_size, stride=(84, 84)))

dataset_type = 'COCOSemanticDataset'
data_root = 'data/coco_semantic'
data_prefix = dict(img_path='data/coco/train2017', seg_map_path='train2017')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='train2017.txt',
        data_prefix=data_prefix,
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='train2017.txt',
        data_prefix=data_prefix,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=4e-3, weight_decay=0.01))
max_iters = 150
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=20, end=max_iters),
]
# Validation runs once, after training, from the test.
train_cfg = dict(max_iters=max_iters, val_interval=10**9)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=10**9, save_last=False))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
