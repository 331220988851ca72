import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { Idempotent } from '@/infra/idempotency/idempotent.decorator';
import { CurrentPrincipal, RequireRole, RequireScope } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import { BidsService } from './bids.service';
import { QuoteBidDto, QuoteResponse } from './dto/quote-bid.dto';
import { BidPageResponse, BidResponse } from './dto/bid.dto';
import { ListBidsQuery } from './dto/list-bids.dto';
import { PlaceBidDto } from './dto/place-bid.dto';
import { ReplacementPlanResponse } from './dto/replacement.dto';
import { BidExplanationResponse } from './dto/bid-explanation.dto';

@ApiTags('bids')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiErrors(401, 429, { 403: 'Not a buyer, key lacks the scope, or organisation suspended' })
@RequireRole('BUYER')
@Controller('v1/bids')
export class BidsController {
  constructor(private readonly bids: BidsService) {}

  @Post('quote')
  @HttpCode(200)
  @RequireScope('read')
  @ApiOperation({
    summary: 'Quote a bid without placing it',
    description:
      'Runs the matching core against the live book of verified providers: the GPUs a bid with these terms ' +
      'would fill now, their volume-weighted price, the (anonymous) sites by province, the GPUs each ' +
      'constraint excluded and the cheapest excluded offer. Places nothing and writes nothing. With `inference` ' +
      '(docs/INFERENCE.md "Inference bids") it quotes the GPU bid the demand is sized into, in the named market or ' +
      'the best ranked, with the sizing, the expected price per million tokens and the markets that could take it.',
  })
  @ApiOkResponse({ type: QuoteResponse })
  @ApiErrors({
    400: 'Invalid terms, as for placing a bid',
    409: 'The market is paused',
    422: '`MODEL_NOT_SERVED` or `THROUGHPUT_UNREACHABLE` (inference bids), with `details.alternatives`',
  })
  quote(@CurrentPrincipal() principal: Principal, @Body() body: QuoteBidDto): Promise<QuoteResponse> {
    return this.bids.quoteBid(principal, body);
  }

  @Post()
  @Idempotent({ groupCommit: true })
  @RequireScope('orders')
  @ApiOperation({
    summary: 'Post demand with a price cap: GPUs, or model throughput',
    description:
      'The bid rests OPEN with a new time-priority sequence until filled, cancelled or expired; writes `bid.placed`. ' +
      'A GPU bid names its market, GPUs, price cap per GPU-hour and billing mode. An inference bid gives `inference` ' +
      '(model, output and prompt tokens/s, TTFT p95 SLO, price cap per million tokens) instead: the exchange sizes it ' +
      'into GPUs of one market and the GPU-hour cap the per-million cap implies, holds funds as for that GPU bid, and ' +
      'its leases carry the model, the price per million tokens the match implies and their share of the throughput ' +
      '(docs/INFERENCE.md "Inference bids").',
  })
  @ApiCreatedResponse({ type: BidResponse })
  @ApiErrors({
    400: 'Invalid body: unknown market or province, money not a decimal string, values beyond caps, expiry not ahead',
    402:
      '`INSUFFICIENT_FUNDS`: available credit does not cover the hold (max price x GPUs x hours); ' +
      "`SPEND_CAP_EXCEEDED`: the hold would take this month's committed spend past the spend cap. " +
      '`details` carries the numbers.',
    409: 'Market paused or open order limit reached',
    422:
      'Inference bids: `MODEL_NOT_SERVED` (no live offer serves the model within the SLO, market and provinces) or ' +
      '`THROUGHPUT_UNREACHABLE` (the offers that serve it cannot sustain the throughput); `details.alternatives` ' +
      'lists the nearest bids the book could take (another throughput, region, market or model, with the price per ' +
      'million each needs)',
  })
  placeBid(@CurrentPrincipal() principal: Principal, @Body() body: PlaceBidDto): Promise<BidResponse> {
    return this.bids.placeBid(principal, body);
  }

  @Get()
  @RequireScope('read')
  @ApiOperation({ summary: 'List your bids, newest first' })
  @ApiOkResponse({ type: BidPageResponse })
  @ApiErrors({ 400: 'Unknown market, bad filter, page size or cursor' })
  listBids(
    @CurrentPrincipal() principal: Principal,
    @Query() query: ListBidsQuery,
  ): Promise<BidPageResponse> {
    return this.bids.listBids(principal, query);
  }

  @Get(':id')
  @RequireScope('read')
  @ApiOperation({ summary: 'Get one of your bids' })
  @ApiOkResponse({ type: BidResponse })
  @ApiErrors({ 404: 'No such bid among yours' })
  getBid(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<BidResponse> {
    return this.bids.getBid(principal, id);
  }

  @Get(':id/explanation')
  @RequireScope('read')
  @ApiOperation({
    summary: 'Why one of your live bids rests',
    description:
      "Runs the quote's exclusion analysis (POST /v1/bids/quote) with the bid's own stored terms and remaining GPUs " +
      'against the live book: the supply each rule removed (GPUs and offers), the eligible supply left, and the ' +
      'first reason the bid still rests, such as waiting for the next clearing of a CALL market ' +
      '(docs/MATCHING.md "Why a bid rests"). Writes nothing.',
  })
  @ApiOkResponse({ type: BidExplanationResponse })
  @ApiErrors({
    404: 'No such bid among yours',
    409: 'The bid is FILLED, CANCELLED or EXPIRED: nothing rests; `details.status` names it',
  })
  explainBid(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
  ): Promise<BidExplanationResponse> {
    return this.bids.explainBid(principal, id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @RequireScope('orders')
  @ApiOperation({
    summary: 'Cancel a bid',
    description:
      'Cancels the unfilled GPUs; leases already made run on. Idempotent: cancelling a cancelled bid returns ' +
      'it unchanged. Writes `bid.cancelled` on the transition only.',
  })
  @ApiOkResponse({ type: BidResponse })
  @ApiErrors({ 404: 'No such bid among yours', 409: 'The bid is already filled or expired' })
  cancelBid(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<BidResponse> {
    return this.bids.cancelBid(principal, id);
  }

  @Get(':id/auto-replace')
  @RequireScope('read')
  @ApiOperation({
    summary: 'The automatic re-placement plan of one of your bids',
    description:
      'Shared by the bid that asked for it (`autoReplace`) and its re-placements: what is used and left of its ' +
      'count and budget (docs/LEASES.md "Re-placing a bid automatically").',
  })
  @ApiOkResponse({ type: ReplacementPlanResponse })
  @ApiErrors({ 404: 'No such bid among yours, or it has no plan' })
  getReplacementPlan(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
  ): Promise<ReplacementPlanResponse> {
    return this.bids.getReplacementPlan(principal, id);
  }

  @Post(':id/auto-replace/stop')
  @HttpCode(200)
  @RequireScope('orders')
  @ApiOperation({
    summary: 'Stop a bid’s automatic re-placement',
    description:
      'No lease of the plan’s bids is re-placed after this; bids already placed stay as they are (cancel them ' +
      'as any bid). Idempotent.',
  })
  @ApiOkResponse({ type: ReplacementPlanResponse })
  @ApiErrors({ 404: 'No such bid among yours, or it has no plan' })
  stopReplacement(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
  ): Promise<ReplacementPlanResponse> {
    return this.bids.stopReplacement(principal, id);
  }
}
