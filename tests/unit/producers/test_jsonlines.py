"""JSON lines: an enormous line is reported, not held whole; copies keep every other byte."""

import io

from producers.jsonlines import MAX_LINE_BYTES, copy_lines_except, read_lines


def test_an_overlong_line_is_cut_and_flagged_and_numbering_goes_on() -> None:
    huge = b"{" + b"x" * (5 * MAX_LINE_BYTES) + b"}\n"
    lines = list(read_lines(io.BytesIO(b'{"a": 1}\n' + huge + b"\n" + b'{"b": 2}')))
    assert [(line.number, line.too_long) for line in lines] == [(1, False), (2, True), (4, False)]
    assert len(lines[1].data) <= MAX_LINE_BYTES
    assert lines[2].data == b'{"b": 2}'


def test_copy_leaves_out_only_the_given_lines_byte_for_byte() -> None:
    huge = b"y" * (3 * MAX_LINE_BYTES) + b"\r\n"
    source = b"one\n" + huge + b"  \n" + b"three\n" + b"four"
    target = io.BytesIO()
    kept = copy_lines_except(io.BytesIO(source), target, drop={1, 4})
    assert target.getvalue() == huge + b"  \n" + b"four"
    assert kept == 2  # the blank line 3 is kept but not counted
