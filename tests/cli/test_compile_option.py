"""``pretrain --compile`` on a machine where the compile backend cannot work: one warning line on
stderr, the run finishes eager (exit 0)."""

from __future__ import annotations

import torch
from stand_ins import write_sine_store
from typer.testing import CliRunner

from cwtmae_cli.cli.app import app

runner = CliRunner()


def test_pretrain_compile_without_a_backend_warns_once_and_finishes(tmp_path, monkeypatch):
    write_sine_store(tmp_path / "stores" / "sine.zarr", n_per_class=4)

    def no_compiler(module, **_):
        def fail(*args, **kwargs):
            raise RuntimeError("backend='inductor' raised:\nInvalidCxxCompiler: No working C++ "
                               "compiler found in torch._inductor.config.cpp.cxx")
        return fail

    monkeypatch.setattr(torch, "compile", no_compiler)
    result = runner.invoke(app, ["pretrain", "--model", "tiny", "--batch-size", "4",
                                 "--device", "cpu", "--steps", "2", "--compile",
                                 "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "--compile" in line]
    assert lines == ["warning: --compile: torch.compile cannot run here (RuntimeError: "
                     "backend='inductor' raised: InvalidCxxCompiler: No working C++ compiler "
                     "found in torch._inductor.config.cpp.cxx); the run continues eager"]
    assert "torch.compile: the first step" not in result.stderr
