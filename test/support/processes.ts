import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { waitFor } from './wait-for';

const ROOT = join(__dirname, '..', '..');

export interface RunningProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) and how long after the call it came. */
  exited(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; afterMs: number }>;
}

/** Runs a built entry point (dist/...) as its own process, as `npm start` would. */
export function spawnBuilt(entry: string, env: Record<string, string>): RunningProcess {
  const child = spawn(process.execPath, [join(ROOT, 'dist', entry)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
    exited: async (timeoutMs) => {
      const from = Date.now();
      let timer: NodeJS.Timeout | undefined;
      const result = await Promise.race([
        exit,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`process did not exit within ${timeoutMs} ms; stderr: ${err}`));
          }, timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
      return { code: result.code, signal: result.signal, afterMs: result.at - from };
    },
  };
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
