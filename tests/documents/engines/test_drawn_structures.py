"""Tables and lists as browsers and word processors draw them: grids of thin filled rectangles,
one per cell side, around short cells set close together, and list bullets drawn as discs rather
than typed. Each document is made here (made.py), one property at a time."""

from documents.engines.base import ConversionOptions
from documents.engines.local import LocalEngine
from tests.documents.engines.made import DISC, GRID_BORDER, RECT, WHITE_RECT, PdfMaker, grid

BORDER = GRID_BORDER
FONT, SIZE, LEADING = "Helvetica", 11.0, 13.0


def markdown_of(tmp_path, lines, shapes) -> str:
    maker = PdfMaker()
    maker.page(lines, shapes=shapes)
    path = maker.save(tmp_path / "drawn.pdf")
    return LocalEngine().convert(path, "application/pdf", ConversionOptions()).markdown


def table_rows(markdown: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in markdown.splitlines()
        if line.startswith("|") and not set(line) <= set("|-")
    ]


CARGO = [
    ["Quay", "2023", "2024", "Change"],
    ["North Quay", "1,204", "1,310", "+8.8%"],
    ["South Quay", "877", "842", "-4.0%"],
    ["Total", "2,391", "2,547", "+6.5%"],
]


def test_a_grid_of_short_cells_set_close_keeps_its_header_and_every_cell(tmp_path):
    lines, shapes = grid(CARGO, widths=[98, 40, 40, 46])

    assert table_rows(markdown_of(tmp_path, lines, shapes)) == CARGO


def test_a_last_row_spanning_the_grid_stays_one_cell(tmp_path):
    rows = [*CARGO, ["Figures in tonnes,", "from the port's records.", "", ""]]
    lines, shapes = grid(rows, widths=[98, 40, 40, 46], joined={(4, 1), (4, 2), (4, 3)})
    first, second = lines[-2:]
    # The rule between the first two columns, drawn in the rows above, falls in a space a
    # little wider than a word space between the two parts of the note.
    end = 85 + 98 - 3
    width = PdfMaker()._advances(first[0] + " ", SIZE, FONT)[-1][1]
    lines[-2:] = [(first[0], end - width, *first[2:]), (second[0], end + 8, *second[2:])]

    found = table_rows(markdown_of(tmp_path, lines, shapes))

    assert found[:4] == CARGO
    assert "Figures in tonnes, from the port's records." in found[4]


RISKS = [
    ["Risk", "Likelihood", "Mitigation"],
    [
        ["Supplier fails to", "deliver the steel"],
        "Medium",
        ["Order from two", "suppliers and keep", "stock on site"],
    ],
    ["Rain floods the pit", "High", ["Install pumps", "before autumn"]],
    ["Crane breaks down", "Low", "Hire a spare"],
]


def test_a_row_whose_cells_wrap_stays_one_row(tmp_path):
    lines, shapes = grid(RISKS, widths=[120, 70, 120])

    assert table_rows(markdown_of(tmp_path, lines, shapes)) == [
        ["Risk", "Likelihood", "Mitigation"],
        [
            "Supplier fails to deliver the steel",
            "Medium",
            "Order from two suppliers and keep stock on site",
        ],
        ["Rain floods the pit", "High", "Install pumps before autumn"],
        ["Crane breaks down", "Low", "Hire a spare"],
    ]


def test_a_cell_joining_two_columns_keeps_its_words_together(tmp_path):
    rows = [*RISKS[:1], *RISKS[3:], ["A note running on across two columns", "", "Monthly"]]
    lines, shapes = grid(rows, widths=[120, 110, 120], joined={(2, 1)})

    assert table_rows(markdown_of(tmp_path, lines, shapes))[2] == [
        "A note running on across two columns",
        "",
        "Monthly",
    ]


def striped(rows, *, widths, left=85.0, top=100.0, height=18.0):
    """A table with no borders, its header and every second row shaded (filled rectangles
    behind them): text lines and shapes for PdfMaker.page."""
    lines, shapes = [], []
    for number, row in enumerate(rows):
        y = top + number * height
        if number % 2 == 0:
            shapes.append((RECT, left, y, sum(widths), height))
        x = left
        for text, width in zip(row, widths, strict=True):
            if text:
                lines.append((text, x + 4, y + height - 5, SIZE, FONT))
            x += width
    return lines, shapes


