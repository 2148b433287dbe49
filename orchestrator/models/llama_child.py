"""`python -m orchestrator.models.llama_child ARGS`: llama-cpp-python's server, as our child.

Exactly `python -m llama_cpp.server ARGS`, with two guards a child process needs:
- it exits when its parent does (stdin is our pipe; end of file means the parent is
  gone, even after a kill -9 that ran no cleanup), so no model server outlives a run;
- the parent's environment cannot reconfigure it: llama-cpp-python reads its settings
  (PORT, MODEL, N_CTX, ...) from environment variables too, which would silently override
  the command line we built.
"""

from __future__ import annotations

import os
import sys
import threading


def _exit_with_parent() -> None:
    def watch() -> None:
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _drop_setting_variables() -> None:
    from llama_cpp.server.settings import ModelSettings, ServerSettings

    fields = {*ModelSettings.model_fields, *ServerSettings.model_fields, "config_file"}
    for key in list(os.environ):
        if key.lower() in fields:
            del os.environ[key]


def main() -> None:
    _exit_with_parent()
    _drop_setting_variables()
    from llama_cpp.server.__main__ import main as serve

    sys.argv[0] = "llama_cpp.server"
    serve()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
