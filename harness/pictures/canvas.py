"""The picture's surface in Grafana's dark theme: its colours, and a matplotlib figure drawn
in pixels (text, boxes, plot axes), saved as a small PNG."""

from __future__ import annotations

from pathlib import Path

DPI = 100
PT = 0.72                        # points per pixel at 100 dpi

BG = "#111217"
PANEL_BG = "#181b1f"
BORDER = "#2b2e35"
TEXT = "#ccccdc"
TEXT_DIM = "#8e8ea0"
GRID_LINE = "#26292f"
NAMED = {"green": "#73BF69", "yellow": "#FADE2A", "red": "#F2495C", "purple": "#B877D9",
         "orange": "#FF9830", "blue": "#5794F2", "text": TEXT, "transparent": "#00000000"}
CLASSIC = ["#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9",
           "#705DA0", "#508642", "#CCA300", "#447EBC", "#C15C17", "#890F02", "#0A437C",
           "#6D1F62", "#584477", "#B7DBAB", "#F4D598", "#70DBED", "#F9BA8F", "#F29191",
           "#82B5D8", "#E5A8E2", "#AEA2E0"]


def color(name: str | None) -> str:
    """A Grafana colour name, `#rrggbb` or `rgba(r, g, b, a)` as a matplotlib colour."""
    if not name:
        return TEXT
    if name.startswith("rgba("):
        r, g, b, a = (float(x) for x in name[5:-1].split(","))
        return f"#{int(r):02x}{int(g):02x}{int(b):02x}{int(a * 255):02x}"
    return NAMED.get(name, name)


def contrast(background: str) -> str:
    """Black or white text on `background`, as Grafana picks it."""
    import matplotlib.colors as mcolors
    r, g, b = mcolors.to_rgb(background)
    return "#000000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.55 else "#ffffff"


class Canvas:
    """A figure in pixels: (0, 0) is the top-left corner."""

    def __init__(self, width: int, height: int) -> None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.font_manager import FontProperties
        self.plt = plt
        self.width, self.height = width, height
        self.fig = plt.figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor=BG)
        self.ax = self.fig.add_axes((0, 0, 1, 1))
        self.ax.set_xlim(0, width)
        self.ax.set_ylim(height, 0)
        self.ax.axis("off")
        self.renderer = self.fig.canvas.get_renderer()
        self._font = FontProperties
        self._widths: dict = {}

    def text_width(self, text: str, px: float, weight: str = "normal") -> float:
        key = (text, px, weight)
        if key not in self._widths:
            props = self._font(size=px * PT, weight=weight)
            width, _, _ = self.renderer.get_text_width_height_descent(text, props, ismath=False)
            self._widths[key] = width
        return self._widths[key]

    def fit(self, text: str, px: float, width: float, weight: str = "normal") -> str:
        """`text`, cut with an ellipsis to fit `width` pixels."""
        if self.text_width(text, px, weight) <= width:
            return text
        low, high = 0, len(text)
        while low < high:
            mid = (low + high + 1) // 2
            if self.text_width(text[:mid] + "…", px, weight) <= width:
                low = mid
            else:
                high = mid - 1
        return text[:low] + "…" if low else ""

    def text(self, x: float, y: float, text: str, px: float, fill: str = TEXT,
             ha: str = "left", va: str = "center", weight: str = "normal", **kw) -> None:
        self.ax.text(x, y, text, fontsize=px * PT, color=fill, ha=ha, va=va, weight=weight,
                     clip_on=False, **kw)

    def rect(self, x: float, y: float, w: float, h: float, fill: str, edge: str | None = None,
             radius: float = 0, alpha: float = 1.0, lw: float = 1.0) -> None:
        from matplotlib.patches import FancyBboxPatch, Rectangle
        if radius:
            patch = FancyBboxPatch((x + radius, y + radius), max(w - 2 * radius, 0.1),
                                   max(h - 2 * radius, 0.1),
                                   boxstyle=f"round,pad={radius}", facecolor=fill,
                                   edgecolor=edge or "none", lw=lw, alpha=alpha)
        else:
            patch = Rectangle((x, y), w, h, facecolor=fill, edgecolor=edge or "none", lw=lw,
                              alpha=alpha)
        self.ax.add_patch(patch)

    def axes(self, x: float, y: float, w: float, h: float):
        ax = self.fig.add_axes((x / self.width, 1 - (y + h) / self.height, w / self.width,
                                h / self.height))
        ax.set_facecolor(PANEL_BG)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.tick_params(colors=TEXT_DIM, labelsize=11 * PT, length=0, pad=4)
        return ax

    def save(self, path: Path) -> None:
        """A PNG of 256 colours: the flat theme loses nothing, and the file stays small."""
        import io

        from PIL import Image
        buffer = io.BytesIO()
        self.fig.savefig(buffer, dpi=DPI, facecolor=BG, format="png")
        self.plt.close(self.fig)
        image = Image.open(buffer).convert("RGB")
        image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, kmeans=2,
                       dither=Image.Dither.NONE).save(path, optimize=True)
