"""Evaluate a checkpoint on a config's test set with mmengine's Runner.

Usage:
    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out RESULTS.pkl] [--show-dir DIR]
                         [--data-root ROOT] [--eval-split SPLIT] [--cfg-options k=v ...]
                         [--launcher {none,pytorch,slurm,mpi}]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ropevit_mm  # noqa: E402,F401  (registers modules and weights-only loading)
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from ropevit_mm.utils.runner import add_common_arguments, load_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate a checkpoint with mmengine\'s Runner')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='write the raw predictions to this .pkl file (mmdet DumpDetResults, or '
                        'mmseg DumpResults for segmentation configs)')
    parser.add_argument('--show-dir', help='draw predictions into this folder (under the work dir\'s '
                        'timestamped run folder)')
    add_common_arguments(parser)
    return parser.parse_args(argv)


def build_runner(args) -> Runner:
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if not os.path.isfile(args.checkpoint):
        raise FileNotFoundError(f'Checkpoint file not found: {args.checkpoint}')

    if args.show_dir:
        visualization = cfg.default_hooks.get('visualization')
        if visualization is None:
            raise KeyError('the config has no default_hooks.visualization hook to draw predictions with')
        visualization.draw = True
        visualization.test_out_dir = args.show_dir

    if args.out:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must end with .pkl or .pickle, got {args.out}')
        is_seg = cfg.get('default_scope') == 'mmseg'
        dump = dict(type='DumpResults' if is_seg else 'DumpDetResults', out_file_path=args.out)
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
        cfg.test_evaluator = list(evaluators) + [dump]

    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def main(argv=None):
    runner = build_runner(parse_args(argv))
    metrics = runner.test()
    return runner, metrics


if __name__ == '__main__':
    main()
