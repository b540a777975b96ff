"""Packaging for ropevit_mm, a plugin that adds Birder's RoPE ViT to OpenMMLab."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent


def read_requirements(name):
    """Return the requirement lines of requirements/NAME, without comments."""
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith('#')]


def read_version():
    namespace = {}
    exec((HERE / 'ropevit_mm' / 'version.py').read_text(), namespace)
    return namespace['__version__']


setup(
    name='ropevit_mm',
    version=read_version(),
    description="Birder's RoPE Vision Transformer as an MMDetection and MMSegmentation backbone",
    long_description=(HERE / 'README.md').read_text() if (HERE / 'README.md').exists() else '',
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(include=['ropevit_mm', 'ropevit_mm.*']),
    install_requires=read_requirements('runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt')},
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
