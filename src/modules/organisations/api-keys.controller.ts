import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { Idempotent } from '@/infra/idempotency/idempotent.decorator';
import { PageQuery } from '@/infra/pagination/page';
import { ApiKeysService } from './api-keys.service';
import { AllowedWhileSuspended, CurrentUser, OwnerOnly } from '@/infra/auth/auth.decorators';
import type { UserPrincipal } from '@/infra/auth/principal';
import {
  ApiKeyPageResponse,
  ApiKeyResponse,
  CreateApiKeyDto,
  CreatedApiKeyResponse,
  RotateApiKeyDto,
} from './dto/api-key.dto';

/** Key management is for owners signed in as people: a leaked key cannot mint more keys. */
@ApiTags('api-keys')
@ApiBearerAuth('access-token')
@OwnerOnly()
@ApiErrors(400, 401, { 403: 'Not an owner signed in as a person' })
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @Idempotent({ withheld: ['key'] })
  @ApiOperation({
    summary: 'Create an API key; the secret is shown once',
    description:
      'The secret is never stored: a replay (same Idempotency-Key and body) answers `key` as null. ' +
      'A lost secret is replaced by rotating or revoking the key.',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyResponse })
  create(@CurrentUser() owner: UserPrincipal, @Body() body: CreateApiKeyDto): Promise<CreatedApiKeyResponse> {
    return this.keys.createKey(owner.organisationId, body);
  }

  @Get()
  @ApiOperation({ summary: 'List API keys (prefix and last four characters only)' })
  @ApiOkResponse({ type: ApiKeyPageResponse })
  list(@CurrentUser() owner: UserPrincipal, @Query() query: PageQuery): Promise<ApiKeyPageResponse> {
    return this.keys.listKeys(owner.organisationId, query.limit, query.cursor);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One API key' })
  @ApiOkResponse({ type: ApiKeyResponse })
  @ApiErrors(404)
  get(@CurrentUser() owner: UserPrincipal, @Param('id', ParseUUIDPipe) id: string): Promise<ApiKeyResponse> {
    return this.keys.getKey(owner.organisationId, id);
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @AllowedWhileSuspended()
  @ApiOperation({
    summary: 'Revoke a key: refused from the next request on',
    description: 'Allowed while the organisation is suspended: it only takes access away.',
  })
  @ApiOkResponse({ type: ApiKeyResponse })
  @ApiErrors(404)
  revoke(
    @CurrentUser() owner: UserPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<ApiKeyResponse> {
    return this.keys.revokeKey(owner.organisationId, id);
  }

  @Post(':id/rotate')
  @Idempotent({ withheld: ['key'] })
  @ApiOperation({
    summary: 'Rotate a key',
    description:
      'Creates a replacement with the same name and scopes; the old key keeps working for `overlapSeconds`. ' +
      'A replay (same Idempotency-Key and body) answers `key` as null: the secret is never stored.',
  })
  @ApiCreatedResponse({ type: CreatedApiKeyResponse })
  @ApiErrors(404, { 409: 'The key is revoked or expired' })
  rotate(
    @CurrentUser() owner: UserPrincipal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: RotateApiKeyDto,
  ): Promise<CreatedApiKeyResponse> {
    return this.keys.rotateKey(owner.organisationId, id, body.overlapSeconds);
  }
}