INVOICE = [
    ["Item", "Qty", "Unit price", "Amount"],
    ["Pencils", "12", "0.40", "4.80"],
    ["Notebooks", "5", "2.10", "10.50"],
    ["Stapler", "1", "7.95", "7.95"],
    ["Envelopes", "50", "0.05", "2.50"],
    ["Total", "", "", "25.75"],
]


def test_a_striped_table_keeps_its_last_row_outside_the_shading(tmp_path):
    lines, shapes = striped(INVOICE, widths=[90, 50, 80, 70])
    assert len(INVOICE) % 2 == 0, "the last row is not shaded"
    caption = ("Prices include the county's sales tax.", 89, 100 + 6 * 18 + 14, SIZE, FONT)

    markdown = markdown_of(tmp_path, [*lines, caption], shapes)

    assert table_rows(markdown) == INVOICE
    assert "Prices include the county's sales tax." in markdown.splitlines()


def ruled_under(rows, *, widths, left=85.0, top=100.0, height=18.0):
    """A table ruled only under each row, its header's rule the first: text lines and rules for
    PdfMaker.page. The first column is set flush left, the others (numbers) flush right."""
    maker, lines, shapes = PdfMaker(), [], []
    for number, row in enumerate(rows):
        y = top + number * height
        x = left
        for column, (text, width) in enumerate(zip(row, widths, strict=True)):
            advance = maker._advances(text + " ", SIZE, FONT)[-1][1] if column else 0
            lines.append(
                (text, x + 4 if not column else x + width - 4 - advance, y + 13, SIZE, FONT)
            )
            x += width
        shapes.append((RECT, left, y + height, sum(widths), BORDER))
    return lines, shapes


def test_a_header_over_a_table_ruled_under_its_rows_heads_the_table(tmp_path):
    lines, shapes = ruled_under(INVOICE[:-1], widths=[150, 50, 80, 70])

    assert table_rows(markdown_of(tmp_path, lines, shapes)) == INVOICE[:-1]


def test_tables_of_one_width_stacked_under_their_captions_stay_apart(tmp_path):
    """A grid, a table ruled only across, and a grid again, each under its caption and as wide
    as the others: the rules of the middle one line up with the grids' but join neither."""
    widths = [150, 50, 80, 70]
    invoice = INVOICE[:-1]
    first, first_shapes = grid(invoice, widths=widths, top=100.0)
    middle, middle_shapes = ruled_under(invoice, widths=widths, top=260.0)
    last, last_shapes = grid(invoice, widths=widths, top=400.0)
    captions = [
        ("Ruled across only", 85.0, 245.0, SIZE, FONT),
        ("Ruled both ways again", 85.0, 385.0, SIZE, FONT),
    ]

    markdown = markdown_of(
        tmp_path, first + middle + last + captions, first_shapes + middle_shapes + last_shapes
    )

    tables = [block for block in markdown.split("\n\n") if block.startswith("|")]
    assert [table_rows(table) for table in tables] == [invoice] * 3
    assert "\n\nRuled across only\n\n" in markdown
    assert "\n\nRuled both ways again\n\n" in markdown


def test_notes_in_a_white_box_under_a_grid_are_no_rows_of_it(tmp_path):
    """A spreadsheet exported to PDF fills the area of its notes white, the box touching the
    grid above: a white box draws no line, and the notes stay notes."""
    widths = [150, 50, 80, 70]
    lines, shapes = grid(INVOICE[:-1], widths=widths, top=100.0)
    bottom = shapes[-1][2]
    notes = ["Key", "Qty = items ordered", "Unit price = before tax"]
    lines += [
        (note, 89.0, bottom + 16.0 + 14.0 * index, SIZE, FONT) for index, note in enumerate(notes)
    ]
    shapes.append((WHITE_RECT, 85.0, bottom, sum(widths), 60.0))

    markdown = markdown_of(tmp_path, lines, shapes)

    assert table_rows(markdown) == INVOICE[:-1]
    assert "Qty = items ordered" in markdown.split("\n\n")[-1]


def test_rows_of_figures_under_a_header_with_no_rule_between_are_rows_of_their_own(tmp_path):
    """A spreadsheet rules its first rows in one box: the header, then two years' totals. The
    header is one row (a wrapped header would be too), each line of figures a row."""
    first_box = [
        ["", "Passengers", "Change %"],
        ["FY2013", "7,723,293", "102.6"],
        ["FY2014", "7,793,704", "100.9"],
    ]
    months = [["Apr-2015", "653,278", "107.5"], ["May-2015", "686,908", "110.9"]]
    boxed = [[[line[column] for line in first_box] for column in range(3)]]
    lines, shapes = grid(boxed + months, widths=[90, 90, 80])

    assert table_rows(markdown_of(tmp_path, lines, shapes)) == first_box + months


