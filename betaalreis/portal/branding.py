"""The creditor's colour in the portal, adjusted to meet WCAG 2.1 AA contrast.

WCAG 2.1 requires a contrast ratio of at least 4.5:1 for normal text. The
brand colour is used for buttons (with white or near-black text) and for
links and headings on white, so a too-light colour is darkened for text use.
"""

from __future__ import annotations

import re

from betaalreis.ledger.models import Creditor

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DEFAULT_COLOUR = "#1f4e79"
DARK_TEXT = "#111111"
AA_RATIO = 4.5


def _channel(value: int) -> float:
    scaled = value / 255
    return scaled / 12.92 if scaled <= 0.03928 else ((scaled + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    red, green, blue = (int(colour[index:index + 2], 16) for index in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def darken_until_readable(colour: str, background: str = "#ffffff") -> str:
    """Return `colour` darkened in steps of 5 % until it reaches 4.5:1 on `background`."""
    red, green, blue = (int(colour[index:index + 2], 16) for index in (1, 3, 5))
    current = colour
    while contrast_ratio(current, background) < AA_RATIO:
        red, green, blue = (int(channel * 0.95) for channel in (red, green, blue))
        current = f"#{red:02x}{green:02x}{blue:02x}"
    return current


def brand_css_for(creditor: Creditor) -> str:
    """Return CSS custom properties with the creditor's colours for the portal stylesheet."""
    brand = creditor.brand_color if HEX_COLOUR.match(creditor.brand_color or "") else DEFAULT_COLOUR
    on_brand = "#ffffff" if contrast_ratio(brand, "#ffffff") >= AA_RATIO else DARK_TEXT
    text_brand = darken_until_readable(brand)
    return (
        ":root {\n"
        f"  --brand: {brand.lower()};\n"
        f"  --on-brand: {on_brand};\n"
        f"  --brand-text: {text_brand.lower()};\n"
        "}\n"
    )
