# Shared by scripts/demo and scripts/bench-bot: starts the emulators (ticketeer-testkit), builds a
# guild the bot can work in through their control API, and writes a bot config pointing at them.
# Source it, then call start_emulators and make_guild_config. Needs curl and python3.

# The ports can be moved (TICKETEER_DEMO_PORTS=base: base, base+1, base+2 and base+3), so a check
# of the demo can run beside a demo someone is trying out.
if [ -n "${TICKETEER_DEMO_PORTS:-}" ]; then
  DISCORD_PORT=$((TICKETEER_DEMO_PORTS))
  BOT_HTTP_PORT=$((TICKETEER_DEMO_PORTS + 3))
else
  DISCORD_PORT=18790
  BOT_HTTP_PORT=18080
fi
PRIVATEBIN_PORT=$((DISCORD_PORT + 1))
CONTROL_PORT=$((DISCORD_PORT + 2))
CONTROL="http://127.0.0.1:$CONTROL_PORT"

# start_emulators BIN_DIR LOG: runs ticketeer-testkit in the background; sets EMULATORS_PID and TOKEN.
start_emulators() {
  "$1/ticketeer-testkit" --discord "127.0.0.1:$DISCORD_PORT" --privatebin "127.0.0.1:$PRIVATEBIN_PORT" \
    --control "127.0.0.1:$CONTROL_PORT" --traffic-limit 0 >"$2" 2>&1 &
  EMULATORS_PID=$!
  for _ in $(seq 100); do curl -sf "$CONTROL/info" >/dev/null && break; sleep 0.1; done
  curl -sf "$CONTROL/info" >/dev/null || { echo "error: the emulators did not start; their log:" >&2; cat "$2" >&2; return 1; }
  TOKEN="$(awk '$1 == "token" {print $2} $3 == "token" {print $4}' "$2" | head -n 1)"
}

control_post() { curl -sf -X "$1" "$CONTROL$2" -H 'content-type: application/json' -d "$3"; }
json_id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }

# make_guild_config CONFIG_PATH: a guild with the permissions the README asks for, a Staff role, a
# member "alice", the Discord category and channels; writes the bot config for it. Sets GUILD, ROLE,
# ALICE, PARENT, CREATE and LOG.
make_guild_config() {
  GUILD="$(control_post POST /guilds '{"name": "Ticketeer demo", "bot_permissions": "2251800082369552"}' | json_id)"
  ROLE="$(control_post POST "/guilds/$GUILD/roles" '{"name": "Staff", "permissions": "0"}' | json_id)"
  ALICE="$(control_post POST /users '{"name": "alice"}' | json_id)"
  control_post PUT "/guilds/$GUILD/members/$ALICE" '{"roles": []}' >/dev/null
  PARENT="$(control_post POST "/guilds/$GUILD/channels" '{"name": "Tickets", "kind": "category"}' | json_id)"
  CREATE="$(control_post POST "/guilds/$GUILD/channels" '{"name": "open-a-ticket", "kind": "text"}' | json_id)"
  LOG="$(control_post POST "/guilds/$GUILD/channels" '{"name": "ticket-log", "kind": "text"}' | json_id)"
  cat >"$1" <<CONFIG
discord:
  apiProxy: 127.0.0.1:$DISCORD_PORT
  gatewayUrl: ws://127.0.0.1:$DISCORD_PORT
privatebin:
  url: http://127.0.0.1:$PRIVATEBIN_PORT/
http:
  listen: 127.0.0.1:$BOT_HTTP_PORT
log:
  level: ${BOT_LOG_LEVEL:-info}
categories:
  demo:
    guildId: "$GUILD"
    name: Demo support
    parentChannelId: "$PARENT"
    createChannelId: "$CREATE"
    roleIds: ["$ROLE"]
    logChannelId: "$LOG"
    createMessage: Need help? Open a ticket.
    createdMessage: Welcome! Describe your problem and the staff will answer here.
    dmOnClose:
      enabled: true
      message: "Your ticket is closed. Transcript: {transcript_url}"
CONFIG
}
