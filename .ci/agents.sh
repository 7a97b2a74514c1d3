# The real coding-agent programs for tests/it/real_agents.rs, from npm at pinned versions, in
# target/agents (made once, reused while the pins are the same, like the Python venv). Sourced by
# .ci/run from the checkout's root; exports ATK_TEST_AGENTS_BIN, their node_modules/.bin.
# Costs about 25 s and 1.3 GB the first time (npm's cache aside); nothing when reused.
# The programs are only ever run by the tests with a sandboxed HOME (see tests/it/common/real_agents.rs).

agents_dir=target/agents
agents_pins="@anthropic-ai/claude-code@2.1.332 @openai/codex@0.171.0 @google/gemini-cli@0.61.0 @augmentcode/auggie@0.36.0 opencode-ai@1.18.33"
agents_bins="claude codex gemini auggie opencode"

agents_ready() {
  [ "$(cat "$agents_dir/.pins" 2>/dev/null)" = "$agents_pins" ] || return 1
  for b in $agents_bins; do
    [ -x "$agents_dir/node_modules/.bin/$b" ] || return 1
  done
}

if ! agents_ready; then
  echo "== agent programs ($agents_dir: $agents_pins)"
  if ! command -v npm >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
  fi
  # Gemini CLI and Auggie need Node 20 (Claude Code's and OpenCode's programs are native).
  if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    echo "the agent programs need Node.js 20 or later; this is $(node --version)" >&2
    exit 1
  fi
  rm -rf "$agents_dir"
  mkdir -p "$agents_dir"
  started=$(date +%s)
  # shellcheck disable=SC2086
  npm install --prefix "$agents_dir" --no-fund --no-audit --save-exact --loglevel=error $agents_pins
  echo "$agents_pins" >"$agents_dir/.pins"
  agents_ready || { echo "agent programs missing after npm install" >&2; exit 1; }
  echo "   installed in $(($(date +%s) - started))s, $(du -sh "$agents_dir" | cut -f1)"
fi
ATK_TEST_AGENTS_BIN="$PWD/$agents_dir/node_modules/.bin"
export ATK_TEST_AGENTS_BIN
