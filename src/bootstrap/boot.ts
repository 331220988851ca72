import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import pino from 'pino';
import { AppModule, type ProcessRoles } from '@/app/app.module';
import { createHttpApp, type HttpAppFactory } from '@/app/http-app';
import { ConfigError, loadEnvironment, type EnvironmentVariables } from '@/config/app-config';
import type { AppConfig } from '@/infra/config/app-config';
import { preflight } from './preflight';
import { StartupError } from './startup-error';

// The process must be gone within 10 s of SIGTERM even if a dependency hangs while closing.
const HARD_EXIT_CEILING_MS = 9_500;
const CLOSE_MARGIN_MS = 1_500;

function fail(message: string): never {
  process.stderr.write(`compute-exchange: ${message}\n`);
  process.exit(1);
}

/** Builds a worker-only process's Nest context from the root module (not yet initialised). */
export type WorkerContextFactory = (root: DynamicModule) => Promise<INestApplicationContext>;

const nestWorkerContext: WorkerContextFactory = (root) =>
  NestFactory.createApplicationContext(root, { bufferLogs: true });

/**
 * Starts a process with the given roles; the three entry points differ only in `roles`. Test
 * entry points pass a context or app factory that overrides providers (test/support/*.cjs).
 */
export async function boot(
  roles: ProcessRoles,
  createWorkerContext: WorkerContextFactory = nestWorkerContext,
  createHttpAppWith?: HttpAppFactory,
): Promise<void> {
  let env: EnvironmentVariables;
  try {
    env = loadEnvironment();
  } catch (error) {
    fail(error instanceof ConfigError ? error.message : String(error));
  }
  const log = pino({ name: 'boot', level: env.LOG_LEVEL });
  let app: INestApplicationContext;
  let config: AppConfig;
  // A signal during start-up (the worker's relay and queues may already run while other modules
  // still initialise) is kept and answered once started: the default action would kill the
  // process mid-way, with a signal instead of exit code 0.
  let signalled: NodeJS.Signals | undefined;
  const duringStartUp = (signal: NodeJS.Signals): void => {
    if (signalled === undefined) {
      log.info(`${signal} received while starting: stopping once started`);
      setTimeout(() => process.exit(0), HARD_EXIT_CEILING_MS).unref();
    }
    signalled ??= signal;
  };
  process.on('SIGTERM', duringStartUp);
  process.on('SIGINT', duringStartUp);
  try {
    config = await preflight(env, { info: (m) => log.info(m), warn: (m) => log.warn(m) });
    if (roles.api) {
      const http = await createHttpApp(config, roles, createHttpAppWith);
      await http.listen({ port: config.env.PORT, host: config.env.HOST });
      log.info(`API listening on http://${config.env.HOST}:${config.env.PORT} (docs at /docs)`);
      app = http;
    } else {
      app = await createWorkerContext(AppModule.register(config, roles));
      app.useLogger(app.get(PinoNestLogger));
      await app.init();
    }
  } catch (error) {
    if (error instanceof StartupError) fail(error.message);
    const e = error as { code?: string; message?: string };
    fail(`start-up failed: ${e.code ? `${e.code} ` : ''}${e.message ?? String(error)}`);
  }
  if (roles.worker) log.info('workers running');

  const grace = config.env.SHUTDOWN_GRACE_MS;
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.info(`${signal} received again: still draining (at most ${grace} ms)`);
      return;
    }
    stopping = true;
    log.info(`${signal} received: draining`);
    setTimeout(
      () => {
        log.warn('shutdown deadline reached; exiting with work left to stall recovery');
        process.exit(0);
      },
      Math.min(grace + CLOSE_MARGIN_MS, HARD_EXIT_CEILING_MS),
    ).unref();
    // Stop taking requests first: Nest would close HTTP only after the workers' drain.
    if (roles.api) {
      const server = (app as NestFastifyApplication).getHttpServer();
      server.close();
      server.closeIdleConnections();
    }
    app.close().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'error while stopping');
        process.exit(0);
      },
    );
  };
  // `on`, not `once`: Ctrl-C under `npm start` delivers SIGINT twice (the terminal signals the
  // whole process group and npm forwards its own), and an unhandled repeat would kill the drain.
  process.off('SIGTERM', duringStartUp);
  process.off('SIGINT', duringStartUp);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (signalled !== undefined) stop(signalled);
}
