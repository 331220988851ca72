import { Module } from '@nestjs/common';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';

/** Audit for admin routes; each feature module owns its own `*.admin.controller.ts`. */
@Module({ providers: [AuditRepository, AuditService], exports: [AuditService] })
export class AdminModule {}
