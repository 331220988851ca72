import 'reflect-metadata';
import { boot } from './bootstrap/boot';

// BullMQ processors, the outbox relay and schedulers; no HTTP server.
void boot({ api: false, worker: true });
