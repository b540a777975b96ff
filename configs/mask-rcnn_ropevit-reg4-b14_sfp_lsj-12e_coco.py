# Short schedule for quick experiments: Mask R-CNN with RoPE ViT-B/14 and the
# simple feature pyramid, as in mask-rcnn_ropevit-reg4-b14_sfp_lsj-100e_coco.py
# but for 12 epochs at total batch 64 (22,125 iterations), with the lr steps
# at the same fractions of the schedule (88.9% and 96.3%).
_base_ = ['./mask-rcnn_ropevit-reg4-b14_sfp_lsj-100e_coco.py']

max_iters = 22125
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=250),
    dict(type='MultiStepLR', by_epoch=False, begin=0, end=max_iters, milestones=[19669, 21306], gamma=0.1),
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(checkpoint=dict(interval=2500))
