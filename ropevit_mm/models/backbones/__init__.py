from .rope_vit import RoPEViT
from .rope_vit_archs import ARCH_SETTINGS

__all__ = ['ARCH_SETTINGS', 'RoPEViT']
