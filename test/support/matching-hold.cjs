// The hold of a matching run, bound over MatchingRunProbe by the suites that stop a worker at
// the worst moment. Plain CommonJS so the spawned test worker (matching-hold-worker.cjs) needs
// no compile step; jest loads the same file.
const POLL_MS = 20;
const MAX_HOLD_MS = 120_000;

/**
 * `hold` is set by a test; `held` lists the pid of each run waiting on it. One pair per moment of
 * a run (MatchingRunProbe's RunMoment); the first moment keeps the keys it always had.
 */
function holdKeys(prefix, marketId, moment = 'after-book-read') {
  const at = moment === 'after-book-read' ? '' : `${moment}:`;
  return {
    hold: `${prefix}:test:matching-hold:${at}${marketId}`,
    held: `${prefix}:test:matching-held:${at}${marketId}`,
  };
}

/** While a test holds a market at a moment, a run that reaches it waits and says so with its pid. */
class MatchingHold {
  constructor(client, prefix) {
    this.client = client;
    this.prefix = prefix;
    this.active = true;
  }

  async at(moment, marketId) {
    const keys = holdKeys(this.prefix, marketId, moment);
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
