#!/usr/bin/env bash
# Download, where PyPI is reachable, what tools/gpu_check.sh installs on a GPU
# machine that has Python 3.12 and PyTorch but no internet: the OpenMMLab
# packages and the few they need that such images lack, as cp312 wheels, and
# mmcv's source (compiled there). Usage: bash tools/fetch_gpu_wheels.sh [DIR]
# PYTHON must be an env where mmcv's setup.py runs (torch, setuptools<81):
# pip prepares the sdist's metadata even to download it. Default: .venv.
set -euo pipefail
DEST=${1:-.whl}
PY=${PYTHON:-.venv/bin/python}
mkdir -p "$DEST"
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64 --platform any)
for pkg in mmengine==0.10.7 mmsegmentation==1.2.2 addict yapf termcolor \
           prettytable wcwidth ftfy platformdirs 'setuptools>=77,<81'; do
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp "${PLATFORMS[@]}" -d "$DEST" "$pkg"
done
# setuptools<81 above: mmcv's build (and mmengine's config paths) import
# pkg_resources, which newer setuptools removed.
"$PY" -m pip download -q --no-deps --no-binary=:all: --no-build-isolation \
  -d "$DEST" mmcv==2.1.0
ls -1 "$DEST"
