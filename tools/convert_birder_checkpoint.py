"""Convert a Birder RoPE ViT checkpoint into an mmengine checkpoint for ``load_from``.

Usage:
    python tools/convert_birder_checkpoint.py SRC DST [--arch NAME]

SRC may be a Birder ``.pt`` or ``.safetensors`` file, a plain state dict, or a
published weights name such as ``rope_vit_reg4_b14_capi``. DST gets
``state_dict`` with ``backbone.`` keys and ``meta`` with the arch and rgb
statistics. The written file is loaded back into a ``RoPEViT`` to verify it.
"""
import argparse
import sys

import torch

import ropevit_mm  # noqa: F401
from ropevit_mm.checkpoint import adapt_state_dict, load_backbone_checkpoint, load_checkpoint_state
from ropevit_mm.checkpoint.convert import (DEFAULT_RGB_STATS, build_mmengine_checkpoint, data_preprocessor_lines,
                                           infer_arch, save_atomically)
from ropevit_mm.models.backbones import RoPEViT


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='Birder .pt/.safetensors file, plain state dict, or published weights name')
    parser.add_argument('dst', help='output mmengine checkpoint (.pth)')
    parser.add_argument('--arch', help='Birder arch name; inferred from the tensor shapes when omitted')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    state_dict, metadata = load_checkpoint_state(args.src)
    arch = args.arch or infer_arch(state_dict)
    model = RoPEViT(arch=arch)
    state_dict = adapt_state_dict(model, state_dict, metadata, args.src)
    model.load_state_dict(state_dict, strict=True)

    checkpoint = build_mmengine_checkpoint(model.state_dict(), metadata, arch, source=args.src)
    save_atomically(checkpoint, args.dst)

    # Verify: the written file loads back strictly and gives identical tensors.
    check = RoPEViT(arch=arch)
    load_backbone_checkpoint(check, args.dst, strict=True)
    for key, value in model.state_dict().items():
        if not torch.equal(check.state_dict()[key], value):
            print(f'error: verification failed at {key}', file=sys.stderr)
            return 1

    stats = metadata.get('rgb_stats')
    source_note = 'from the checkpoint' if stats else "Birder's default, the checkpoint records none"
    stats = stats or DEFAULT_RGB_STATS
    print(f'Wrote {args.dst}: arch {arch}, {len(checkpoint["state_dict"])} tensors, verified by loading it back')
    print(f'rgb_stats ({source_note}), 0-1 scale: mean {stats["mean"]}, std {stats["std"]}')
    print('data_preprocessor lines for the config (0-255 scale):')
    print(data_preprocessor_lines(stats))
    return 0


if __name__ == '__main__':
    sys.exit(main())
