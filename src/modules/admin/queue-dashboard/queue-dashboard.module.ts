import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { AppConfig } from '@/infra/config/app-config';
import { OrganisationsModule } from '@/modules/organisations/organisations.module';
import { QueueDashboardAuthService } from './queue-dashboard-auth.service';
import { QueueSessionController } from './queue-session.controller';

/** Admin access to the BullMQ dashboard; `mountQueueDashboard` serves the board itself. */
@Module({
  imports: [
    OrganisationsModule,
    JwtModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ secret: config.secrets.JWT_SECRET }),
    }),
  ],
  controllers: [QueueSessionController],
  providers: [QueueDashboardAuthService],
  exports: [QueueDashboardAuthService],
})
export class QueueDashboardModule {}
