# Cascade Mask R-CNN with Birder's RoPE ViT-B/14 (rope_vit_reg4_b14, CAPI
# weights) and a simple feature pyramid, on the same ViTDet recipe as
# mask-rcnn_ropevit-reg4-b14_sfp_lsj-100e_coco.py: LSJ at 896x896 (64x64
# tokens), AdamW lr 1e-4, weight decay 0.1, layer-wise lr decay 0.7, drop path
# 0.1, 184,375 iterations at total batch 64. Weights and data layout as there.
#
# Each of the three stages uses a 4-conv-1-fc box head with LayerNorm, as in
# ViTDet's cascade models.
_base_ = ['./mask-rcnn_ropevit-reg4-b14_sfp_lsj-100e_coco.py']

stage_target_stds = [[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1], [0.033, 0.033, 0.067, 0.067]]
stage_iou_thresholds = [0.5, 0.6, 0.7]

model = dict(
    type='CascadeRCNN',
    roi_head=dict(
        # The RoI extractors (with the true strides) and the mask head come
        # from the Mask R-CNN config; the box head becomes three stages.
        type='CascadeRoIHead',
        num_stages=3,
        stage_loss_weights=[1, 0.5, 0.25],
        bbox_head=[
            dict(
                type='Shared4Conv1FCBBoxHead',
                in_channels=256,
                conv_out_channels=256,
                fc_out_channels=1024,
                roi_feat_size=7,
                num_classes=80,
                norm_cfg={{_base_.norm_cfg}},
                bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0, 0.0, 0.0, 0.0], target_stds=stds),
                reg_class_agnostic=True,
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0)) for stds in stage_target_stds
        ]),
    train_cfg=dict(
        rpn_proposal=dict(max_per_img=2000),
        rcnn=[
            dict(
                assigner=dict(type='MaxIoUAssigner', pos_iou_thr=iou, neg_iou_thr=iou, min_pos_iou=iou,
                              match_low_quality=False, ignore_iof_thr=-1),
                sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1,
                             add_gt_as_proposals=True),
                mask_size=28,
                pos_weight=-1,
                debug=False) for iou in stage_iou_thresholds
        ]))
