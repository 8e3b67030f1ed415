"""`python -m harness.screenshot --out docs/img/status-page.png`: a screenshot of the status page
from a real run: `llmhealth run` with the built-in demo on ephemeral ports with its data in a
temporary directory, `--minutes` of probing (so that the sparklines have points), then headless
Chromium (harness/browser.py) shoots the whole page at a laptop's width. Everything it started is
stopped at the end."""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

from PIL import Image

from harness.browser import launch
from harness.pipeline import running_pipeline
from harness.status_page import page_site, wait_for_statuses

OUT = Path(__file__).resolve().parent.parent / "docs" / "img" / "status-page.png"
FIRST_STATUSES_S = 90.0


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m harness.screenshot", description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT, help=f"the PNG to write (default {OUT})")
    parser.add_argument("--minutes", type=float, default=3.0,
                        help="how long the demo runs before the shot (default 3)")
    parser.add_argument("--width", type=int, default=1366, help="viewport width in px (default 1366)")
    parser.add_argument("--scheme", choices=("light", "dark"), default="light",
                        help="prefers-color-scheme of the shot (default light)")
    return parser.parse_args(argv)


def shoot(url: str, out: Path, width: int, scheme: str) -> None:
    """The page at `url`, once its rows and series are drawn, into `out` (PNG, whole page)."""
    with launch() as browser:
        page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme,
                                device_scale_factor=1)
        page.goto(url)
        page.wait_for_selector(".row[data-status] .c-strip rect", timeout=30_000)
        page.wait_for_timeout(1000)
        shot = page.screenshot(full_page=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_small(shot, out)


def save_small(png: bytes, out: Path) -> None:
    """`png` as a PNG of 256 colours (as harness/pictures saves its pictures): the page's flat
    colours lose nothing visible, and the file is a third of the size."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, kmeans=2,
                   dither=Image.Dither.NONE).save(out, optimize=True)


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    with tempfile.TemporaryDirectory() as tmp, running_pipeline(Path(tmp)) as pipe, \
            page_site(pipe) as url:
        started = time.monotonic()
        wait_for_statuses(url, FIRST_STATUSES_S)
        time.sleep(max(0.0, args.minutes * 60 - (time.monotonic() - started)))
        shoot(url, args.out, args.width, args.scheme)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
