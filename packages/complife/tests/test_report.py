"""``complife report`` and ``complife inspect``: the page of a traced run that
transitions, opened in headless Chromium; a checkpoint in the terminal; bad input."""

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from complife.cli import main

from .conftest import REPO, golden_path

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
#: bff_noheads_4bit transitions at epoch 97 at this size and seed (spec §2.1: 10 of
#: its 16 nibbles are commands); the run stops at the report of epoch 113.
RUN = ["run", "--lang", "bff_noheads_4bit", "--num", "4096", "--seed", "1",
       "--max-epochs", "112", "--print-interval", "16", "--save-interval", "32",
       "--trace-tokens", "--disable-output"]  # fmt: skip


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """A traced run that transitions, and its report."""
    run_dir = tmp_path_factory.mktemp("report") / "run"
    assert main([*RUN, "--out", str(run_dir)]) == 0
    assert main(["report", str(run_dir)]) == 0
    return run_dir / "report.html"


def images(text: str) -> list[str]:
    return re.findall(r'<img[^>]*\ssrc="(data:image/[^"]+)"', text)


def test_page_holds_every_figure_and_table(page):
    text = page.read_text()
    # The figures over epochs; snapshots at epochs 1, 65 (before the transition),
    # 97 (after) and 113; the soup by token origin; the animation.
    assert len(images(text)) == 7
    # Facts, families, the top family's ancestry, programs, substrings.
    assert text.count("<table") == 5
    assert "Transition at epoch 97" in text and "distinct tokens fell from" in text
    assert "copy loop" in text
    from PIL import Image

    for uri in images(text):
        Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).load()
    assert (page.parent / "soup.gif").read_bytes()[:6] == b"GIF89a"


def test_page_needs_nothing_but_itself(page):
    text = page.read_text()
    for fetching in ("<script", "<link", "<iframe", "<object", "@import", "url("):
        assert fetching not in text
    for value in re.findall(r'\s(?:src|href)="([^"]*)"', text):
        assert value.startswith("data:")


def test_an_existing_page_is_kept_without_force(page, capsys):
    before = page.read_bytes()
    assert main(["report", str(page.parent)]) == 2
    err = capsys.readouterr().err.strip()
    assert "already exists; pass --force" in err and "\n" not in err
    assert page.read_bytes() == before


def test_inspect_a_traced_checkpoint(page, capsys):
    checkpoint = page.parent / "checkpoints" / "0000000112.dat"
    assert main(["inspect", str(checkpoint), "--top", "5", "--program", "7"]) == 0
    out = capsys.readouterr().out
    for title in ("Families", "Most common programs", "Ancestry of program 7"):
        assert title in out
    assert "distinct tokens" in out


def test_report_and_inspect_of_reference_checkpoints(tmp_path, capsys):
    folder = golden_path("checkpoints", "bff_noheads_num1024_seed99")
    out = tmp_path / "reference.html"
    assert (
        main(["report", str(folder), "--lang", "bff_noheads", "--out", str(out)]) == 0
    )
    text = out.read_text()
    # Figures measured on the checkpoints; snapshots; the animation.
    assert len(images(text)) >= 3 and "Measured on the checkpoints" in text
    assert (tmp_path / "reference.gif").exists()
    checkpoint = folder / "0000000256.dat"
    assert main(["inspect", str(checkpoint), "--lang", "bff_noheads"]) == 0
    assert "Most common programs" in capsys.readouterr().out


def one_line_error(capsys, argv, *expected):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    for part in expected:
        assert part in err, err


