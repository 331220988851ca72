import { Module } from '@nestjs/common';
import { AuditAdminController } from './audit.admin.controller';
import { AuditModule } from '@/infra/audit/audit.module';
import { JobsAdminController } from './jobs.admin.controller';
import { JobsAdminService } from './jobs.admin.service';

/**
 * The audit log (GET /admin/audit) and the queues' failed jobs; each feature module owns its
 * own `*.admin.controller.ts`.
 */
@Module({
  imports: [AuditModule],
  controllers: [AuditAdminController, JobsAdminController],
  providers: [JobsAdminService],
})
export class AdminModule {}
