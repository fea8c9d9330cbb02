"""Install mmseg_redo, the ReDO plugin for MMSegmentation 1.x."""
from pathlib import Path

from setuptools import find_packages, setup


def read_requirements(name: str) -> list:
    """Return the requirement lines of ``name``, without comments."""
    lines = Path(__file__).with_name(name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]


setup(
    name='mmseg_redo',
    version='0.1.0',
    description='ReDO (unsupervised object segmentation by redrawing) for '
    'MMSegmentation 1.x',
    long_description=Path(__file__).with_name('README.md').read_text()
    if Path(__file__).with_name('README.md').exists() else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmseg_redo', 'mmseg_redo.*']),
    # Files read at run time, not Python: the review page's template.
    package_data={'mmseg_redo.visualization': ['templates/*.html']},
    python_requires='>=3.9',
    install_requires=read_requirements('requirements.txt') + ['mmcv==2.1.0'],
    license='MIT',
)
