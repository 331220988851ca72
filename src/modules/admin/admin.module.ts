import { Module } from '@nestjs/common';
import { CursorCodec } from '../../infra/pagination/cursor-codec';
import { AuditAdminController } from './audit.admin.controller';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';
import { JobsAdminController } from './jobs.admin.controller';
import { JobsAdminService } from './jobs.admin.service';

/**
 * Audit for admin routes and its log (GET /admin/audit), and the queues' failed jobs; each
 * feature module owns its own `*.admin.controller.ts`.
 */
@Module({
  controllers: [AuditAdminController, JobsAdminController],
  providers: [AuditRepository, AuditService, JobsAdminService, CursorCodec],
  exports: [AuditService],
})
export class AdminModule {}
