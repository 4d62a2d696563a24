"""Loading never runs code, and paths read from recipes, WFDB headers, stores and checkpoints never
lead outside their folders.

The pickle payload below writes a marker file when unpickled; a control test proves it does
under plain ``pickle``, the others prove the commands refuse it and the marker never appears.
File access is watched with an audit hook (``sys.addaudithook``): opening or listing anything in
a sentinel folder named by the hostile inputs fails the test.
"""

from __future__ import annotations

import ast
import hashlib
import json
import pickle
import shutil
import sys
from pathlib import Path

import pytest
from bad_inputs import checkpoint_meta, store_attrs, write_good_edf, write_wfdb
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app

runner = CliRunner()
PACKAGE = Path(__file__).resolve().parents[2] / "cwtmae_cli"


class Payload:
    """Unpickling this writes ``marker``: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('payload ran')",))


def _one_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_the_payload_runs_under_plain_pickle(tmp_path) -> None:
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps({"step": 1, "x": Payload(marker)}))
    assert marker.read_text() == "payload ran"


@pytest.mark.parametrize("container", ["torch-save", "raw-pickle"])
def test_resume_refuses_a_train_state_that_runs_code(tmp_path, trained, container) -> None:
    import torch

    run = Path(shutil.copytree(trained["mae_run"], tmp_path / "run"))
    marker = tmp_path / "ran"
    state = run / "checkpoints" / "step-0000001" / "train_state.pt"
    evil = {"step": 1, "optimizer": Payload(marker)}
    if container == "torch-save":
        torch.save(evil, state)
    else:
        state.write_bytes(pickle.dumps(evil))
    result = runner.invoke(app, ["pretrain", "--resume", str(run), "--device", "cpu"])
    message = _one_error(result)
    assert "train_state.pt" in message
    assert not marker.exists(), "the pickle payload ran"


def test_weights_that_are_a_pickle_are_refused(tmp_path, trained) -> None:
    ckpt = Path(shutil.copytree(trained["classifier"], tmp_path / "ckpt"))
    marker = tmp_path / "ran"
    weights = ckpt / "model.safetensors"
    weights.write_bytes(pickle.dumps({"w": Payload(marker)}))
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()  # so the checksum passes
    meta = json.loads((ckpt / "meta.json").read_text())
    checkpoint_meta(ckpt, weights={**meta["weights"], "sha256": digest})
    args = ["evaluate", "--checkpoint", str(ckpt), "--data", str(trained["store"])]
    message = _one_error(runner.invoke(app, [*args, "--device", "cpu"]))
    assert "model.safetensors" in message and "not safetensors" in message
    assert not marker.exists(), "the pickle payload ran"


# -- the code base loads nothing through pickle -----------------------------------------------
FORBIDDEN_MODULES = {"pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal", "_pickle"}


def unsafe_loads(source: str, name: str = "<code>") -> list[str]:
    """Every unsafe deserialisation in ``source``: pickle-like imports, ``torch.load`` without
    ``weights_only=True``, ``np.load(allow_pickle=True)``, ``torch.jit.load``, ``yaml.load``,
    ``pandas.read_pickle``, ``eval`` / ``exec``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            for mod in names:
                if mod and mod.split(".")[0] in FORBIDDEN_MODULES:
                    found.append(f"{name}:{node.lineno}: import {mod}")
        if not isinstance(node, ast.Call):
            continue
        func = ast.unparse(node.func)
        keywords = {k.arg: k.value for k in node.keywords}
        tail = func.rsplit(".", 1)[-1]
        if func in ("eval", "exec") or func.endswith(("jit.load", "read_pickle", "yaml.load")):
            found.append(f"{name}:{node.lineno}: {func}(...)")
        elif func.endswith("torch.load") or func == "load" and "weights_only" in keywords:
            flag = keywords.get("weights_only")
            if not (isinstance(flag, ast.Constant) and flag.value is True):
                found.append(f"{name}:{node.lineno}: {func} without weights_only=True")
        elif tail == "load" and func.split(".")[0] in ("np", "numpy"):
            flag = keywords.get("allow_pickle")
            if flag is not None and not (isinstance(flag, ast.Constant) and flag.value is False):
                found.append(f"{name}:{node.lineno}: {func}(allow_pickle=...)")
    return found


def test_the_scanner_catches_each_unsafe_load() -> None:
    bad = (
        "import pickle\nfrom dill import loads\nimport torch\nimport numpy as np\n"
        "torch.load('a')\ntorch.load('a', weights_only=False)\nnp.load('a', allow_pickle=True)\n"
        "torch.jit.load('m')\nexec('1')\n"
    )
    assert len(unsafe_loads(bad)) == 7
    assert (
        unsafe_loads("import torch\ntorch.load('a', map_location='cpu', weights_only=True)\n") == []
    )


def test_only_safetensors_and_weights_only_loads_exist_in_the_code_base() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 40
    problems = [p for f in files for p in unsafe_loads(f.read_text(), str(f.relative_to(PACKAGE)))]
    assert problems == []
    text = "\n".join(f.read_text() for f in files)
    assert "safetensors" in text and "weights_only=True" in text


# -- paths stay inside their folders -----------------------------------------------------------
_WATCHED: dict[str, object] = {"root": None, "hits": []}
_EVENTS = {"open", "os.listdir", "os.scandir", "os.remove", "os.rename", "os.mkdir", "os.rmdir"}


