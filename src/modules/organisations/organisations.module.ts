import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { AppConfig } from '@/infra/config/app-config';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { AuditModule } from '@/infra/audit/audit.module';
import { Authenticator } from '@/infra/auth/authenticator';
import { BuyersModule } from '@/modules/buyers/buyers.module';
import { EventsModule } from '@/modules/events/events.module';
import { ProvidersModule } from '@/modules/providers/providers.module';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';
import { AccessTokens } from './auth/access-tokens';
import { ApiKeyCache } from './auth/api-key-cache';
import { ApiKeyLimiter } from './auth/api-key-limiter';
import { AuthController } from './auth/auth.controller';
import { AuthGuard } from '@/infra/auth/auth.guard';
import { AuthService } from './auth/auth.service';
import { LoginLimiter } from './auth/login-limiter';
import { StreamTickets } from './auth/stream-tickets';
import { StreamTicketsController } from './auth/stream-tickets.controller';
import { OrganisationsAdminController } from './organisations.admin.controller';
import { OrganisationsAdminService } from './organisations.admin.service';
import { OrganisationsController } from './organisations.controller';
import { OrganisationsRepository } from './organisations.repository';
import { OrganisationsService } from './organisations.service';
import { SessionsRepository } from './sessions.repository';
import { UsersService } from './users.service';

/** Organisations, people, API keys and authentication (binds the global AuthGuard and its Authenticator). */
@Module({
  imports: [
    AuditModule,
    EventsModule,
    // Suspension cancels the organisation's orders through their own modules.
    BuyersModule,
    ProvidersModule,
    JwtModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ secret: config.secrets.JWT_SECRET }),
    }),
  ],
  controllers: [
    OrganisationsController,
    AuthController,
    ApiKeysController,
    OrganisationsAdminController,
    StreamTicketsController,
  ],
  providers: [
    OrganisationsRepository,
    ApiKeysRepository,
    SessionsRepository,
    OrganisationsService,
    ApiKeysService,
    UsersService,
    OrganisationsAdminService,
    AuthService,
    ApiKeyCache,
    ApiKeyLimiter,
    AccessTokens,
    LoginLimiter,
    StreamTickets,
    CursorCodec,
    { provide: Authenticator, useExisting: AuthService },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [OrganisationsService, AuthService],
})
export class OrganisationsModule {}
