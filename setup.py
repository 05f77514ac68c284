# Copyright (c) mlcl_plugin authors. All rights reserved.
"""Install mlcl_plugin: ``pip install -e .`` (add ``[tests]`` for the test suite)."""
import os.path as osp

from setuptools import find_packages, setup


def get_version():
    namespace = {}
    with open(osp.join(osp.dirname(__file__), 'mlcl_plugin', 'version.py')) as f:
        exec(compile(f.read(), 'version.py', 'exec'), namespace)
    return namespace['__version__']


def readme():
    with open(osp.join(osp.dirname(__file__), 'README.md'), encoding='utf-8') as f:
        return f.read()


# Ranges a real user can live with. The tested, pinned set lives in requirements.txt.
# numpy 2 is supported through mlcl_plugin.compat (mmcv adjust_hue and np.in1d fixes).
install_requires = [
    'torch>=2.1',
    'torchvision>=0.16',
    'mmengine>=0.10.3,<1.0',
    'mmcv-lite>=2.0.0,<2.4.0',  # mmpretrain asserts mmcv < 2.4; lite = no compiled ops needed
    'mmpretrain>=1.2.0,<1.3',
    'pycocotools>=2.0.6',
    'numpy>=1.24',
    'scikit-learn>=1.2',
    'matplotlib>=3.5',  # the figures of mlcl_plugin.analysis and tools/visualization
    # mmengine.utils.is_installed (used by `mmpretrain::` config bases) imports
    # pkg_resources, which setuptools >= 82 no longer ships.
    'setuptools>=61,<82',
]

extras_require = {
    'lightly': ['lightly>=1.5.0'],
    'hdf5': ['h5py>=3.8'],  # HDF5 vector sets (the MulSupCon authors' files); NPZ needs nothing
    'tests': [
        'lightly>=1.5.0', 'h5py>=3.8', 'pytest>=7', 'pytest-cov', 'pytest-xdist>=3',
        'ruff==0.17.6'
    ],
}

setup(
    name='mlcl_plugin',
    version=get_version(),
    description='Multi-label contrastive representation learning for mmpretrain 1.x',
    long_description=readme(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'tests.*')),
    python_requires='>=3.9',
    install_requires=install_requires,
    extras_require=extras_require,
    classifiers=[
        'License :: OSI Approved :: Apache Software License',
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
    zip_safe=False,
)
