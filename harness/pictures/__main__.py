"""`python -m harness.pictures`: the command line (see the package's docstring)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import harness.pictures
from harness.grafana import DASHBOARD_DIR, load_dashboard
from harness.pictures.collect import demo_data
from harness.pictures.layout import draw_dashboard

ROOT = Path(__file__).resolve().parents[2]  # the repository


def main() -> None:
    """Parse the flags, collect the panel data (or read it), write one PNG per dashboard."""
    parser = argparse.ArgumentParser(prog="python -m harness.pictures",
                                     description=harness.pictures.__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img",
                        help="folder for the PNGs (default: docs/img)")
    parser.add_argument("--minutes", type=float, default=4.0,
                        help="minutes of demo data to collect before querying (default: 4)")
    parser.add_argument("--range", choices=("demo", "dashboard"), default="demo",
                        dest="range_mode",
                        help="time range: the demo run's span for dashboards whose default "
                             "ends now (default), or every dashboard's default range")
    parser.add_argument("--target", help="Model detail's target (default: its first option)")
    parser.add_argument("--save-data", type=Path, help="also write the query results here (JSON)")
    parser.add_argument("--from-data", type=Path,
                        help="draw from query results saved by --save-data; no demo run")
    args = parser.parse_args()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        sys.exit("matplotlib is missing: .venv/bin/pip install matplotlib==3.11.2")
    if args.from_data:
        data = json.loads(args.from_data.read_text(encoding="utf-8"))
    else:
        data = demo_data(args.minutes, args.range_mode, args.target)
    if args.save_data:
        args.save_data.write_text(json.dumps(data, indent=1), encoding="utf-8")
    args.out.mkdir(parents=True, exist_ok=True)
    for entry in data["dashboards"]:
        board = load_dashboard(DASHBOARD_DIR / entry["file"])
        png = args.out / (Path(entry["file"]).stem + ".png")
        draw_dashboard(board, entry, data, png)
        print(f"wrote {png} ({png.stat().st_size // 1024} KB)", flush=True)


if __name__ == "__main__":
    main()
