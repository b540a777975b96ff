"""EmptySafeCocoMetric: zeros and a warning for empty predictions, mmdet's numbers otherwise."""
import json

import numpy as np
import pytest
import torch

import ropevit_mm  # noqa: F401
from ropevit_mm.evaluation import EmptySafeCocoMetric


@pytest.fixture
def annotation_file(tmp_path):
    images = [dict(id=i, file_name=f'{i}.jpg', width=100, height=80) for i in (1, 2)]
    annotations = [
        dict(id=1, image_id=1, category_id=1, bbox=[10, 10, 30, 20], area=600, iscrowd=0,
             segmentation=[[10, 10, 40, 10, 40, 30, 10, 30]]),
        dict(id=2, image_id=2, category_id=2, bbox=[50, 40, 20, 30], area=600, iscrowd=0,
             segmentation=[[50, 40, 70, 40, 70, 70, 50, 70]]),
    ]
    categories = [dict(id=1, name='a'), dict(id=2, name='b')]
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(dict(images=images, annotations=annotations, categories=categories)))
    return str(path)


def predictions(image_id, boxes, labels):
    masks = np.zeros((len(boxes), 80, 100), dtype=bool)
    for mask, (x0, y0, x1, y1) in zip(masks, boxes):
        mask[int(y0):int(y1), int(x0):int(x1)] = True
    return dict(img_id=image_id, ori_shape=(80, 100), pred_instances=dict(
        bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        scores=torch.ones(len(boxes)),
        labels=torch.tensor(labels, dtype=torch.long),
        masks=torch.from_numpy(masks)))


def evaluate(metric, samples):
    metric.dataset_meta = dict(classes=('a', 'b'))
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def test_empty_predictions_give_zeros_and_warning(annotation_file, mm_log_messages):
    samples = [predictions(1, [], []), predictions(2, [], [])]
    results = evaluate(EmptySafeCocoMetric(ann_file=annotation_file, metric=['bbox', 'segm']), samples)
    assert results['coco/bbox_mAP'] == 0.0
    assert results['coco/segm_mAP_50'] == 0.0
    assert len(results) == 12
    assert any('No predictions on any of 2 images' in message for message in mm_log_messages)
    assert not any('testing results of the whole dataset is empty' in message for message in mm_log_messages)


def test_predictions_match_mmdet_metric(annotation_file):
    from mmdet.evaluation import CocoMetric
    samples = [predictions(1, [[10, 10, 40, 30]], [0]), predictions(2, [[52, 40, 70, 70]], [1])]
    ours = evaluate(EmptySafeCocoMetric(ann_file=annotation_file, metric=['bbox', 'segm']), samples)
    reference = evaluate(CocoMetric(ann_file=annotation_file, metric=['bbox', 'segm']), samples)
    assert ours == reference
    assert ours['coco/bbox_mAP_50'] == 1.0
