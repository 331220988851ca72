import { Global, Module } from '@nestjs/common';
import { ClsPluginTransactional } from '@nestjs-cls/transactional';
import { ClsModule } from 'nestjs-cls';
import { PrismaPgTransactionalAdapter } from './prisma-pg-transactional-adapter';
import { PrismaService } from './prisma.service';

@Global()
@Module({ providers: [PrismaService], exports: [PrismaService] })
export class PrismaModule {}

/**
 * The single transaction mechanism: `@Transactional()` opens a unit of work and every
 * repository reads the ambient client through `TransactionHost`; a unit on the hot path may ask
 * for a raw pg transaction (`{ driver: 'pg' }`, PrismaPgTransactionalAdapter).
 */
export const TransactionsModule = ClsModule.forRoot({
  global: true,
  plugins: [
    new ClsPluginTransactional({
      imports: [PrismaModule],
      adapter: new PrismaPgTransactionalAdapter(),
    }),
  ],
});
