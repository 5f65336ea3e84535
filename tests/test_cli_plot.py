"""`ecgsk plot`: real CinC records, read through ecgsk's readers, drawn to PDF and PNG pages."""

import re

import numpy as np
import pytest

from ecgsk.cli import main


@pytest.fixture(scope="module")
def cinc_files(data_dir, tmp_path_factory):
    """A real CinC record as the challenge files themselves and as .npy, .asc and .csv written at test time."""
    from ecgsk.io import read_challenge_record, write_asc, write_csv, write_npy
    from ecgsk.leads import select_8_from_12

    record = data_dir / "cinc2021" / "HR06000"
    X, _ = read_challenge_record(record)  # (1, 12, T)
    out = tmp_path_factory.mktemp("cinc")
    npy = write_npy(np.concatenate([X, X[:, :, ::-1]]), out / "two.npy")  # a batch of 2 ECGs
    asc = write_asc(select_8_from_12(X), out / "asc")[0]
    csv = write_csv(X, out / "csv")[0]
    return {"hea": record.with_suffix(".hea"), "npy": npy, "asc": asc, "csv": csv}


def _pages(pdf):
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    return len(re.findall(rb"/Type\s*/Page(?![a-z])", data))


def test_plot_writes_one_pdf_page_per_ecg(cinc_files, tmp_path, capsys):
    out = tmp_path / "ecgs.pdf"
    files = [str(cinc_files[k]) for k in ("hea", "npy", "asc", "csv")]
    assert main(["plot", *files, "-o", str(out)]) == 0
    assert _pages(out) == 5  # 1 + a batch of 2 + 1 + 1
    assert "wrote 5 page(s) at 25 mm/s, 10 mm/mV" in capsys.readouterr().out


def test_plot_png_options(cinc_files, tmp_path):
    out = tmp_path / "ecg.png"
    assert main(["plot", str(cinc_files["hea"]), "-o", str(out), "--layout", "6x2", "--speed", "12.5",
                 "--gain", "5"]) == 0
    assert out.stat().st_size > 20_000
    from PIL import Image

    # 6x2 at 12.5 mm/s: 5 mm gutter + 2 x 62.5 mm of signal + 20 mm margins, at the 200 dpi PNGs are written with
    with Image.open(out) as image:
        assert image.width == pytest.approx((5 + 125 + 20) / 25.4 * 200, abs=2)
    many = tmp_path / "many.png"
    assert main(["plot", str(cinc_files["npy"]), "-o", str(many)]) == 0
    assert (tmp_path / "many-0.png").stat().st_size > 20_000 and (tmp_path / "many-1.png").exists()


@pytest.mark.parametrize("argv, message", [
    (["missing.hea"], "no such file: missing.hea"),
    (["{npy}", "--speed", "0"], "--speed must be a positive number"),
    (["{hea}", "--fs", "250"], "--fs 250 contradicts the 500 Hz"),
    (["{npy}", "-o", "out.jpg"], "-o/--output must end in .pdf or .png"),
])
def test_plot_errors_exit_2_with_one_line(cinc_files, tmp_path, capsys, argv, message):
    argv = [a.format(**{k: str(v) for k, v in cinc_files.items()}) for a in argv]
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "out.pdf")]
    assert main(["plot", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ecgsk plot: error:") and message in err
    assert not (tmp_path / "out.pdf").exists()


def test_plot_corrupt_or_unknown_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not an array")
    other = tmp_path / "ecg.edf"
    other.write_bytes(b"0")
    for path, message in ((bad, "bad.npy"), (other, "expected a .asc, .hea, .mat, .npy or .csv file")):
        assert main(["plot", str(path), "-o", str(tmp_path / "out.pdf")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err
