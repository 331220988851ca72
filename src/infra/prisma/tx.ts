import { TransactionHost } from '@nestjs-cls/transactional';
import type { PrismaPgTransactionalAdapter } from './prisma-pg-transactional-adapter';

/** The transaction host repositories read the ambient Prisma client (or raw pg client) through. */
export type Tx = TransactionHost<PrismaPgTransactionalAdapter>;
// Also a value, so `txHost: Tx` in a constructor still tells Nest to inject TransactionHost.
export const Tx = TransactionHost;
