"""Show what the backbone encodes: an image next to a PCA of its ``neck`` map.

Usage:
    python tools/visualize_features.py IMAGE --checkpoint CKPT --out PNG [--arch NAME] [--rope-mode MODE]

The first three principal components of the patch features become the red,
green and blue channels, upsampled to the image's own size (nearest
neighbour, so each patch stays a visible square). Randomly initialised
weights give noise; use trained weights.
"""
import argparse
import sys

import numpy as np
import torch
from PIL import Image, ImageOps

import ropevit_mm  # noqa: F401
from ropevit_mm.checkpoint import load_backbone_checkpoint, rgb_stats_from_metadata
from ropevit_mm.checkpoint.convert import DEFAULT_RGB_STATS
from ropevit_mm.models.backbones import RoPEViT


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('image', help='input image file')
    parser.add_argument('--checkpoint', help='backbone weights (Birder .pt/.safetensors, mmengine or a published '
                        'name); random weights when omitted')
    parser.add_argument('--arch', default='rope_vit_reg4_b14', help='Birder arch name (default: %(default)s)')
    parser.add_argument('--rope-mode', default='interpolate', choices=('extrapolate', 'interpolate'),
                        help='RoPE coordinates for a size other than the pretraining size; frozen features '
                        'follow the model authors\' advice of interpolation (default: %(default)s)')
    parser.add_argument('--out', required=True, help='output PNG')
    return parser.parse_args(argv)


def pca_rgb(features: torch.Tensor) -> np.ndarray:
    """Map a (C, h, w) feature map to an (h, w, 3) uint8 image of its first 3 principal components."""
    channels, height, width = features.shape
    flat = features.reshape(channels, -1).T.double()
    flat = flat - flat.mean(0, keepdim=True)
    # Right singular vectors are the principal axes of the centred features.
    _, _, v = torch.linalg.svd(flat, full_matrices=False)
    components = flat @ v[:3].T
    # Fixing each component's sign makes the colours deterministic.
    signs = torch.sign(components.sum(0))
    components = components * torch.where(signs == 0, torch.ones_like(signs), signs)
    low = components.quantile(0.01, dim=0)
    high = components.quantile(0.99, dim=0)
    scaled = ((components - low) / (high - low).clamp_min(1e-12)).clamp(0, 1)
    return (scaled.reshape(height, width, 3).numpy() * 255).round().astype(np.uint8)


def visualize(image: Image.Image, model: RoPEViT, rgb_stats: dict) -> Image.Image:
    """Return the image and its feature PCA side by side, both at the image's size."""
    image = ImageOps.exif_transpose(image).convert('RGB')
    array = np.asarray(image, dtype=np.float32) / 255.0
    mean = np.asarray(rgb_stats['mean'], dtype=np.float32)
    std = np.asarray(rgb_stats['std'], dtype=np.float32)
    x = torch.from_numpy((array - mean) / std).permute(2, 0, 1).unsqueeze(0)
    with torch.inference_mode():
        features = model.eval().detection_features(x)['neck'][0]
    pca = Image.fromarray(pca_rgb(features))
    # The map covers the image padded to whole patches: crop that padding off.
    patch = model.patch_size
    pca = pca.resize((features.shape[2] * patch, features.shape[1] * patch), Image.NEAREST)
    pca = pca.crop((0, 0, image.width, image.height))
    canvas = Image.new('RGB', (image.width * 2, image.height))
    canvas.paste(image, (0, 0))
    canvas.paste(pca, (image.width, 0))
    return canvas


def main(argv=None) -> int:
    args = parse_args(argv)
    model = RoPEViT(arch=args.arch, rope_mode=args.rope_mode)
    rgb_stats = DEFAULT_RGB_STATS
    if args.checkpoint:
        metadata = load_backbone_checkpoint(model, args.checkpoint)
        rgb_stats = rgb_stats_from_metadata(metadata) or DEFAULT_RGB_STATS
    else:
        print('warning: no --checkpoint given; random weights show no structure', file=sys.stderr)
    with Image.open(args.image) as image:
        canvas = visualize(image, model, rgb_stats)
    canvas.save(args.out)
    print(f'Wrote {args.out} ({canvas.width}x{canvas.height})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
