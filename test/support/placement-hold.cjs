// The hold of a group commit of placements, bound over OrderPlacementProbe by the suites that
// form batches at will or SIGKILL an API process mid-batch. Plain CommonJS so the spawned test
// API (placement-hold-api.cjs) needs no compile step; jest loads the same file.
const POLL_MS = 20;
const MAX_HOLD_MS = 120_000;

/**
 * `hold`, when set, is how many batches each process lets commit (0: hold every batch before
 * COMMIT); `held` lists `pid:batch:size` of each batch waiting on it; `batches` lists
 * `pid:size` of every batch that reached its COMMIT; `queued:<pid>` is how many placements wait
 * for the process's next commit.
 */
function placementHoldKeys(prefix) {
  return {
    hold: `${prefix}:test:placement-hold`,
    held: `${prefix}:test:placement-held`,
    batches: `${prefix}:test:placement-batches`,
    queued: (pid) => `${prefix}:test:placement-queued:${pid}`,
  };
}

/** Takes a Redis client of its own (the app's client is counted by some suites), closed with the app. */
class PlacementHold {
  constructor(client, prefix) {
    this.client = client;
    this.keys = placementHoldKeys(prefix);
    this.active = true;
    this.batches = 0;
  }

  queued(waiting) {
    this.client.set(this.keys.queued(process.pid), String(waiting)).catch(() => undefined);
  }

  async beforeCommit(placements) {
    this.batches += 1;
    const batch = this.batches;
    const passes = async () => {
      const hold = await this.client.get(this.keys.hold);
      return hold === null || Number(hold) >= batch;
    };
    if (!(await passes())) {
      const entry = `${process.pid}:${batch}:${placements}`;
      await this.client.rpush(this.keys.held, entry);
      // Counts poll intervals rather than reading a second clock.
      for (let waited = 0; waited < MAX_HOLD_MS; waited += POLL_MS) {
        if (await passes()) break;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      await this.client.lrem(this.keys.held, 1, entry);
    }
    await this.client.rpush(this.keys.batches, `${process.pid}:${placements}`);
  }

  onModuleDestroy() {
    this.client.disconnect();
  }
}

module.exports = { placementHoldKeys, PlacementHold };
