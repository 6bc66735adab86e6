"""Progress bars: a normal tqdm bar on a terminal, plain complete lines in a log."""

import io

from dgnsim.io.progress import progress_bar


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_off_a_terminal_each_refresh_is_one_line_and_none_is_carriage_returned():
    log = io.StringIO()
    with progress_bar(total=1000, desc="epoch 1/2", unit="sample", file=log) as bar:
        for _ in range(100):
            bar.update(10)  # many quick updates: within the log interval, so no lines for them
            bar.set_postfix_str("loss 0.500", refresh=False)
    for _ in progress_bar(range(3), desc="encoding", unit="file", file=log):
        pass
    text = log.getvalue()
    assert "\r" not in text and text.endswith("\n")
    lines = text.splitlines()
    assert len(lines) == 4  # each bar: its first and its last state
    assert lines[0].startswith("epoch 1/2:   0%|") and " 0/1000 " in lines[0]
    assert lines[1].startswith("epoch 1/2: 100%|##########| 1000/1000 [") and lines[1].endswith("loss 0.500]")
    assert lines[2].startswith("encoding:   0%|") and lines[3].startswith("encoding: 100%|##########| 3/3 [")


def test_on_a_terminal_the_bar_is_redrawn_in_place():
    tty = _Terminal()
    for _ in progress_bar(range(3), desc="encoding", unit="file", file=tty):
        pass
    assert tty.getvalue().startswith("\rencoding:")


def test_disabled_bar_writes_nothing():
    log = io.StringIO()
    assert list(progress_bar(range(3), desc="x", unit="file", file=log, enabled=False)) == [0, 1, 2]
    assert log.getvalue() == ""
