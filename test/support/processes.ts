import { spawn, type ChildProcess, type StdioPipe } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { scaled, waitFor } from './wait-for';

const ROOT = join(__dirname, '..', '..');
const GUARD = join(__dirname, 'orphan-guard.cjs');

export interface RunningProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) and how long after the call it came. */
  exited(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; afterMs: number }>;
}

export interface SpawnOptions {
  /** `pipe` for a process that reads stdin (the admin CLI). */
  stdin?: 'ignore' | 'pipe';
}

// Process groups this test file started; its afterAll (suite-cleanup.ts) kills what is left.
const groups = new Set<number>();
let closed = false;

/**
 * Spawns a process for a test, tracked so it dies with its suite:
 * - in its own process group (detached), so killing the group also takes npm's or a shell's
 *   children with it;
 * - with `orphan-guard.cjs` preloaded into every node process of the group, which exits when
 *   this jest process is gone (a crashed or killed jest worker runs no afterAll);
 * - marked CX_TEST_SPAWNED_BY_RUN=<the run's CX_TEST_RUN_ID>, by which global teardown finds stragglers.
 * Nothing the caller's `env` lacks is inherited from the jest process except PATH and HOME.
 */
export function spawnForTest(
  command: string,
  args: string[],
  env: Record<string, string>,
  options: SpawnOptions = {},
): ChildProcess {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      ...(process.env.HOME === undefined ? {} : { HOME: process.env.HOME }),
      ...env,
      NODE_OPTIONS: `--require "${GUARD}"`,
      CX_TEST_PARENT_PID: String(process.pid),
      CX_TEST_SPAWNED_BY_RUN: process.env.CX_TEST_RUN_ID ?? 'adhoc',
    },
    detached: true,
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'] as [StdioPipe | 'ignore', 'pipe', 'pipe'],
  });
  if (child.pid !== undefined) groups.add(child.pid);
  // A test body still running after its suite timed out must not start anything that outlives it.
  if (closed) killGroup(child.pid);
  return child;
}

function killGroup(pgid: number | undefined): void {
  if (pgid === undefined) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: the group is gone already.
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills every process group this test file spawned and waits until they are gone. */
export async function killSpawnedProcesses(): Promise<void> {
  closed = true;
  for (const pgid of groups) killGroup(pgid);
  await waitFor(
    'the spawned process groups to exit',
    () => ([...groups].some(groupAlive) ? undefined : true),
    10_000,
    25,
  );
  groups.clear();
}

/**
 * Pids of live processes with an environment line starting with `entry` (`CX_TEST_SPAWNED_BY_RUN=...`). Linux only
 * (/proc); elsewhere none are found and the orphan guard is the only safety net.
 */
export function processesWithEnv(entry: string): number[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const pid of pids) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (env.some((line) => line.startsWith(entry))) found.push(Number(pid));
    } catch {
      // Gone, or another user's process.
    }
  }
  return found;
}

/** Wraps a spawned child with its output and a bounded wait for its exit. */
export function track(child: ChildProcess): RunningProcess {
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited: async (requestedMs) => {
      const from = Date.now();
      // A starved test process sees even a SIGKILLed child's exit late: the bound stretches with load.
      const timeoutMs = scaled(requestedMs);
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        exit,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            killGroup(child.pid);
            reject(new Error(`process did not exit within ${timeoutMs} ms; stderr: ${err}`));
          }, timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      return { code: result.code, signal: result.signal, afterMs: result.at - from };
    },
  };
}

/** Runs a built entry point (dist/...) as its own process, as `npm start` would. */
export function spawnBuilt(entry: string, env: Record<string, string>): RunningProcess {
  return spawnScript(join('dist', entry), env);
}

/** Runs a script of the checkout as its own process, e.g. a test entry point over dist/. */
export function spawnScript(script: string, env: Record<string, string>): RunningProcess {
  return track(spawnForTest(process.execPath, [join(ROOT, script)], env));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Waits for GET url to answer `status`; returns the body. 40 s: a boot on a loaded 2-core CI machine took ~20 s. */
export async function waitForHttp(url: string, status = 200, timeoutMs = 40_000): Promise<string> {
  return waitFor(
    `${url} to answer ${status}`,
    async () => {
      try {
        const res = await fetch(url);
        const body = await res.text();
        return res.status === status ? body : undefined;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
    100,
  );
}
