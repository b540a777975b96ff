"""The main job: fine-tune a small RoPE ViT Mask R-CNN on CPU and print COCO metrics.

Usage:
    python tools/demo.py [--data-root ROOT] [--checkpoint CKPT] [--work-dir DIR] [--max-iters N]

Without --data-root the demo writes a generated COCO-format dataset of drawn
shapes (a train and a val split) into the work dir, trains
configs/mask-rcnn_ropevit-tiny_sfp_demo_shapes.py on it and evaluates on the
val split. With --data-root it runs the same flow on a real COCO-layout root
(configs/mask-rcnn_ropevit-tiny_sfp_demo_coco.py): training on train2017 and
evaluating on val2017, or on train2017 when the root has no val2017.
--checkpoint initialises the backbone from Birder or converted weights (for
example rope_vit_reg4_b14_capi.pt), which switches to that checkpoint's
architecture.
"""
import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import ropevit_mm  # noqa: E402,F401  (registers modules and weights-only loading)
from mmengine.config import Config  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from ropevit_mm.checkpoint import load_checkpoint_state  # noqa: E402
from ropevit_mm.checkpoint.convert import infer_arch  # noqa: E402
from ropevit_mm.demo import generate_shapes_dataset  # noqa: E402
from ropevit_mm.models.backbones import ARCH_SETTINGS  # noqa: E402
from ropevit_mm.utils import check_plugin_imports, set_data_root  # noqa: E402

SHAPES_CONFIG = os.path.join(ROOT, 'configs', 'mask-rcnn_ropevit-tiny_sfp_demo_shapes.py')
COCO_CONFIG = os.path.join(ROOT, 'configs', 'mask-rcnn_ropevit-tiny_sfp_demo_coco.py')
REPORTED = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-root', help='COCO-layout root (annotations/instances_train2017.json, '
                        'train2017/, optionally val2017/); a generated shapes dataset when omitted')
    parser.add_argument('--checkpoint', help='backbone weights to start from (Birder .pt/.safetensors, '
                        'a converted mmengine checkpoint or a published weights name)')
    parser.add_argument('--work-dir', default=os.path.join('work_dirs', 'demo'),
                        help='folder for the dataset, logs and checkpoints (default: %(default)s)')
    parser.add_argument('--max-iters', type=int, help='training iterations (default: the config\'s)')
    parser.add_argument('--config', help='config to use instead of the demo config for the data')
    return parser.parse_args(argv)


def coco_classes(ann_file: str):
    """Return the category names of a COCO annotation file, in category id order."""
    with open(ann_file) as handle:
        categories = json.load(handle).get('categories', [])
    if not categories:
        raise ValueError(f'{ann_file} lists no categories')
    return tuple(c['name'] for c in sorted(categories, key=lambda c: c['id']))


def prepare_config(args) -> Config:
    work_dir = os.path.abspath(args.work_dir)
    if args.data_root:
        data_root = os.path.abspath(args.data_root)
        train_ann = os.path.join(data_root, 'annotations', 'instances_train2017.json')
        if not os.path.isfile(train_ann):
            raise FileNotFoundError(f'{train_ann} not found: --data-root must be a COCO-layout root with '
                                    'annotations/instances_train2017.json and train2017/')
        has_val = os.path.isfile(os.path.join(data_root, 'annotations', 'instances_val2017.json'))
        cfg = Config.fromfile(args.config or COCO_CONFIG)
        set_data_root(cfg, data_root, val_split=None if has_val else 'train2017')
        classes = coco_classes(train_ann)
        for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
            loader.dataset.metainfo = dict(classes=classes)
        cfg.model.roi_head.bbox_head.num_classes = len(classes)
        cfg.model.roi_head.mask_head.num_classes = len(classes)
        eval_split = 'val2017' if has_val else 'train2017 (the root has no val2017)'
    else:
        data_root = os.path.join(work_dir, 'data', 'shapes')
        print_log(f'Writing the generated shapes dataset to {data_root}', logger='current')
        generate_shapes_dataset(data_root)
        cfg = Config.fromfile(args.config or SHAPES_CONFIG)
        set_data_root(cfg, data_root)
        eval_split = 'val2017 (generated)'

    if args.checkpoint:
        state_dict, _ = load_checkpoint_state(args.checkpoint)
        arch = infer_arch(state_dict)
        cfg.model.backbone.arch = arch
        cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=args.checkpoint)
        cfg.model.neck.in_channels = ARCH_SETTINGS[arch]['hidden_dim']

    if args.max_iters:
        max_iters = args.max_iters
        original_iters = cfg.train_cfg.max_iters
        cfg.train_cfg.max_iters = max_iters
        # Keep the schedule's shape: warm-up and lr steps at the same fractions.
        for scheduler in cfg.param_scheduler:
            if scheduler.type == 'LinearLR':
                scheduler.end = min(scheduler.end, max(1, max_iters // 10))
            elif scheduler.type == 'MultiStepLR':
                scheduler.end = max_iters
                scheduler.milestones = [max(1, max_iters * m // original_iters) for m in scheduler.milestones]
        cfg.default_hooks.checkpoint.interval = max_iters
        # Short runs still log a few training lines.
        cfg.default_hooks.logger.interval = max(1, min(cfg.default_hooks.logger.interval, max_iters // 5))
    # Validation runs once, after training, through runner.val().
    cfg.train_cfg.val_begin = cfg.train_cfg.max_iters + 1
    cfg.work_dir = work_dir
    cfg.eval_split = eval_split
    check_plugin_imports(cfg)
    return cfg


def print_summary(metrics: dict, runner: Runner, seconds: float, eval_split: str) -> None:
    lines = ['', f'Demo finished in {seconds / 60:.1f} min. Metrics on {eval_split}:',
             f'{"":6}' + ''.join(f'{item:>9}' for item in REPORTED)]
    for task in ('bbox', 'segm'):
        values = [metrics.get(f'coco/{task}_{item}', float('nan')) for item in REPORTED]
        lines.append(f'{task:6}' + ''.join(f'{value:9.3f}' for value in values))
    checkpoint = os.path.join(runner.work_dir, f'iter_{runner.iter}.pth')
    lines += ['', f'work dir:   {runner.work_dir}', f'log:        {os.path.join(runner.log_dir, runner.timestamp)}.log',
              f'checkpoint: {checkpoint}', f'config:     {os.path.join(runner.work_dir, runner.cfg.filename or "")}']
    print('\n'.join(lines), flush=True)


def main(argv=None) -> dict:
    args = parse_args(argv)
    cfg = prepare_config(args)
    eval_split = cfg.pop('eval_split')
    started = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.val()
    print_summary(metrics, runner, time.time() - started, eval_split)
    return metrics


if __name__ == '__main__':
    main()
