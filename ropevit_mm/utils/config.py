"""Config edits that the tools apply from command-line options."""
import os
from typing import Optional


def _datasets(node):
    """Yield every dict in a config subtree that has a ``data_root`` key."""
    if isinstance(node, dict):
        if 'data_root' in node:
            yield node
        for child in node.values():
            yield from _datasets(child)
    elif isinstance(node, (list, tuple)):
        for child in node:
            yield from _datasets(child)


def set_data_root(cfg, data_root: str, val_split: Optional[str] = None) -> None:
    """Point every dataset and COCO evaluator of ``cfg`` at another COCO-layout root.

    Datasets keep their relative ``ann_file`` and ``data_prefix``; evaluator
    ``ann_file`` paths that started with the old root are moved to the new
    one. With ``val_split`` (for example ``'train2017'``), validation and
    test datasets and evaluators read that split instead of ``val2017``.
    """
    data_root = os.path.join(os.path.abspath(os.path.expanduser(data_root)), '')
    old_root = cfg.get('data_root')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for dataset in _datasets(cfg.get(key)):
            dataset['data_root'] = data_root
            if val_split and key != 'train_dataloader':
                dataset['ann_file'] = f'annotations/instances_{val_split}.json'
                dataset['data_prefix'] = dict(img=f'{val_split}/')
    for key in ('val_evaluator', 'test_evaluator'):
        evaluators = cfg.get(key)
        if evaluators is None:
            continue
        for evaluator in evaluators if isinstance(evaluators, list) else [evaluators]:
            ann_file = evaluator.get('ann_file')
            if not ann_file:
                continue
            if val_split:
                evaluator['ann_file'] = os.path.join(data_root, 'annotations', f'instances_{val_split}.json')
            elif old_root and ann_file.startswith(old_root):
                evaluator['ann_file'] = os.path.join(data_root, ann_file[len(old_root):])
            else:
                evaluator['ann_file'] = os.path.join(data_root, 'annotations', os.path.basename(ann_file))
    cfg.data_root = data_root
