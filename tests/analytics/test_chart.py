"""Chart geometry: where points and bars land in the SVG box."""

from analytics import chart


def test_line_spans_the_plot_left_to_right_and_top_to_bottom():
    c = chart.line(["a", "b", "c"], [100, 150, 200], width=376, height=140)
    # plot x 76..364; y range 100..200 widened by 6 % each side → 94..206 over 12..112
    assert [p.x for p in c.points] == [76, 220, 364]
    assert c.points[0].y > c.points[1].y > c.points[2].y  # higher value, higher on screen
    assert c.points[2].y == round(12 + (206 - 200) / 112 * 100, 1)
    assert c.polyline == "76.0,106.6 220.0,62.0 364.0,17.4"


def test_drawdown_line_keeps_zero_on_screen_and_closes_its_area_there():
    c = chart.line(["a", "b"], [0, -5], include_zero=True, fmt=chart.percent)
    assert c.points[0].y == c.zero_y  # 0 % at the zero line
    assert c.area.startswith(f"{c.points[0].x},{c.zero_y}") and c.area.endswith(f"{c.points[-1].x},{c.zero_y}")
    assert any(label.endswith("%") for _, label in c.y_ticks)


def test_bars_go_up_for_gains_and_down_for_losses_from_the_zero_line():
    c = chart.bars(["mon", "tue"], [500, -250], width=376, height=140)
    gain, loss = c.bars
    assert gain.positive and gain.y + gain.height == c.zero_y
    assert not loss.positive and loss.y == c.zero_y
    assert gain.height == round(2 * loss.height, 1) or abs(gain.height - 2 * loss.height) <= 0.2
    assert gain.width == round(288 / 2 * 0.7, 1)


def test_y_labels_use_indian_grouping_and_x_labels_are_thinned():
    labels = [f"d{i}" for i in range(20)]
    c = chart.line(labels, [i * 100000 for i in range(20)], max_x_labels=5)
    assert len(c.x_ticks) <= 5 and c.x_ticks[0][1] == "d0"
    assert any("," in label and label.count(",") >= 1 for _, label in c.y_ticks)
    assert "10,00,000" in [label for _, label in c.y_ticks]


def test_no_values_is_an_empty_chart():
    assert chart.line([], []).empty and chart.bars([], []).empty
