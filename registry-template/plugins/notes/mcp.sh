#!/bin/sh
# A minimal MCP server speaking JSON-RPC over stdio, one message per line. Tools: add_note
# (argument "text") and list_notes. Kept to POSIX sh and sed so that it runs on any machine.
cd "$(dirname "$0")"
file="${NOTES_FILE:-notes.txt}"
touch "$file"
reply() { printf '{"jsonrpc":"2.0","id":%s,"result":%s}\n' "$1" "$2"; }
escape() { sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | awk 'BEGIN{ORS="\\n"} {print}'; }
while IFS= read -r line; do
  id=$(printf '%s' "$line" | sed -n 's/.*"id":[[:space:]]*\([0-9][0-9]*\).*/\1/p')
  method=$(printf '%s' "$line" | sed -n 's/.*"method":[[:space:]]*"\([^"]*\)".*/\1/p')
  [ -n "$id" ] || continue
  case "$method" in
    initialize)
      reply "$id" '{"protocolVersion":"2024-11-05","capabilities":{"tools":{}},"serverInfo":{"name":"notes","version":"1.0.0"}}' ;;
    tools/list)
      reply "$id" '{"tools":[{"name":"add_note","description":"Keep a note","inputSchema":{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}},{"name":"list_notes","description":"All notes","inputSchema":{"type":"object","properties":{}}}]}' ;;
    tools/call)
      case "$line" in
        *'"add_note"'*)
          text=$(printf '%s' "$line" | sed -n 's/.*"text":[[:space:]]*"\([^"]*\)".*/\1/p')
          printf '%s\n' "$text" >> "$file"
          reply "$id" '{"content":[{"type":"text","text":"noted"}]}' ;;
        *)
          reply "$id" "{\"content\":[{\"type\":\"text\",\"text\":\"$(escape < "$file")\"}]}" ;;
      esac ;;
    *)
      printf '{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"unknown method"}}\n' "$id" ;;
  esac
done