LIGHTS = [
    ["Light", "Meaning", "What to do"],
    ["Green", "All parts running", "Nothing"],
    ["Amber", "A part is restarting", "Wait two minutes, then look again"],
]


def test_a_row_of_cells_each_filling_its_column_is_split_at_the_rules(tmp_path):
    """A browser sizes each column to its widest cell and pads cells by a point: that row's
    words stand a word space apart across the rules, and every rule falls between two words."""
    maker = PdfMaker()
    widths = [maker._advances(cell + "|", SIZE, FONT)[-1][1] + 4.5 for cell in LIGHTS[2]]
    lines, shapes = grid(LIGHTS, widths=widths)

    assert table_rows(markdown_of(tmp_path, lines, shapes)) == LIGHTS


def test_text_overflowing_its_cell_across_a_rule_stays_whole(tmp_path):
    """A note too long for its cell runs over the empty cells beside it, a rule through its
    words: one cell's text, not three."""
    note = "Harbour dues collected at the quay"
    maker = PdfMaker()
    through = maker._advances("Harbour du|", SIZE, FONT)[-1][1] + 4.0
    rows = [["Quay", "Ships", "Dues"], ["North", "12", "1,204"], [note, "", ""]]
    lines, shapes = grid(rows, widths=[through, 60.0, 60.0])

    assert table_rows(markdown_of(tmp_path, lines, shapes))[-1] == [note, "", ""]


ITEMS = ["Dredging the inner basin", "Two electric cranes", "A new footpath"]


def bulleted(items, *, left=72.0, top=100.0, bullet=4.0):
    lines, shapes = [], []
    for number, item in enumerate(items):
        baseline = top + number * 16
        lines.append((item, left + 12, baseline, SIZE, FONT))
        shapes.append((DISC, left, baseline - 3.6 - bullet / 2, bullet, bullet))
    return lines, shapes


def test_a_list_with_drawn_bullets_keeps_one_item_per_line(tmp_path):
    lines, shapes = bulleted(ITEMS)

    markdown = markdown_of(tmp_path, lines, shapes)

    assert [line for line in markdown.splitlines() if line] == [f"- {item}" for item in ITEMS]


def test_a_lone_dot_beside_text_is_not_a_bullet(tmp_path):
    lines, shapes = bulleted(ITEMS[:1])

    assert markdown_of(tmp_path, lines, shapes).strip() == ITEMS[0]


def test_points_marked_beside_their_labels_are_not_bullets(tmp_path):
    lighthouse, office = bulleted(["Lighthouse"]), bulleted(["Harbour office"], left=300, top=140)

    markdown = markdown_of(tmp_path, lighthouse[0] + office[0], lighthouse[1] + office[1])

    assert "-" not in markdown and "•" not in markdown


def test_a_nested_list_is_set_in_under_its_item(tmp_path):
    items = [(72.0, "• First point"), (90.0, "– A nested detail"), (90.0, "– Another one")]
    items.append((72.0, "• Second point"))
    lines = [(text, x, 100.0 + 16 * index, SIZE, FONT) for index, (x, text) in enumerate(items)]

    markdown = markdown_of(tmp_path, lines, [])

    assert [line for line in markdown.splitlines() if line] == [
        "- First point",
        "    - A nested detail",
        "    - Another one",
        "- Second point",
    ]


def test_lists_side_by_side_in_two_columns_are_not_nested(tmp_path):
    left = ["• Dredging the inner basin", "• Two electric cranes", "• A new footpath lit at night"]
    right = ["• Extend the South Quay", "• Replace the launch", "• Open a second ferry berth"]
    prose = "The harbour authority set out its works for the coming season in two lists."
    lines = [(text, 72.0, 300.0 + 16 * index, SIZE, FONT) for index, text in enumerate(left)]
    lines += [(text, 320.0, 300.0 + 16 * index, SIZE, FONT) for index, text in enumerate(right)]
    lines += [(f"{prose} {prose}", 72.0, 260.0 + 16 * row, SIZE, FONT) for row in range(2)]

    markdown = markdown_of(tmp_path, lines, [])

    assert not any(line.startswith(" ") for line in markdown.splitlines())


