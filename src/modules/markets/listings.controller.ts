import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { Public } from '@/infra/auth/auth.decorators';
import { ListingPageResponse, ListingsQuery } from './dto/listing.dto';
import { MarketDataService } from './market-data.service';

@ApiTags('market data')
@ApiErrors({ 429: 'Rate limit per IP exceeded; see Retry-After' })
@Public()
@Controller('v1/offers/listings')
export class ListingsController {
  constructor(private readonly marketData: MarketDataService) {}

  @Get()
  @ApiOperation({
    summary: 'Browse available supply',
    description:
      'Offers of verified providers with free GPUs whose window has not ended, newest first: provider ' +
      'display name and reliability score (docs/RELIABILITY.md), market, province, city, uptime tier, free ' +
      'GPUs, price and window, idle windows and when the next one opens (or the open one closes); and ' +
      'what the GPUs serve in inference terms, per model: tokens/s available now and the ask per million ' +
      'tokens (docs/INFERENCE.md "Market data in inference terms"). No organisation, offer or site id is shown.',
  })
  @ApiOkResponse({ type: ListingPageResponse })
  @ApiErrors({ 400: 'Unknown market or province, bad page size or cursor' })
  listListings(@Query() query: ListingsQuery): Promise<ListingPageResponse> {
    return this.marketData.listListings(query);
  }
}
