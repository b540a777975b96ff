"""Helpers that build Birder reference networks and write Birder checkpoint files."""
import pytest

birder = pytest.importorskip('birder', reason='birder==0.8.4 is the reference implementation; '
                             'install it with `make test` or `pip install -e .[tests]`')

from birder.common import fs_ops  # noqa: E402
from birder.conf import settings  # noqa: E402
from birder.model_registry import registry  # noqa: E402
from birder.net.base import get_signature  # noqa: E402

BIRDER_RGB_STATS = {'mean': [0.5191, 0.5306, 0.4877], 'std': [0.2316, 0.2304, 0.2588]}


def build_birder(arch, size=224, pt_grid_size=None, num_classes=0):
    """Build a Birder network in dynamic-size mode and eval mode."""
    config = {'pt_grid_size': pt_grid_size} if pt_grid_size is not None else None
    net = registry.net_factory(arch, num_classes, size=(size, size), config=config)
    net.set_dynamic_size()
    return net.eval()


def save_birder_pt(net, arch, folder, monkeypatch, size=224):
    """Write ``net`` with Birder's own checkpoint writer and return the file path."""
    monkeypatch.setattr(settings, 'MODELS_DIR', folder)
    signature = get_signature((1, 3, size, size), net.num_classes)
    fs_ops.checkpoint_model(arch, 0, net, signature, {}, BIRDER_RGB_STATS, None, None, None, None)
    return str(fs_ops.model_path(arch, epoch=0))


def save_birder_safetensors(net, path, size=224):
    signature = get_signature((1, 3, size, size), net.num_classes)
    fs_ops.save_st(net, str(path), net.task, {}, signature, BIRDER_RGB_STATS)
    return str(path)
