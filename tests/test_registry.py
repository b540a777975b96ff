"""Plugin modules build under the mmdet and mmseg scopes, in any order."""
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope, init_default_scope

from ropevit_mm.utils import PLUGIN_IMPORT_LINE, check_plugin_imports

pytest.importorskip('mmdet', reason='mmdet is installed by `make test`')
pytest.importorskip('mmseg', reason='mmsegmentation is installed by `make test`')

TINY = dict(patch_size=14, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64)


def plugin_configs():
    """One config per plugin model type."""
    return [
        dict(type='RoPEViT', arch=TINY),
        dict(type='SimpleFeaturePyramid', in_channels=32, out_channels=16, scale_factors=(2.0, 1.0, 0.5)),
    ]


def build_in_scope(scope):
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmseg.registry import MODELS
    init_default_scope(scope)
    with DefaultScope.overwrite_default_scope(scope):
        return [MODELS.build(cfg) for cfg in plugin_configs()]


def test_builds_in_both_scopes_in_one_process():
    cfg = Config(dict(custom_imports=dict(imports=['ropevit_mm'], allow_failed_imports=False)))
    from mmengine.utils import import_modules_from_strings
    import_modules_from_strings(**cfg.custom_imports)
    for scope in ('mmdet', 'mmseg', 'mmdet'):
        built = build_in_scope(scope)
        assert [type(module).__name__ for module in built] == ['RoPEViT', 'SimpleFeaturePyramid']


def test_mmdet_and_mmseg_components_resolve_to_their_scope():
    """After importing both stacks, each scope still builds its own transforms and heads."""
    from mmdet.registry import TRANSFORMS as DET_TRANSFORMS
    from mmseg.registry import TRANSFORMS as SEG_TRANSFORMS
    with DefaultScope.overwrite_default_scope('mmseg'):
        seg = SEG_TRANSFORMS.build(dict(type='PackSegInputs'))
    with DefaultScope.overwrite_default_scope('mmdet'):
        det = DET_TRANSFORMS.build(dict(type='PackDetInputs'))
    assert type(seg).__module__.startswith('mmseg.')
    assert type(det).__module__.startswith('mmdet.')


def test_missing_import_names_the_line():
    cfg = Config(dict(model=dict(type='MaskRCNN', backbone=dict(type='RoPEViT', arch='rope_vit_reg4_b14'))))
    with pytest.raises(KeyError) as error:
        check_plugin_imports(cfg)
    assert 'RoPEViT' in str(error.value)
    assert PLUGIN_IMPORT_LINE in str(error.value)


def test_config_with_import_passes_check():
    cfg = Config(dict(custom_imports=dict(imports=['ropevit_mm'], allow_failed_imports=False),
                      model=dict(type='MaskRCNN', backbone=dict(type='RoPEViT'))))
    check_plugin_imports(cfg)


def test_config_without_plugin_types_passes_check():
    check_plugin_imports(Config(dict(model=dict(type='MaskRCNN', backbone=dict(type='ResNet')))))
