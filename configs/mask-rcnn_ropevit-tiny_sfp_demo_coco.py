# CPU demo and fit test on a real COCO-layout root: the demo config's small
# RoPE ViT (patch 14, 4 blocks, width 128) and Mask R-CNN, with COCO's 80
# classes and 448 px inputs (a 32x32 token grid; 448 is a multiple of 56).
# tools/demo.py --data-root ROOT sets data_root, replaces the classes with
# the root's categories and evaluates on val2017, or on train2017 when the
# root has no val2017.
_base_ = ['./mask-rcnn_ropevit-tiny_sfp_demo_shapes.py']

data_root = 'data/coco/'
image_size = (448, 448)
num_classes = 80

model = dict(roi_head=dict(bbox_head=dict(num_classes=num_classes), mask_head=dict(num_classes=num_classes)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=2,
    dataset=dict(data_root=data_root, metainfo=None, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=2,
    dataset=dict(data_root=data_root, metainfo=None, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val2017.json', classwise=False)
test_evaluator = val_evaluator
