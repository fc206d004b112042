#!/bin/sh
# A Telex node in busybox sh (tests/e2e/test_telex.py). Run without arguments it listens on
# $MULTISTACK_PORT_NODE; every connection runs `node.sh handle`: one line in, one line out.
#   PING                      -> PONG (the healthcheck)
#   SEND TEXT                 -> this node originates TEXT: MSG to every peer; replies with their ACKs
#   MSG SENDER ROUTE TEXT     -> kept in the inbox (on the node's volume) as "ROUTE TEXT", then
#                                relayed to every peer but SENDER with ROUTE>ME; replies ACK ME ...
#   INBOX                     -> every message received, one per line, then END
# Peers come from member.env: TELEX_PEERS="lon-b:38824 ..." (member name: port on the shared network).
set -u
INBOX=/var/lib/telex/inbox
ME=$MULTISTACK_MEMBER

log() { echo "$MULTISTACK_CALLSIGN $*" > /proc/1/fd/1; }  # the container's log (PID 1 is docker-init)

relay() {  # relay SENDER ROUTE TEXT: to every peer but SENDER; prints the peers' answers
  acks=""
  for peer in ${TELEX_PEERS:-}; do
    host=${peer%:*}
    [ "$host" = "$1" ] && continue
    answer=$(echo "MSG $ME $2 $3" | timeout 10 nc "$host" "${peer##*:}")
    log "-> $peer: ${answer:-no answer}"
    acks="$acks [$answer]"
  done
  echo "$acks"
}

if [ "${1:-}" != handle ]; then
  mkdir -p /var/lib/telex && touch "$INBOX"
  log "listening on :$MULTISTACK_PORT_NODE, peers: ${TELEX_PEERS:-none}"
  exec nc -ll -p "$MULTISTACK_PORT_NODE" -e /bin/sh /opt/telex/node.sh handle
fi

read -r verb rest || exit 0
case "$verb" in
  PING) echo PONG ;;
  INBOX) cat "$INBOX"; echo END ;;
  SEND)
    log "sends: $rest"
    echo "SENT$(relay "$ME" "$ME" "$rest")" ;;
  MSG)
    sender=${rest%% *}; rest=${rest#* }
    route=${rest%% *}; text=${rest#* }
    echo "$route $text" >> "$INBOX"
    log "<- $sender: $text (route $route)"
    echo "ACK $ME$(relay "$sender" "$route>$ME" "$text")" ;;
  *) echo "ERR unknown $verb" ;;
esac
