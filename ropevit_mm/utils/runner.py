"""Config preparation shared by tools/train.py, tools/test.py and the demo."""
import argparse
import logging
import os
import uuid
from typing import Optional

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from .config import set_data_root
from .plugin_check import check_plugin_imports


def add_common_arguments(parser) -> None:
    """Add the options that training and testing share."""
    parser.add_argument('--work-dir', help='folder for logs and checkpoints (default: ./work_dirs/CONFIG_NAME)')
    parser.add_argument('--data-root', help='COCO-layout root that replaces the data_root of every dataset '
                        'and evaluator in the config')
    parser.add_argument('--eval-split', help='split to validate and test on instead of val2017, for example '
                        'train2017 when the root has no val2017')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, as key=value pairs (mmengine DictAction syntax)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='distributed launcher (default: %(default)s)')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0, help=argparse.SUPPRESS)


def load_config(args, config_path: Optional[str] = None) -> Config:
    """Read the config and apply the shared command-line options."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = Config.fromfile(config_path or args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    check_plugin_imports(cfg)

    if args.data_root or args.eval_split:
        data_root = args.data_root or cfg.get('data_root')
        if args.data_root and not os.path.isdir(args.data_root):
            raise FileNotFoundError(f'--data-root {args.data_root} is not a folder')
        set_data_root(cfg, data_root, val_split=args.eval_split)

    if args.launcher == 'pytorch':
        init_cpu_distributed(cfg)

    visualizer = cfg.get('visualizer')
    if isinstance(visualizer, dict) and visualizer.get('name', 'visualizer') == 'visualizer':
        # mmdet's and mmseg's default_runtime name every visualizer 'visualizer',
        # and mmengine reuses an existing instance of that name, so a second run
        # in one process (tests, notebooks) would draw with the first run's
        # visualizer, possibly an mmseg one. A unique name gives each run its own.
        visualizer['name'] = f'visualizer_{uuid.uuid4().hex[:12]}'

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        name = os.path.splitext(os.path.basename(config_path or args.config))[0]
        cfg.work_dir = os.path.join('./work_dirs', name)
    return cfg


def enable_amp(cfg: Config) -> None:
    """Switch the optimizer wrapper to mixed precision: float16 on CUDA, bfloat16 elsewhere.

    Uses ``AnyDeviceAmpOptimWrapper``, which is mmengine's ``AmpOptimWrapper``
    on GPUs and also trains in bfloat16 on CPU-only machines.
    """
    import torch
    optim_wrapper = cfg.optim_wrapper
    if optim_wrapper.get('type', 'OptimWrapper') in ('AmpOptimWrapper', 'AnyDeviceAmpOptimWrapper'):
        print_log('AMP is already enabled in the config', logger='current', level=logging.WARNING)
        return
    optim_wrapper.type = 'AnyDeviceAmpOptimWrapper'
    if torch.cuda.is_available():
        optim_wrapper.loss_scale = 'dynamic'
    else:
        optim_wrapper.dtype = 'bfloat16'


def init_cpu_distributed(cfg: Config) -> None:
    """Start a gloo process group for torchrun on a machine without CUDA.

    mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` before
    creating the group, which fails without a GPU. The Runner skips its own
    initialisation when a group already exists, so creating it here lets CPU
    training run distributed. mmengine also passes ``device_ids=[LOCAL_RANK]``
    to DistributedDataParallel, which CPU modules reject, so the wrapper
    config sets ``device_ids=None``. With CUDA available this does nothing.
    """
    import torch
    import torch.distributed as dist
    if torch.cuda.is_available() or dist.is_initialized():
        return
    backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend', 'gloo')
    if backend == 'nccl':
        print_log('NCCL needs CUDA, which is not available; using the gloo backend', logger='current',
                  level=logging.WARNING)
        backend = 'gloo'
    dist.init_process_group(backend=backend)
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
