# Shell helpers the walkthroughs in README.md and docs/ source (bash). They expect API and KEY.
post() { # POST $2 as JSON to $1 with the key in $KEY and a fresh Idempotency-Key
  curl -sS --fail-with-body -w "\n" "$API$1" -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
    -H "idempotency-key: $(node -p 'crypto.randomUUID()')" -d "$2"
}
put() { curl -sS --fail-with-body -w "\n" -X PUT "$API$1" -H "authorization: Bearer $KEY" -H 'content-type: application/json' -d "$2"; }
get() { curl -sS --fail-with-body -w "\n" "$API$1" -H "authorization: Bearer $KEY"; }
field() { # a field of the JSON on stdin: strings as they are, the rest as JSON
  node -p "v = JSON.parse(require('fs').readFileSync(0, 'utf8'))$1; typeof v === 'string' ? v : JSON.stringify(v)"
}
clock() { CLOCK=controllable npm run -s clock -- "$@"; } # show or move the exchange's time
at() { node -p "new Date(Date.parse('$(clock)') + $1 * 3600e3).toISOString()"; } # $1 hours from the exchange's now