def test_items_lettered_under_a_numbered_item_are_an_item_each(tmp_path):
    items = [
        (72.0, "1. The supplier delivers the goods within thirty days."),
        (90.0, "a. Delivery is made to the address in the order."),
        (90.0, "b. Risk passes on delivery."),
        (72.0, "2. The buyer pays within thirty days of the invoice."),
    ]
    lines = [(text, x, 100.0 + 16 * index, SIZE, FONT) for index, (x, text) in enumerate(items)]

    markdown = markdown_of(tmp_path, lines, [])

    assert [line.strip() for line in markdown.splitlines() if line] == [text for _, text in items]


def test_a_line_starting_with_an_initial_runs_on_in_its_paragraph(tmp_path):
    text = ["The ruling in the case of Smith", "v. Jones settled the question for every port."]
    lines = [(line, 72.0, 100.0 + 14 * index, SIZE, FONT) for index, line in enumerate(text)]

    markdown = markdown_of(tmp_path, lines, [])

    assert markdown.strip() == " ".join(text)


def test_an_unruled_table_keeps_a_cell_wrapped_over_lines_in_its_row(tmp_path):
    """Columns set apart by white space only, the second column's text wrapped in its width."""
    rows = [
        ("Group", ["Measure"], "Year", "Cost"),
        (
            "Transport",
            ["Extend the tram line from the", "station to the housing estate"],
            "2026",
            "48.5",
        ),
        ("Housing", ["Convert empty offices into flats"], "2025", "12.0"),
        (
            "Energy",
            ["Fit solar panels to every school", "roof and connect them to a", "shared battery"],
            "2027",
            "9.75",
        ),
    ]
    prose = "The costs are estimates at today's prices and are reviewed each year."
    lines, y = [], 100.0
    for group, measure, year, cost in rows:
        lines += [
            (group, 72.0, y, SIZE, FONT),
            (year, 330.0, y, SIZE, FONT),
            (cost, 400.0, y, SIZE, FONT),
        ]
        lines += [
            (text, 150.0, y + LEADING * index, SIZE, FONT) for index, text in enumerate(measure)
        ]
        y += LEADING * len(measure) + 6
    lines.append((prose, 72.0, y + 20, SIZE, FONT))

    markdown = markdown_of(tmp_path, lines, [])

    assert [line for line in markdown.splitlines() if line] == [
        "| Group | Measure | Year | Cost |",
        "|---|---|---|---|",
        "| Transport | Extend the tram line from the station to the housing estate | 2026 | 48.5 |",
        "| Housing | Convert empty offices into flats | 2025 | 12.0 |",
        "| Energy | Fit solar panels to every school roof and connect them to a shared battery "
        "| 2027 | 9.75 |",
        prose,
    ]


def test_a_header_wrapped_over_two_lines_above_its_rule_is_one_row(tmp_path):
    """Header cells set on their last line, the longer ones wrapped above it, and a rule drawn
    under each cell; the rows below are set apart by white space only."""
    columns = [72.0, 200.0, 330.0]
    header = [["", "Vessels over", "Crew employed"], ["Harbour", "ten metres", "full time"]]
    body = [["Bristol", "14", "61"], ["Cardiff", "9", "40"], ["Swansea", "22", "95"]]
    lines, y = [], 100.0
    for row in header:
        lines += [(text, x, y, SIZE, FONT) for text, x in zip(row, columns, strict=True) if text]
        y += LEADING
    shapes = [(RECT, x - 2, y - 8, 128.0, BORDER) for x in columns]
    for row in body:
        y += LEADING
        lines += [(text, x, y, SIZE, FONT) for text, x in zip(row, columns, strict=True)]

    markdown = markdown_of(tmp_path, lines, shapes)

    assert [line for line in markdown.splitlines() if line] == [
        "| Harbour | Vessels over ten metres | Crew employed full time |",
        "|---|---|---|",
        "| Bristol | 14 | 61 |",
        "| Cardiff | 9 | 40 |",
        "| Swansea | 22 | 95 |",
    ]


def test_two_tables_side_by_side_are_read_left_then_right(tmp_path):
    """The right one set half a point higher, as a browser may place it."""
    arrivals = grid([["Arrivals", "Time"], ["Cardiff", "09:10"]], widths=[90, 60], left=72)
    departures = grid(
        [["Departures", "Time"], ["Dublin", "13:30"]], widths=[90, 60], left=300, top=99.5
    )

    markdown = markdown_of(tmp_path, arrivals[0] + departures[0], arrivals[1] + departures[1])

    assert markdown.index("Arrivals") < markdown.index("Departures")
    assert "| Cardiff | 09:10 |" in markdown and "| Dublin | 13:30 |" in markdown
