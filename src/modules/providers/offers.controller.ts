import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { Idempotent } from '@/infra/idempotency/idempotent.decorator';
import { CurrentPrincipal, RequireRole, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import { AmendOfferDto } from './dto/amend-offer.dto';
import { ListOffersQuery } from './dto/list-offers.dto';
import { OfferPageResponse, OfferResponse } from './dto/offer.dto';
import { PlaceOfferDto } from './dto/place-offer.dto';
import { OffersService } from './offers.service';

@ApiTags('offers')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiErrors(401, 429, { 403: 'Not a provider, key lacks the scope, or organisation suspended' })
@RequireRole('PROVIDER')
@Controller('v1/offers')
export class OffersController {
  constructor(private readonly offers: OffersService) {}

  @Post()
  @Idempotent({ groupCommit: true })
  @RequireScope('orders')
  @ApiOperation({
    summary: 'Offer idle GPUs of one of your sites',
    description: 'The offer rests OPEN with a new time-priority sequence; writes `offer.placed`.',
  })
  @ApiCreatedResponse({ type: OfferResponse })
  @ApiErrors({
    400: 'Invalid body: unknown market, not your site, money not a decimal string, bad window, values beyond caps',
    409: 'Market paused or open order limit reached',
  })
  placeOffer(@CurrentPrincipal() principal: Principal, @Body() body: PlaceOfferDto): Promise<OfferResponse> {
    return this.offers.placeOffer(principal, body);
  }

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'List your offers, newest first' })
  @ApiOkResponse({ type: OfferPageResponse })
  @ApiErrors({ 400: 'Unknown market, bad filter, page size or cursor' })
  listOffers(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListOffersQuery,
  ): Promise<OfferPageResponse> {
    return this.offers.listOffers(principal, query);
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ summary: 'Get one of your offers' })
  @ApiOkResponse({ type: OfferResponse })
  @ApiErrors({ 404: 'No such offer among yours' })
  getOffer(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<OfferResponse> {
    return this.offers.getOffer(principal, id);
  }

  @Patch(':id')
  @RequireScope('orders')
  @ApiOperation({
    summary: 'Amend an offer: change its price and/or lower its GPUs',
    description:
      'GPUs may only go down, not below the GPUs held by leases. A new price takes a new time-priority ' +
      'sequence. Restating the current values changes nothing. Writes `offer.amended` when something changed.',
  })
  @ApiOkResponse({ type: OfferResponse })
  @ApiErrors({
    400: 'Invalid body, no field given, or GPUs raised',
    404: 'No such offer among yours',
    409: 'Offer cancelled or expired, window ended, or GPUs below those held by leases',
  })
  amendOffer(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: AmendOfferDto,
  ): Promise<OfferResponse> {
    return this.offers.amendOffer(principal, id, body);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @RequireScope('orders')
  @ApiOperation({
    summary: 'Cancel an offer',
    description:
      'Withdraws the unleased GPUs; running leases run on. Idempotent: cancelling a cancelled offer returns ' +
      'it unchanged. Writes `offer.cancelled` on the transition only.',
  })
  @ApiOkResponse({ type: OfferResponse })
  @ApiErrors({ 404: 'No such offer among yours', 409: 'The offer has expired' })
  cancelOffer(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<OfferResponse> {
    return this.offers.cancelOffer(principal, id);
  }
}
