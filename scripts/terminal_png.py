"""Render a terminal capture (text with ANSI colours) as a PNG, for the README's screenshots.

    tmux new-session -d -s demo -x 140 -y 8 'ilios convert in --out out; sleep 60'
    tmux capture-pane -p -e -t demo > capture.ansi      # while the progress bar runs
    .venv/bin/python scripts/terminal_png.py capture.ansi docs/cli-progress.png

rich reads the escape codes, Pillow draws each character in its cell with DejaVu Sans Mono.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from rich.color import Color
from rich.console import Console
from rich.style import Style
from rich.terminal_theme import MONOKAI
from rich.text import Text

FONTS = Path("/usr/share/fonts/truetype/dejavu")
SIZE, PADDING = 15, 12


def colour(color: Color | None, default, *, foreground: bool = True) -> tuple[int, int, int]:
    if color is None or color.is_default:
        return default
    return tuple(color.get_truecolor(MONOKAI, foreground=foreground))


def is_braille(character: str) -> bool:
    """rich's spinner: DejaVu Sans Mono has no Braille, DejaVu Sans draws it."""
    return "\u2800" <= character <= "\u28ff"


def render(capture: str) -> Image.Image:
    lines = [Text.from_ansi(line) for line in capture.rstrip("\n").split("\n")]
    while lines and not lines[-1].plain.strip():
        lines.pop()
    regular = ImageFont.truetype(str(FONTS / "DejaVuSansMono.ttf"), SIZE)
    bold = ImageFont.truetype(str(FONTS / "DejaVuSansMono-Bold.ttf"), SIZE)
    braille = ImageFont.truetype(str(FONTS / "DejaVuSans.ttf"), SIZE)
    cell_width = regular.getlength("M")
    line_height = round(SIZE * 1.35)
    columns = max(len(line.plain) for line in lines)
    background = tuple(MONOKAI.background_color)
    foreground = tuple(MONOKAI.foreground_color)
    image = Image.new(
        "RGB",
        (round(columns * cell_width) + 2 * PADDING, len(lines) * line_height + 2 * PADDING),
        background,
    )
    draw = ImageDraw.Draw(image)
    console = Console()
    for row, line in enumerate(lines):
        y = PADDING + row * line_height
        for column, character in enumerate(line.plain):
            style = line.get_style_at_offset(console, column)
            x = PADDING + column * cell_width
            fill = colour(style.bgcolor, background, foreground=False)
            if fill != background:
                draw.rectangle((x, y, x + cell_width, y + line_height), fill=fill)
            font = braille if is_braille(character) else bold if style.bold else regular
            draw.text((x, y), character, font=font, fill=text_colour(style, foreground))
    return image


def text_colour(style: Style, foreground) -> tuple[int, int, int]:
    rgb = colour(style.color, foreground)
    return tuple(channel // 2 for channel in rgb) if style.dim else rgb


if __name__ == "__main__":
    source, target = sys.argv[1:3]
    render(Path(source).read_text()).save(target, optimize=True)
