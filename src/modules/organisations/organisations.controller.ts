import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { Idempotent } from '@/infra/idempotency/idempotent.decorator';
import { PageQuery } from '@/infra/pagination/page';
import { CurrentPrincipal, CurrentUser, OwnerOnly, Public } from '@/infra/auth/auth.decorators';
import type { Principal, UserPrincipal } from '@/infra/auth/principal';
import { CreateInvitationDto, AcceptInvitationDto, InvitationResponse } from './dto/invitation.dto';
import { RegisterOrganisationDto } from './dto/register-organisation.dto';
import {
  OrganisationResponse,
  RegistrationResponse,
  UserPageResponse,
  UserResponse,
} from './dto/organisation.dto';
import { OrganisationsService, registrantOf } from './organisations.service';
import { UsersService } from './users.service';

@ApiTags('organisations')
@ApiErrors({ 400: 'Invalid input' })
@Controller('v1')
export class OrganisationsController {
  constructor(
    private readonly organisations: OrganisationsService,
    private readonly users: UsersService,
  ) {}

  @Post('organisations')
  @Public()
  @Idempotent({ callerOf: registrantOf, unfingerprinted: ['owner.password'], withheld: ['apiKey.key'] })
  @ApiOperation({
    summary: 'Register an organisation',
    description:
      'Creates a PROVIDER or BUYER organisation (PENDING_VERIFICATION) with its owner and first API key. ' +
      'The key secret is in the response only. Pending organisations may create sites and orders; ' +
      'their orders are invisible to matching and the public book until verified. ' +
      'An email that already has an account gets the same 201 answer, but nothing is created and its ' +
      'key opens nothing: the answer never tells whether an email is taken. ' +
      'Idempotency-Key values are scoped by the email registered; the password is not part of the ' +
      'fingerprint, and a replay answers `apiKey.key` as null (the secret is never stored).',
  })
  @ApiCreatedResponse({ type: RegistrationResponse })
  @ApiErrors({ 409: 'Idempotency-Key in flight' })
  register(@Body() body: RegisterOrganisationDto): Promise<RegistrationResponse> {
    return this.organisations.registerOrganisation(body);
  }

  @Get('organisation')
  @ApiBearerAuth('api-key')
  @ApiBearerAuth('access-token')
  @ApiOperation({ summary: 'The calling organisation' })
  @ApiOkResponse({ type: OrganisationResponse })
  @ApiErrors(401)
  getOwn(@CurrentPrincipal() principal: Principal): Promise<OrganisationResponse> {
    return this.organisations.getOrganisation(principal.organisationId);
  }

  @Get('users')
  @ApiBearerAuth('api-key')
  @ApiBearerAuth('access-token')
  @ApiOperation({ summary: 'People of the calling organisation' })
  @ApiOkResponse({ type: UserPageResponse })
  @ApiErrors(401)
  listUsers(@CurrentPrincipal() principal: Principal, @Query() query: PageQuery): Promise<UserPageResponse> {
    return this.users.listUsers(principal.organisationId, query.limit, query.cursor);
  }

  @Get('users/:id')
  @ApiBearerAuth('api-key')
  @ApiBearerAuth('access-token')
  @ApiOperation({ summary: 'One person of the calling organisation' })
  @ApiOkResponse({ type: UserResponse })
  @ApiErrors(404)
  getUser(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<UserResponse> {
    return this.users.getUser(principal.organisationId, id);
  }

  @Post('users/:id/disable')
  @HttpCode(200)
  @OwnerOnly()
  @ApiBearerAuth('access-token')
  @ApiOperation({ summary: 'Disable a person (owners only); their sessions end at once' })
  @ApiOkResponse({ type: UserResponse })
  @ApiErrors(403, 404, { 409: 'Would leave no active owner' })
  disableUser(
    @CurrentPrincipal() principal: Principal,
    @Param('id', ParseUUIDPipe) id: string,
  ): Promise<UserResponse> {
    return this.users.disableUser(principal.organisationId, id);
  }

  @Post('invitations')
  @OwnerOnly()
  @Idempotent({ withheld: ['token'] })
  @ApiBearerAuth('access-token')
  @ApiOperation({
    summary: 'Invite a person (owners only); returns a one-time token',
    description:
      'The token is in this response only: a replay (same Idempotency-Key and body) answers `token` as ' +
      'null. A lost token is replaced by inviting the person again.',
  })
  @ApiCreatedResponse({ type: InvitationResponse })
  @ApiErrors(403)
  invite(
    @CurrentUser() owner: UserPrincipal,
    @Body() body: CreateInvitationDto,
  ): Promise<InvitationResponse> {
    return this.users.inviteUser(owner.organisationId, owner.userId, body);
  }

  @Post('invitations/accept')
  @Public()
  @ApiOperation({ summary: 'Accept an invitation with its token and choose a password' })
  @ApiCreatedResponse({ type: UserResponse })
  @ApiErrors({ 404: 'Unknown, used, revoked or expired token' })
  accept(@Body() body: AcceptInvitationDto): Promise<UserResponse> {
    return this.users.acceptInvitation(body.token, body.password);
  }
}
