# CPU test config: the ADE20K linear-probe config with a 4-block, 64-channel
# RoPEViT (all blocks frozen), trained on COCO label maps written by
# tools/coco_to_semantic.py. Head, frozen-backbone settings, RoPE mode and
# optimizer constructor come from the real config.
#
# Input size: images resized to short side 224 and cropped to 224x224, a
# 16x16 token grid with patch 14. The tests set data_root and
# data_prefix.img_path to the converted folders.
_base_ = ['../../../configs/linear_ropevit-reg4-b14-frozen_8xb2-40k_ade20k-504x504.py']

crop_size = (224, 224)
num_classes = 81  # background and the 80 COCO 2017 categories
embed_dims = 64
num_layers = 4

model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch=dict(
            _delete_=True,
            patch_size=14,
            num_layers=num_layers,
            num_heads=4,
            hidden_dim=embed_dims,
            mlp_dim=4 * embed_dims,
            num_reg_tokens=4),
        pretrain_size=112,
        frozen_stages=num_layers,
        init_cfg=None),
    decode_head=dict(in_channels=embed_dims, num_classes=num_classes, norm_cfg=dict(type='BN', requires_grad=True)))

dataset_type = 'COCOSemanticDataset'
data_root = 'data/coco_semantic'
data_prefix = dict(img_path='data/coco/train2017', seg_map_path='train2017')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=(448, 224), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(448, 224), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4,
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

max_iters = 6
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='PolyLR', eta_min=0.0, power=1.0, by_epoch=False, begin=2, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=10**9)
default_hooks = dict(
    logger=dict(interval=2),
    checkpoint=dict(interval=10**9, save_last=False))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
