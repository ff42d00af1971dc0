"""python -m skconvexnn: a demo that explains itself."""

import re

import pytest

from skconvexnn.__main__ import main


def test_every_option_has_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    options = re.findall(r"^  (--[a-z-]+)", text, flags=re.M)
    assert set(options) == {"--beta", "--n-arrangements", "--activation",
                            "--solver", "--seed"}
    for option in options:
        block = text.split(option, 1)[1].split("\n  --", 1)[0]
        assert len(block.split()) > 5, option
    assert "n_samples * beta" in text and "1e-3" in text


def test_demo_explains_its_certificate(capsys):
    objectives = main(["--activation", "gated_relu", "--n-arrangements", "10"])
    text = capsys.readouterr().out
    assert "duality gap" in text and "lower bound" in text
    assert "activation patterns of this fit" in text
    assert len(objectives) == 2 and all(objectives > 0)
