"""Picture tiles for demo products: a coloured SVG square with a character and a word.

The files are generated once and shipped under `web/static/demo/`; a test keeps them equal
to what `tile_svg` draws, so editing the catalogue and forgetting the pictures fails.
Run `python -m laotie.sim.images` to write them again.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from laotie.sim.catalogue import PRODUCTS, DemoProduct

STATIC_DEMO_DIR = Path(__file__).resolve().parent.parent / "web" / "static" / "demo"
URL_PATH = "/static/demo/"


def lighter(colour: str, share: float = 0.45) -> str:
    """Return a `#rrggbb` colour mixed with white, `share` being the white part."""
    channels = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(c + (255 - c) * share) for c in channels]
    return "#" + "".join(f"{c:02x}" for c in mixed)


def tile_svg(product: DemoProduct) -> str:
    """Draw a product's picture tile."""
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="480" height="480" '
        f'viewBox="0 0 480 480" role="img" aria-label={quoteattr(product.title)}>\n'
        '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="{lighter(product.colour)}"/>'
        f'<stop offset="1" stop-color="{product.colour}"/></linearGradient></defs>\n'
        '<rect width="480" height="480" rx="32" fill="url(#g)"/>\n'
        '<circle cx="240" cy="212" r="132" fill="#fff" fill-opacity="0.16"/>\n'
        '<text x="240" y="266" font-size="150" text-anchor="middle" fill="#fff" '
        "font-family=\"'Noto Serif CJK SC','Songti SC','SimSun',serif\">"
        f"{escape(product.glyph)}</text>\n"
        '<text x="240" y="420" font-size="34" letter-spacing="4" text-anchor="middle" '
        'fill="#fff" fill-opacity="0.92" font-family="sans-serif">'
        f"{escape(product.label)}</text>\n"
        "</svg>\n"
    )


def write_tiles(directory: Path = STATIC_DEMO_DIR) -> list[Path]:
    """Write every demo product's tile into the directory; return the files."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for product in PRODUCTS:
        path = directory / product.image_name
        path.write_text(tile_svg(product), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_tiles():
        print(written_path.name)
