"""Train a detector or segmentor from a config with mmengine's Runner.

Usage:
    python tools/train.py CONFIG [--work-dir DIR] [--resume [CHECKPOINT]] [--amp]
                          [--data-root ROOT] [--eval-split SPLIT] [--cfg-options k=v ...]
                          [--launcher {none,pytorch,slurm,mpi}]

Logs, the config dump and checkpoints go to the work dir
(./work_dirs/CONFIG_NAME by default).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import ropevit_mm  # noqa: E402,F401  (registers modules and weights-only loading)
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from ropevit_mm.checkpoint import find_resumable_checkpoint  # noqa: E402
from ropevit_mm.utils.runner import add_common_arguments, enable_amp, load_config  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model with mmengine\'s Runner')
    parser.add_argument('config', help='config file')
    parser.add_argument('--resume', nargs='?', const='auto', default=None, metavar='CHECKPOINT',
                        help='resume from CHECKPOINT, or from the newest readable checkpoint in the work dir '
                        'when no path is given (unreadable ones are skipped with a warning)')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (bfloat16 on CPU)')
    add_common_arguments(parser)
    return parser.parse_args(argv)


def build_runner(args) -> Runner:
    cfg = load_config(args)
    if args.amp:
        enable_amp(cfg)
    if args.resume == 'auto':
        # mmengine's auto-resume trusts the last_checkpoint pointer; this
        # skips unreadable files and takes the newest checkpoint that loads.
        cfg.resume = True
        cfg.load_from = find_resumable_checkpoint(cfg.work_dir)
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def main(argv=None) -> Runner:
    runner = build_runner(parse_args(argv))
    runner.train()
    return runner


if __name__ == '__main__':
    main()
