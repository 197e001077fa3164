"""The rounding rule and the ways people write figures (cnncalc/verify/answers.py)."""

from __future__ import annotations

import pytest

from cnncalc.verify.answers import AnswerError, parse_bool, parse_figure, parse_number, parse_shape, rounding_note

VGG16_PARAMS = 138_357_544  # REFERENCE.md


@pytest.mark.parametrize("text", ["34944", "34,944", "34 944", "34_944", 34944])
def test_exact_integers_must_be_exact(text):
    assert parse_number(text).matches(34_944)
    assert not parse_number(text).matches(34_945)
    assert parse_number(text).precision is None


@pytest.mark.parametrize("text,ok", [("138M", True), ("140M", False), ("138.4M", True), ("138.3M", False),
                                     ("0.138G", True), ("138357544", True), ("138,357,545", False),
                                     ("1.38e8", True), ("1.4e8", True), ("1.3e8", False)])
def test_rounded_at_the_precision_written(text, ok):
    assert parse_number(text).matches(VGG16_PARAMS) is ok


def test_giga_and_megabytes():
    assert parse_number("15.5G").matches(15_470_264_320)  # VGG16 MACs
    assert not parse_number("15.4G").matches(15_470_264_320)
    assert parse_number("61MB", want_bytes=True).matches(60_950_432)  # VGG16 activations at float32
    assert not parse_number("96MB", want_bytes=True).matches(60_950_432)  # the slide's figure
    assert parse_number("58.1MiB", want_bytes=True).matches(60_950_432)  # 60,950,432 / 2^20 = 58.13


def test_half_way_rounds_either_way():
    assert parse_number("2K").matches(2_500) and parse_number("3K").matches(2_500)


def test_chinese_units():
    assert parse_number("1.4億").matches(VGG16_PARAMS)
    assert parse_number("13836萬").matches(VGG16_PARAMS)
    assert parse_number("1.4亿").matches(VGG16_PARAMS)


def test_products_and_sums_are_exact():
    assert parse_number("224*224*64").matches(3_211_264)
    assert parse_number("(3*3*3)*64").matches(1_728)  # CS231n VGG16 conv1_1 weights
    assert parse_number("28×28×96×5×5×64").matches(120_422_400)  # Inception 5×5 branch
    assert parse_number("(3·3·64)·128 + 128").matches(73_856)
    assert parse_number("224*224*64").precision is None


@pytest.mark.parametrize("bad", ["abc", "12Q", "", "1..2", True, None, "3M+"])
def test_unreadable_numbers(bad):
    with pytest.raises(AnswerError):
        parse_number(bad)


def test_memory_needs_a_byte_unit():
    with pytest.raises(AnswerError):
        parse_figure("memory", "96M")
    assert parse_figure("memory", "96MB").value == 96_000_000


def test_shapes_as_written():
    for text in ("55x55x96", "55×55×96", "(55, 55, 96)", "[55, 55, 96]", "55 x 55 x 96", [55, 55, 96]):
        assert parse_shape(text) == (55, 55, 96)
    assert parse_shape(1000) == (1000,)
    with pytest.raises(AnswerError):
        parse_shape("55 by 55")


def test_receptive_field_square_shorthand_and_bools():
    assert parse_figure("receptive_field", "7") == (7, 7)
    assert parse_figure("receptive_field", "7x7") == (7, 7)
    assert parse_bool("否") is False and parse_bool("true") is True and parse_bool(True) is True
    with pytest.raises(AnswerError):
        parse_bool("maybe")


def test_notes_for_truncated_and_underprecise_answers():
    assert rounding_note(parse_number("37M"), 37_748_736) == "the true value truncates to 37M but rounds to 38M"
    assert "significant" in rounding_note(parse_number("800K"), 802_816)
    assert rounding_note(parse_number("353M"), 271_351_808) is None
    assert rounding_note(parse_number("138M"), VGG16_PARAMS) is None
