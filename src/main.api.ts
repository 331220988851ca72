import 'reflect-metadata';
import { boot } from './bootstrap/boot';

// HTTP only; scale these behind a load balancer.
void boot({ api: true, worker: false });
