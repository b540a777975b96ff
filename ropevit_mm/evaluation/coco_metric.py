"""COCO evaluation that reports zeros, not nothing, when a model predicts nothing."""
import logging
from collections import OrderedDict
from typing import Dict

from mmdet.evaluation.metrics import CocoMetric
from mmengine.logging import print_log
from mmengine.registry import METRICS

_DEFAULT_ITEMS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')


@METRICS.register_module()
class EmptySafeCocoMetric(CocoMetric):
    """mmdet's ``CocoMetric`` (pycocotools) with a defined result for empty predictions.

    mmdet 3.3's ``CocoMetric`` logs "The testing results of the whole dataset
    is empty" as an ERROR and returns an empty dict when no image has a
    prediction, which early in training is normal and which breaks hooks
    that read a metric. This subclass logs a warning instead and returns 0.0
    for every bbox and segm item it would report. With any prediction the
    result is exactly mmdet's.
    """

    def compute_metrics(self, results: list) -> Dict[str, float]:
        num_predictions = sum(len(pred['labels']) for _, pred in results)
        if num_predictions > 0 or self.format_only:
            return super().compute_metrics(results)

        print_log(f'No predictions on any of {len(results)} images; reporting 0.0 for every '
                  f'{"/".join(self.metrics)} metric', logger='current', level=logging.WARNING)
        eval_results = OrderedDict()
        for metric in self.metrics:
            if metric == 'proposal_fast':
                for num in self.proposal_nums:
                    eval_results[f'AR@{num}'] = 0.0
                continue
            for item in self.metric_items or _DEFAULT_ITEMS:
                eval_results[f'{metric}_{item}'] = 0.0
        return eval_results
