"""Architectures of Birder's plain ``rope_vit`` family, by Birder network name.

Each entry uses Birder's config fields: ``patch_size``, ``num_layers``,
``num_heads``, ``hidden_dim``, ``mlp_dim``, ``num_reg_tokens`` and
``drop_path_rate`` (the default stochastic depth at the last block). Values
are those of Birder 0.8.4 (``birder/net/_vit_configs.py`` and
``birder/net/_rope_vit_configs.py``). Variants with other layers (SwiGLU,
RMSNorm, attention pooling, no class token) are not included.
"""
from typing import Dict, Union

_WIDTHS = {
    't': dict(num_layers=12, num_heads=3, hidden_dim=192, mlp_dim=768, drop_path_rate=0.0),
    's': dict(num_layers=12, num_heads=6, hidden_dim=384, mlp_dim=1536, drop_path_rate=0.0),
    'm': dict(num_layers=12, num_heads=8, hidden_dim=512, mlp_dim=2048, drop_path_rate=0.0),
    'b': dict(num_layers=12, num_heads=12, hidden_dim=768, mlp_dim=3072, drop_path_rate=0.1),
    'l': dict(num_layers=24, num_heads=16, hidden_dim=1024, mlp_dim=4096, drop_path_rate=0.1),
    'h': dict(num_layers=32, num_heads=16, hidden_dim=1280, mlp_dim=5120, drop_path_rate=0.1),
}

# Register-token counts that Birder registers for each width.
_REGISTER_VARIANTS = {'t': (0, 1), 's': (0, 1), 'm': (0, 4), 'b': (0, 4), 'l': (0, 4), 'h': (0, 4)}

CONFIG_FIELDS = ('patch_size', 'num_layers', 'num_heads', 'hidden_dim', 'mlp_dim',
                 'num_reg_tokens', 'drop_path_rate')


def _build_arch_table() -> Dict[str, dict]:
    table = {}
    for width, settings in _WIDTHS.items():
        for num_reg in _REGISTER_VARIANTS[width]:
            for patch in (14, 16, 32):
                if width == 'h' and patch == 32:
                    continue  # Birder registers no ViT-H/32.
                reg = f'reg{num_reg}_' if num_reg else ''
                name = f'rope_vit_{reg}{width}{patch}'
                arch = dict(settings, patch_size=patch, num_reg_tokens=num_reg)
                if width == 'b' and patch == 32:
                    # Birder sets no stochastic depth for the ViT-B/32 variants.
                    arch['drop_path_rate'] = 0.0
                table[name] = arch
    return table


ARCH_SETTINGS: Dict[str, dict] = _build_arch_table()


def resolve_arch(arch: Union[str, dict]) -> dict:
    """Return a copy of the architecture settings for a name or a dict.

    Raises:
        ValueError: for an unknown name, listing the valid ones, or a dict
            with missing or unknown fields.
    """
    if isinstance(arch, str):
        if arch not in ARCH_SETTINGS:
            raise ValueError(f"Unknown arch '{arch}'. Valid names: {', '.join(sorted(ARCH_SETTINGS))}, "
                             f'or a dict with the fields {", ".join(CONFIG_FIELDS)}')
        return dict(ARCH_SETTINGS[arch])

    if not isinstance(arch, dict):
        raise TypeError(f'arch must be a Birder network name or a dict, got {type(arch).__name__}')
    arch = dict(arch)
    arch.setdefault('num_reg_tokens', 0)
    arch.setdefault('drop_path_rate', 0.0)
    missing = [field for field in CONFIG_FIELDS if field not in arch]
    unknown = [field for field in arch if field not in CONFIG_FIELDS]
    if missing or unknown:
        raise ValueError(f'Invalid arch dict: missing fields {missing}, unknown fields {unknown}; '
                         f'expected {", ".join(CONFIG_FIELDS)}')
    if arch['hidden_dim'] % arch['num_heads'] != 0:
        raise ValueError(f"arch hidden_dim {arch['hidden_dim']} is not divisible by "
                         f"num_heads {arch['num_heads']}")
    if (arch['hidden_dim'] // arch['num_heads']) % 4 != 0:
        raise ValueError(f"arch head dimension {arch['hidden_dim'] // arch['num_heads']} is not "
                         'divisible by 4, which 2D RoPE requires')
    return arch
