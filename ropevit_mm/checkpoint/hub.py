"""Fetching published Birder weights from the Hugging Face hub, verified by sha256."""
import hashlib
import os
import shutil
import tempfile
from typing import Dict

from mmengine.logging import print_log

# Published weights: hub repository, file name and sha256 of the file.
PRETRAINED_WEIGHTS: Dict[str, dict] = {
    'rope_vit_reg4_b14_capi': dict(
        arch='rope_vit_reg4_b14',
        repo_id='birder-project/rope_vit_reg4_b14_capi',
        filename='rope_vit_reg4_b14_capi.pt',
        sha256='175378d81734649567bfe82aac9557f9b0bf48dbd562f26e338b1958fa057472',
        size_mb=327,
    ),
}


def weights_dir() -> str:
    """Folder for verified weights: ``$ROPEVIT_WEIGHTS_DIR`` or ``~/.cache/ropevit_mm/weights``."""
    default = os.path.join(os.path.expanduser('~'), '.cache', 'ropevit_mm', 'weights')
    return os.environ.get('ROPEVIT_WEIGHTS_DIR', default)


def sha256_of(path: str, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b''):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_pretrained(name: str) -> str:
    """Return a local, sha256-verified file of the published weights ``name``.

    Looks in ``weights_dir()`` first. Otherwise downloads through
    ``huggingface_hub`` into a temporary file in that folder, checks the
    sha256, and only then renames it to its final name, so an interrupted
    or corrupted download never appears under that name.

    Raises:
        KeyError: for an unknown name.
        RuntimeError: when the download fails (offline, say) or the file
            does not have the expected sha256. The message names the file
            to fetch by hand and where to put it.
    """
    if name not in PRETRAINED_WEIGHTS:
        raise KeyError(f"Unknown pretrained weights '{name}'; known: {', '.join(sorted(PRETRAINED_WEIGHTS))}")
    spec = PRETRAINED_WEIGHTS[name]
    folder = weights_dir()
    target = os.path.join(folder, spec['filename'])
    manual = (f"Download {spec['filename']} ({spec['size_mb']} MB, sha256 {spec['sha256']}) from the "
              f"Hugging Face model repository {spec['repo_id']} and put it at {target} "
              '(or set ROPEVIT_WEIGHTS_DIR to its folder)')

    if os.path.isfile(target):
        digest = sha256_of(target)
        if digest != spec['sha256']:
            raise RuntimeError(f'{target} has sha256 {digest}, expected {spec["sha256"]}. '
                               f'Delete it and retry. {manual}')
        return target

    os.makedirs(folder, exist_ok=True)
    staging = tempfile.mkdtemp(prefix='.download-', dir=folder)
    try:
        try:
            from huggingface_hub import hf_hub_download
            print_log(f"Downloading {spec['filename']} from {spec['repo_id']}", logger='current')
            downloaded = hf_hub_download(repo_id=spec['repo_id'], filename=spec['filename'], local_dir=staging)
        except Exception as error:  # noqa: BLE001 - any hub or network failure gets the same advice
            raise RuntimeError(f'Could not download {name}: {type(error).__name__}: {error}. {manual}') from error
        digest = sha256_of(downloaded)
        if digest != spec['sha256']:
            raise RuntimeError(f"Downloaded {spec['filename']} has sha256 {digest}, expected "
                               f"{spec['sha256']}; the file was discarded. {manual}")
        os.replace(downloaded, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print_log(f'Verified {target} (sha256 {spec["sha256"][:12]}...)', logger='current')
    return target