def _hook(event: str, args: tuple) -> None:
    root = _WATCHED["root"]
    if root is None or event not in _EVENTS or not args:
        return
    target = args[0]
    if isinstance(target, (str, bytes, Path)):
        text = target.decode(errors="replace") if isinstance(target, bytes) else str(target)
        if str(root) in text:
            _WATCHED["hits"].append((event, text))


sys.addaudithook(_hook)


def watch(folder: Path) -> None:
    """From now until the test ends, any access to ``folder`` fails the test."""
    _WATCHED.update(root=folder, hits=[])


@pytest.fixture
def sentinel(tmp_path):
    """A folder the hostile inputs point at; once ``watch``ed, any access to it fails the test."""
    folder = tmp_path / "sentinel"
    folder.mkdir()
    write_good_edf(folder / "secret.edf")
    (folder / "secret.dat").write_bytes(bytes(100_000))
    yield folder
    hits = list(_WATCHED["hits"])
    _WATCHED.update(root=None, hits=[])
    assert hits == [], f"files outside the allowed folders were accessed: {hits[:5]}"


def test_latest_pointer_outside_the_run_is_refused(tmp_path, trained, sentinel) -> None:
    shutil.copytree(trained["classifier"], sentinel / "ckpt")
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "latest").write_text("../sentinel/ckpt\n")
    watch(sentinel)
    message = _one_error(
        runner.invoke(app, ["evaluate", "--checkpoint", str(run), "--data", str(trained["store"])])
    )
    assert "points outside" in message
    message = _one_error(runner.invoke(app, ["pretrain", "--resume", str(run)]))
    assert "points outside" in message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("pattern", "../sentinel/*.edf"),
        ("pattern", "sub/../../sentinel/*.edf"),
        ("pattern", "/etc/*.conf"),
        ("paired_pattern", "../sentinel/{prefix}*.edf"),
        ("annotation_ext", "../../sentinel/x"),
    ],
)
def test_recipe_patterns_cannot_leave_the_source(tmp_path, sentinel, key, value) -> None:
    source = tmp_path / "src"
    write_good_edf(source / "ok.edf")
    annotations = 'annotations = "paired"\n' if key == "paired_pattern" else ""
    recipe = tmp_path / "escape.toml"
    recipe.write_text(
        f'format = "edf"\n[source]\n{annotations}{key} = {json.dumps(value)}\n'
        '[signal]\nchannels = ["Fpz-Cz"]\n'
    )
    out = tmp_path / "out.zarr"
    watch(sentinel)
    result = runner.invoke(
        app, ["prepare", str(recipe), "--source", str(source), "--out", str(out)]
    )
    message = _one_error(result)
    assert f"source.{key}" in message and "escape.toml" in message
    assert not out.exists()


def test_wfdb_header_cannot_name_a_signal_file_outside_its_folder(tmp_path, sentinel) -> None:
    hea = write_wfdb(tmp_path / "src")
    hea.write_text(hea.read_text().replace("r1.dat ", "../sentinel/secret.dat "))
    out = tmp_path / "out.zarr"
    args = ["prepare", "wfdb", "--source", str(tmp_path / "src"), "--channels", "MLII"]
    watch(sentinel)
    message = _one_error(runner.invoke(app, [*args, "--out", str(out)]))
    assert "r1" in message  # wfdb's header syntax refuses it; the reader would too


def test_hostile_paths_in_store_and_checkpoint_metadata_are_never_opened(
    tmp_path, trained, sentinel
) -> None:
    store = Path(shutil.copytree(trained["store"], tmp_path / "s.zarr"))
    meta = json.loads((store / "zarr.json").read_text())["attributes"]
    recordings = [
        {**r, "id": f"../sentinel/{r['id']}", "source_files": [str(sentinel / "secret.edf")]}
        for r in meta["recordings"]
    ]
    store_attrs(store, recordings=recordings, recipe={**meta["recipe"], "source": str(sentinel)})
    ckpt = Path(shutil.copytree(trained["classifier"], tmp_path / "ckpt"))
    checkpoint_meta(ckpt, store=str(sentinel / "store.zarr"))
    commands = [
        ["inspect", str(store)],
        ["inspect", str(ckpt)],
        ["evaluate", "--checkpoint", str(ckpt), "--data", str(store), "--split", "val",
         "--per-recording", "--device", "cpu"],
        ["pretrain", "--data", str(store), "--model", "tiny", "--steps", "1", "--batch-size",
         "2", "--device", "cpu", "--out", str(tmp_path / "run")],
    ]  # fmt: skip
    watch(sentinel)
    for args in commands:
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output


def test_the_audit_hook_sees_an_access(sentinel) -> None:
    watch(sentinel)
    (sentinel / "secret.edf").read_bytes()
    assert _WATCHED["hits"] and _WATCHED["hits"][0][0] == "open"
    _WATCHED["hits"] = []


def test_reader_refuses_signal_files_outside_the_record_folder(tmp_path, sentinel, monkeypatch):
    """Defence in depth: even a header that ``wfdb`` parsed with a path in it is refused."""
    import wfdb

    from cwtmae_cli.data.readers.dispatch import read_recording
    from cwtmae_cli.errors import DataError

    hea = write_wfdb(tmp_path / "src")
    header = wfdb.rdheader(str(hea.with_suffix("")))
    header.file_name = ["../sentinel/secret.dat"]
    monkeypatch.setattr(wfdb, "rdheader", lambda *a, **k: header)
    watch(sentinel)
    with pytest.raises(DataError, match="outside its folder"):
        read_recording(hea)
