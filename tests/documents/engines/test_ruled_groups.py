"""Strokes that touch form one group (a table's grid); strokes apart do not, however they are
spread over the page (issue 14: each run of rows is painted on a raster of its own, or a few
strokes over a large area compared pairwise)."""

from __future__ import annotations

from documents.engines.local import tables
from documents.engines.local.geometry import Rule
from documents.engines.local.tables import _connected


def grid(left: float, top: float, size: float) -> list[Rule]:
    right, bottom = left + size, top + size
    return [
        Rule(left, top, right, top),
        Rule(left, bottom, right, bottom),
        Rule(left, top, left, bottom),
        Rule(right, top, right, bottom),
    ]


def canonical(groups: list[list[Rule]]) -> list[list[tuple[float, ...]]]:
    return sorted(sorted((r.x0, r.top, r.x1, r.bottom) for r in group) for group in groups)


def test_a_double_header_rule_and_two_grids_far_below_it_are_three_groups():
    header = [Rule(90, 36, 540, 36), Rule(90, 37.5, 540, 37.5)]
    upper, lower = grid(100, 300, 80), grid(300, 600, 80)

    assert canonical(_connected(header + upper + lower)) == canonical([header, upper, lower])


def test_grids_side_by_side_on_the_same_rows_stay_apart():
    left, right = grid(100, 300, 80), grid(300, 300, 80)

    assert len(_connected(left + right)) == 2


def test_a_stroke_that_reaches_from_one_grid_to_another_joins_them():
    upper, lower = grid(100, 300, 80), grid(100, 500, 80)
    bridge = Rule(100, 380, 100, 500)

    assert len(_connected(upper + lower + [bridge])) == 1


def test_rules_of_equal_extent_stacked_far_apart_are_one_table():
    stacked = [Rule(100, top, 400, top) for top in (100, 160, 220)]

    assert len(_connected(stacked)) == 1


def test_strokes_compared_pairwise_fall_into_the_groups_the_raster_finds(monkeypatch):
    strokes = [
        *grid(100, 300, 80),
        *grid(300, 300, 80),
        Rule(180, 340, 300, 340),  # joins the two grids
        Rule(500, 100, 560, 100),
        Rule(561.5, 100, 600, 100),  # meets the one before it within SNAP
        Rule(500, 200, 540, 200),
        Rule(543.5, 203.5, 543.5, 260),  # diagonally off the end of the one before it: apart
        Rule(100, 700, 400, 700),
        Rule(101, 760, 399, 760),  # stacked under the one before it
    ]
    monkeypatch.setattr(tables, "PIXELS_PER_PAIR", 0)
    pairwise = _connected(strokes)
    monkeypatch.setattr(tables, "PIXELS_PER_PAIR", 10**12)
    painted = _connected(strokes)

    assert pairwise == painted
    assert len(painted) == 3
