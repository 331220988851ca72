import 'reflect-metadata';
import { boot } from './bootstrap/boot';

// One process: API and workers (what `npm start` runs on a single machine).
void boot({ api: true, worker: true });
