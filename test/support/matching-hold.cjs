// The hold of a matching run, bound over MatchingRunProbe by the suites that stop a worker at
// the worst moment. Plain CommonJS so the spawned test worker (matching-hold-worker.cjs) needs
// no compile step; jest loads the same file.
const POLL_MS = 20;
const MAX_HOLD_MS = 120_000;

/** `hold` is set by a test; `held` lists the pid of each run waiting on it. */
function holdKeys(prefix, marketId) {
  return {
    hold: `${prefix}:test:matching-hold:${marketId}`,
    held: `${prefix}:test:matching-held:${marketId}`,
  };
}

/** While a test holds a market, a run that has read its book waits and says so with its pid. */
class MatchingHold {
  constructor(client, prefix) {
    this.client = client;
    this.prefix = prefix;
    this.active = true;
  }

  async afterBookRead(marketId) {
    const keys = holdKeys(this.prefix, marketId);
    if ((await this.client.exists(keys.hold)) === 0) return;
    await this.client.rpush(keys.held, String(process.pid));
    // Counts poll intervals rather than reading a second clock.
    for (let waited = 0; waited < MAX_HOLD_MS; waited += POLL_MS) {
      if ((await this.client.exists(keys.hold)) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    await this.client.lrem(keys.held, 1, String(process.pid));
  }
}

module.exports = { holdKeys, MatchingHold };
