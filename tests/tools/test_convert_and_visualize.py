"""tools/convert_birder_checkpoint.py and tools/visualize_features.py."""
import numpy as np
import pytest
import torch
from PIL import Image

from ropevit_mm.checkpoint import CheckpointError, load_weights_only
from ropevit_mm.models.backbones import RoPEViT

from ..birder_reference import build_birder, save_birder_pt

ARCH = 'rope_vit_reg1_t14'


@pytest.fixture
def birder_file(tmp_path, monkeypatch):
    torch.manual_seed(4)
    net = build_birder(ARCH, num_classes=5)
    return save_birder_pt(net, ARCH, tmp_path, monkeypatch), net


def test_convert_writes_loadable_mmengine_checkpoint(tool, birder_file, tmp_path, capsys):
    src, net = birder_file
    dst = tmp_path / 'converted.pth'
    assert tool('convert_birder_checkpoint').main([src, str(dst)]) == 0
    out = capsys.readouterr().out
    assert 'arch rope_vit_reg1_t14' in out
    assert 'mean=[132.3705, 135.303, 124.3635],' in out
    assert 'std=[59.058, 58.752, 65.994],' in out

    checkpoint = load_weights_only(dst)
    assert checkpoint['meta']['arch'] == ARCH
    assert all(key.startswith('backbone.') for key in checkpoint['state_dict'])
    assert not any('classifier' in key for key in checkpoint['state_dict'])
    model = RoPEViT(arch=ARCH, init_cfg=dict(type='Pretrained', checkpoint=str(dst)))
    model.init_weights()
    assert model.pos_embedding.equal(net.pos_embedding)
    assert not list(tmp_path.glob('.converted.pth.*'))


def test_convert_rejects_unknown_shapes(tool, tmp_path):
    model = RoPEViT(arch=dict(patch_size=14, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64))
    src = tmp_path / 'odd.pth'
    torch.save(model.state_dict(), src)
    with pytest.raises(CheckpointError, match='no known arch has patch 14, width 32, 2 blocks'):
        tool('convert_birder_checkpoint').main([str(src), str(tmp_path / 'out.pth')])


def test_visualize_writes_side_by_side_png(tool, birder_file, tmp_path):
    src, _ = birder_file
    image = tmp_path / 'image.png'
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (45, 61, 3), dtype=np.uint8)).save(image)
    outputs = []
    for index in range(2):
        out = tmp_path / f'features{index}.png'
        assert tool('visualize_features').main([str(image), '--checkpoint', src, '--arch', ARCH,
                                                '--out', str(out)]) == 0
        with Image.open(out) as result:
            assert result.size == (122, 45)
            assert result.mode == 'RGB'
            outputs.append(np.asarray(result))
    assert np.array_equal(outputs[0], outputs[1])
    assert np.array_equal(outputs[0][:, :61], np.asarray(Image.open(image).convert('RGB')))
