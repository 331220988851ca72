import { Body, Controller, HttpCode, Ip, Post } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { LoginDto, RefreshDto, SessionResponse } from '../dto/auth.dto';
import { Public } from '@/infra/auth/auth.decorators';
import { AuthService } from './auth.service';

@ApiTags('auth')
@ApiErrors(400)
@Controller('v1/auth')
@Public()
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('login')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Sign in with email and password',
    description:
      'Failed attempts make their source wait longer for that account, and are limited per source ' +
      '(429 with Retry-After); the account is never locked for other sources. See docs/API.md.',
  })
  @ApiOkResponse({ type: SessionResponse })
  @ApiErrors(401, 429)
  login(@Body() body: LoginDto, @Ip() ip: string): Promise<SessionResponse> {
    return this.auth.login(body.email, body.password, ip);
  }

  @Post('refresh')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Exchange a refresh token for a new session',
    description:
      'Refresh tokens are single use. Presenting one twice revokes the whole session, its access tokens included.',
  })
  @ApiOkResponse({ type: SessionResponse })
  @ApiErrors(401)
  refresh(@Body() body: RefreshDto): Promise<SessionResponse> {
    return this.auth.refresh(body.refreshToken);
  }

  @Post('logout')
  @HttpCode(204)
  @ApiOperation({
    summary: 'End the session of this refresh token',
    description: "The session's access tokens are refused from the next request, on every API process.",
  })
  @ApiNoContentResponse({ description: 'Signed out (also for unknown tokens)' })
  async logout(@Body() body: RefreshDto): Promise<void> {
    await this.auth.logout(body.refreshToken);
  }
}
