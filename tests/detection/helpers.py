"""Config helpers for detection tests: small backbones and fast schedules."""
import os

from mmengine.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG_DIR = os.path.join(ROOT, 'configs')
TINY_ARCH = dict(patch_size=14, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_reg_tokens=4)


def config_path(name):
    return os.path.join(CONFIG_DIR, name)


def load_detection_config(name):
    return Config.fromfile(config_path(name))


def shrink_backbone(cfg, arch=None):
    """Swap the backbone for a tiny random one, so a forward pass is cheap."""
    cfg.model.backbone.arch = dict(arch or TINY_ARCH)
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.with_cp = False
    cfg.model.neck.in_channels = cfg.model.backbone.arch['hidden_dim']
    return cfg


def cpu_schedule(cfg, work_dir, max_iters, data_root=None, eval_split=None, val_images=None):
    """Adapt a config to a short CPU run in ``work_dir``."""
    from ropevit_mm.utils import set_data_root
    cfg.work_dir = str(work_dir)
    if data_root is not None:
        set_data_root(cfg, data_root, val_split=eval_split)
    cfg.optim_wrapper.type = 'OptimWrapper'
    cfg.optim_wrapper.pop('dtype', None)
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=max_iters)]
    cfg.default_hooks.checkpoint.interval = max_iters
    cfg.default_hooks.logger.interval = 1
    for loader in (cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader):
        loader.num_workers = 0
        loader.persistent_workers = False
    if val_images is not None:
        cfg.val_dataloader.dataset.indices = val_images
        cfg.test_dataloader = cfg.val_dataloader
    return cfg


def set_image_size(cfg, size):
    """Replace the square training and test size of a detection config."""
    size = (size, size)
    for step in cfg.train_dataloader.dataset.pipeline:
        if step.type in ('RandomResize', 'Resize'):
            step.scale = size
        if step.type == 'RandomCrop':
            step.crop_size = size
    for step in cfg.val_dataloader.dataset.pipeline:
        if step.type == 'Resize':
            step.scale = size
    cfg.test_dataloader = cfg.val_dataloader
    augments = cfg.model.data_preprocessor.get('batch_augments')
    if augments:
        for augment in augments:
            augment.size = size
    return cfg
