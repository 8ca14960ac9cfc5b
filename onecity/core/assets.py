"""Copy the front-end assets installed by npm (`npm ci`) into onecity/static/vendor/ (files the
browser loads) and onecity/core/icons/ (Tabler SVGs that `{% icon %}` inlines server-side: kept
out of the static files so WhiteNoise and collectstatic don't handle 5,000 files nobody requests).

    python -m onecity.core.assets            # what `make assets` runs after `npm ci`

Idempotent and quick: a file is copied only when it is missing or its content differs; files that no longer come from npm are removed. Nothing is fetched from the network here —
npm already did that from the registry, pinned by package-lock.json. Prints one line.
"""

from __future__ import annotations

import filecmp
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]          # onecity/
PROJECT_DIR = PACKAGE_DIR.parent
NODE_MODULES = PROJECT_DIR / "node_modules"
VENDOR_DIR = PACKAGE_DIR / "static" / "vendor"
ICONS_DIR = PACKAGE_DIR / "core" / "icons"

# (npm package, file or directory inside it, destination inside vendor/ — or "icons:" for icons/)
ASSETS: tuple[tuple[str, str, str], ...] = (
    ("htmx.org", "dist/htmx.min.js", "htmx.min.js"),
    ("htmx.org", "LICENSE", "licenses/htmx.org.txt"),
    ("echarts", "dist/echarts.min.js", "echarts.min.js"),
    ("echarts", "LICENSE", "licenses/echarts.txt"),
    ("echarts", "NOTICE", "licenses/echarts-NOTICE.txt"),
    ("@tabler/icons", "icons/outline", "icons:outline"),
    ("@tabler/icons", "LICENSE", "licenses/tabler-icons.txt"),
)


@dataclass
class Report:
    copied: int = 0
    unchanged: int = 0
    removed: int = 0
    versions: dict[str, str] = field(default_factory=dict)
    icons: int = 0


class AssetError(RuntimeError):
    pass


def _same(src: Path, dst: Path) -> bool:
    if not dst.exists():
        return False
    a, b = src.stat(), dst.stat()
    if a.st_size != b.st_size:
        return False
    # `npm ci` re-extracts packages with new times: compare the bytes before rewriting anything.
    return int(a.st_mtime) == int(b.st_mtime) or filecmp.cmp(src, dst, shallow=False)


def _copy_file(src: Path, dst: Path, report: Report) -> None:
    if _same(src, dst):
        report.unchanged += 1
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.copy2(src, tmp)
    tmp.replace(dst)
    report.copied += 1


def _sync_dir(src: Path, dst: Path, report: Report) -> int:
    wanted = {p.relative_to(src) for p in src.rglob("*") if p.is_file()}
    for rel in sorted(wanted):
        _copy_file(src / rel, dst / rel, report)
    if dst.exists():
        for stale in [p for p in dst.rglob("*") if p.is_file() and p.relative_to(dst) not in wanted]:
            stale.unlink()
            report.removed += 1
    return len(wanted)


def package_version(package: str, node_modules: Path = NODE_MODULES) -> str:
    manifest = node_modules / package / "package.json"
    if not manifest.exists():
        raise AssetError(f"{package} is not installed in {node_modules}: run `npm ci` first (make assets).")
    return json.loads(manifest.read_text(encoding="utf-8"))["version"]


def build(node_modules: Path = NODE_MODULES, vendor_dir: Path = VENDOR_DIR, icons_dir: Path = ICONS_DIR) -> Report:
    report = Report()
    for package, source, target in ASSETS:
        report.versions.setdefault(package, package_version(package, node_modules))
        src = node_modules / package / source
        dst = icons_dir / target.removeprefix("icons:") if target.startswith("icons:") else vendor_dir / target
        if src.is_dir():
            count = _sync_dir(src, dst, report)
            if package == "@tabler/icons":
                report.icons = count
        elif src.is_file():
            _copy_file(src, dst, report)
        else:
            raise AssetError(f"{package} {report.versions[package]} has no {source}; check the pinned version.")
    return report


def main() -> int:
    try:
        report = build()
    except AssetError as exc:
        print(f"assets: {exc}", file=sys.stderr)
        return 1
    versions = ", ".join(f"{name} {version}" for name, version in report.versions.items())
    print(
        f"assets: {versions} ({report.icons} icons) -> {VENDOR_DIR.relative_to(PROJECT_DIR)}: "
        f"{report.copied} copied, {report.unchanged} unchanged, {report.removed} removed"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
