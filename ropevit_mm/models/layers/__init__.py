from .norm import LayerNorm2d
from .rope import RotaryEmbedding2D, build_rope_tables

__all__ = ['LayerNorm2d', 'RotaryEmbedding2D', 'build_rope_tables']
