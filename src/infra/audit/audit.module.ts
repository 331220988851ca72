import { Module } from '@nestjs/common';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';

/** The audit trail every admin action writes in its own transaction, and its paged read. */
@Module({
  providers: [AuditRepository, AuditService, CursorCodec],
  exports: [AuditService],
})
export class AuditModule {}