def test_bad_input_is_one_line(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(capsys, ["report", str(empty)], "is not a run folder")
    one_line_error(capsys, ["report", str(tmp_path / "nowhere")], "does not exist")

    references = tmp_path / "references"
    references.mkdir()
    golden = golden_path("checkpoints", "bff_noheads_num1024_seed99")
    shutil.copy(golden / "0000000064.dat", references)
    one_line_error(capsys, ["report", str(references)], "give --lang")
    one_line_error(
        capsys, ["inspect", str(references / "0000000064.dat")], "give --lang"
    )

    # A checkpoint whose header does not match its size.
    short = tmp_path / "0000000064.dat"
    short.write_bytes((golden / "0000000064.dat").read_bytes()[:-64])
    one_line_error(
        capsys, ["inspect", str(short), "--lang", "bff_noheads"], "needs 65560 bytes"
    )
    one_line_error(
        capsys,
        [
            "inspect",
            str(references / "0000000064.dat"),
            "--lang",
            "bff_noheads",
            "--program",
            "3",
        ],
        "no tokens beside it",
    )
    one_line_error(
        capsys,
        [
            "run",
            "--lang",
            "forthtrivial",
            "--num",
            "64",
            "--trace-tokens",
            "--max-epochs",
            "1",
        ],
        "tracer tokens are defined for the BFF family only",
    )


def test_ancestry_rows_are_pieces_with_a_direction(page):
    text = page.read_text()
    table = text[text.index("Where the top family came from") :]
    table = table[: table.index("</table>")]
    for header in ("bytes of the founder", "its bytes there", "direction"):
        assert f"<th>{header}</th>" in table
    cell = r"<td>([\d-]+)</td>"
    rows = re.findall(
        f"<tr>{cell}{cell}{cell}{cell}<td>(forwards|reversed)</td>", table
    )
    assert rows
    # The rows cover the founder's 64 bytes in order, each piece as long as its
    # source range.
    covered = []
    for here, _, _, there, direction in rows:
        first, _, last = here.partition("-")
        span = range(int(first), int(last or first) + 1)
        covered += span
        a, _, b = there.partition("-")
        a, b = int(a), int(b or a)
        assert abs(b - a) + 1 == len(span)
        assert (b >= a) == (direction == "forwards") or len(span) == 1
    assert covered == list(range(64))


def test_piped_inspect_keeps_its_numbers(page):
    checkpoint = page.parent / "checkpoints" / "0000000112.dat"
    args = ["inspect", str(checkpoint), "--top", "3", "--program", "7"]
    done = subprocess.run(
        [sys.executable, "-m", "complife", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NUMBA_NUM_THREADS": "1", "COLUMNS": "80"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "…" not in out
    ancestry = out[out.index("Ancestry of program 7") :]
    rows = re.findall(
        r"│\s+([\d-]+) │\s+(\d+) │\s+(\d+) │\s+([\d-]+) │\s+(forwards|reversed) │",
        ancestry,
    )
    assert len(rows) >= 2
    assert re.search(r"│\s+[\d,]+ │\s+[\d.]+% │", out)  # programs, share


def copy_run(page, tmp_path) -> Path:
    run_dir = tmp_path / "run"
    shutil.copytree(page.parent, run_dir)
    (run_dir / "report.html").unlink()
    (run_dir / "soup.gif").unlink()
    return run_dir


@pytest.mark.parametrize("damage", ["missing", "random", "truncated"])
def test_report_and_inspect_go_on_without_damaged_tokens(
    page, tmp_path, capsys, damage
):
    run_dir = copy_run(page, tmp_path)
    checkpoint = run_dir / "checkpoints" / "0000000112.dat"
    tokens = run_dir / "checkpoints" / "0000000112.tokens.npy"
    if damage == "missing":
        tokens.unlink()
    elif damage == "random":
        tokens.write_bytes(np.random.default_rng(5).bytes(5000))
    else:
        tokens.write_bytes(tokens.read_bytes()[:3000])
    what = "missing" if damage == "missing" else "damaged"
    assert main(["report", str(run_dir)]) == 0
    text = (run_dir / "report.html").read_text()
    assert f"Tokens of checkpoint 0000000112.dat are {what}" in text
    assert "Where the top family came from" not in text
    assert "pickle" not in text
    capsys.readouterr()
    assert main(["inspect", str(checkpoint), "--top", "3"]) == 0
    captured = capsys.readouterr()
    assert "Families" in captured.out
    assert "going on without" in captured.err and "0000000112" in captured.err
    if damage == "missing":
        one_line_error(
            capsys, ["inspect", str(checkpoint), "--program", "3"], "no tokens beside"
        )
    else:
        one_line_error(
            capsys,
            ["inspect", str(checkpoint), "--program", "3"],
            f"{tokens} is damaged (not an (N, 64) uint64 .npy file",
        )


def test_a_missing_or_torn_metrics_file_is_one_line(page, tmp_path, capsys):
    run_dir = copy_run(page, tmp_path)
    metrics = run_dir / "metrics.csv"
    lines = metrics.read_text().splitlines(keepends=True)
    metrics.write_text("".join(lines[:3]) + lines[3][:20])
    one_line_error(
        capsys, ["report", str(run_dir)], "metrics.csv is damaged: line 4 has"
    )
    metrics.unlink()
    one_line_error(capsys, ["report", str(run_dir)], "metrics.csv is missing")
    assert not (run_dir / "report.html").exists()
    metrics.write_text(lines[0])  # only the header: no reports yet
    assert main(["report", str(run_dir)]) == 0
    assert "No reports yet." in (run_dir / "report.html").read_text()


@pytest.mark.parametrize("damaged", ["[]", "{bad", '{"config": 3}'])
def test_a_damaged_config_is_named(page, tmp_path, capsys, damaged):
    run_dir = copy_run(page, tmp_path)
    config = run_dir / "config.json"
    config.write_text(damaged)
    expected = (f"{config} is damaged (", "restore it or start a new run")
    one_line_error(capsys, ["report", str(run_dir)], *expected)
    checkpoint = str(run_dir / "checkpoints" / "0000000112.dat")
    one_line_error(capsys, ["inspect", checkpoint], *expected)
    assert main(["run", "--out", str(run_dir), "--resume"]) == 2
    err = capsys.readouterr().err
    assert all(part in err for part in expected) and "not in a run folder" not in err


def test_a_killed_run_is_shown_stopped(page, tmp_path):
    from complife.runfolder import RunFolder

    run_dir = copy_run(page, tmp_path)
    (run_dir / "status.json").write_text('{"state": "running", "epoch": 96}')
    assert main(["report", str(run_dir)]) == 0
    text = (run_dir / "report.html").read_text()
    assert (
        "stopped (the process ended without finishing) after 96 epochs; continue "
        f"with complife run --out {run_dir} --resume"
    ) in text
    # While a process holds the folder, it is running.
    with RunFolder(run_dir) as folder:
        folder.lock()
        assert main(["report", str(run_dir), "--force"]) == 0
    text = (run_dir / "report.html").read_text()
    assert "running after 96 epochs" in text and "stopped (" not in text


def test_report_wording(page, tmp_path, capsys):
    from complife.report import _transition_text

    nowhere = tmp_path / "nowhere" / "page.html"
    one_line_error(
        capsys,
        ["report", str(page.parent), "--out", str(nowhere)],
        f"folder {nowhere.parent} does not exist; create it first",
    )
    run_dir = copy_run(page, tmp_path)
    mode = run_dir.stat().st_mode
    run_dir.chmod(0o555)
    try:
        one_line_error(
            capsys, ["report", str(run_dir)], f"{run_dir} is read-only; give --out FILE"
        )
        assert not (run_dir / "report.html").exists()
        out = tmp_path / "elsewhere.html"
        assert main(["report", str(run_dir), "--out", str(out)]) == 0
    finally:
        run_dir.chmod(mode)
    rows = [{"epoch": 30, "higher_entropy": 2.5}, {"epoch": 60, "higher_entropy": 3}]
    assert _transition_text(rows) == "Transition by epoch 30: high-order entropy 2.50."


# ---------------------------------------------------------------------------------
# The page in a browser

#: Headless Chromium with every connection sent to a closed port on this machine and
#: no name resolved, so that nothing can leave it whatever the page asks for.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

#: Appended to a copy of the page: mark how many images the browser decoded.
COUNT_DECODED = """<script>
window.addEventListener("load", () => {
  const decoded = [...document.images].filter(i => i.complete && i.naturalWidth > 0);
  document.body.dataset.decoded = decoded.length;
});
</script>"""


def chromium(tmp_path: Path, *args: str) -> str:
    done = subprocess.run(
        [
            str(CHROMIUM),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path / 'profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed at /usr/bin/chromium (CI installs it: "
    "apt-get install -y chromium)",
)
def test_page_renders_in_chromium_with_no_request_leaving(page, tmp_path):
    # Rendered: every image decoded, every table in the DOM.
    instrumented = tmp_path / "instrumented.html"
    instrumented.write_text(
        page.read_text().replace("</body>", COUNT_DECODED + "</body>")
    )
    dom = chromium(
        tmp_path, "--virtual-time-budget=10000", "--dump-dom", instrumented.as_uri()
    )
    assert 'data-decoded="7"' in dom
    assert dom.count("<table") == 5

    # The page itself, with a log of the browser's network activity.
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "complife-report.png"
    netlog = tmp_path / "netlog.json"
    chromium(
        tmp_path,
        "--window-size=1366,2400",
        f"--screenshot={screenshot}",
        f"--log-net-log={netlog}",
        "--net-log-capture-mode=Everything",
        page.as_uri(),
    )
    from PIL import Image

    shot = Image.open(screenshot)
    assert shot.size == (1366, 2400)
    assert len(shot.convert("RGB").getcolors(1 << 20) or []) > 100  # not blank

    log = json.loads(netlog.read_text())
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    for event in log["events"]:
        name, params = names[event["type"]], event.get("params") or {}
        if name == "URL_REQUEST_START_JOB" and "url" in params:
            # The browser's own background requests say "not an origin"; a request
            # of the page would name the page's (file) origin.
            assert params["initiator"] == "not an origin", params
        if name == "TCP_CONNECT" and "address_list" in params:
            assert all(a.startswith("127.0.0.1:") for a in params["address_list"])
        assert name not in ("UDP_BYTES_SENT", "SOCKET_BYTES_SENT") or (
            params.get("address", "127.0.0.1").startswith("127.0.0.1")
        ), params


def test_animation_frames_are_the_soups_exactly():
    from PIL import Image

    from complife import languages
    from complife.animate import frame, pick_frames, soup_gif
    from complife.soup import Soup

    palette = languages.get("bff_noheads").palette
    soup = Soup("bff_noheads", 512, seed=1)
    snapshots = [(1, soup.programs.copy())]
    soup.run(3)
    snapshots.append((4, soup.programs.copy()))
    gif = Image.open(io.BytesIO(soup_gif(snapshots, palette)))
    assert gif.n_frames == 2
    for i, (epoch, programs) in enumerate(snapshots):
        gif.seek(i)
        # The BFF palette has under 256 colours: the GIF keeps every one.
        expected = frame(programs, palette, f"epoch {epoch}")
        assert (np.asarray(gif.convert("RGB")) == expected).all()
    assert pick_frames(range(5), 10) == [0, 1, 2, 3, 4]
    assert pick_frames(range(100), 4) == [0, 33, 66, 99]
