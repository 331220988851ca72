import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterPrisma } from '@nestjs-cls/transactional-adapter-prisma';
import type { PrismaService } from './prisma.service';

/** The transaction host repositories read the ambient Prisma client through. */
export type Tx = TransactionHost<TransactionalAdapterPrisma<PrismaService>>;
// Also a value, so `txHost: Tx` in a constructor still tells Nest to inject TransactionHost.
export const Tx = TransactionHost;
