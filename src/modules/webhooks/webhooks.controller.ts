import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import { Idempotent } from '@/infra/idempotency/idempotent.decorator';
import { PageQuery } from '@/infra/pagination/page';
import { CurrentPrincipal } from '@/infra/auth/auth.decorators';
import type { Principal } from '@/infra/auth/principal';
import {
  CreatedWebhookResponse,
  CreateWebhookDto,
  DeliveryPageResponse,
  DeliveryResponse,
  ListDeliveriesQuery,
  UpdateWebhookDto,
  WebhookPageResponse,
  WebhookResponse,
} from './dto/webhook.dto';
import { WebhooksService } from './webhooks.service';

@ApiTags('webhooks')
@ApiBearerAuth('api-key')
@ApiBearerAuth('access-token')
@ApiErrors(401, 429, { 403: 'The key lacks the scope, or the organisation is suspended' })
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @Idempotent({ withheld: ['secret'] })
  @ApiOperation({
    summary: 'Register a webhook endpoint',
    description:
      'Events your organisation may see are POSTed to the URL, signed in the Standard Webhooks format ' +
      '(`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the `secret` returned here once. ' +
      'The body is the event envelope: each type’s request is under `x-webhooks` (`bid.placed`: schema ' +
      '`BidPlacedEvent`, its `payload` `BidPlacedEventPayload`). ' +
      'A replay (same Idempotency-Key and body) answers `secret` as null; a lost secret is replaced by ' +
      'deleting the endpoint and registering it again. ' +
      'URLs that resolve to loopback, private, link-local, CGNAT, unspecified or multicast addresses are refused.',
  })
  @ApiCreatedResponse({ type: CreatedWebhookResponse })
  @ApiErrors({
    400: 'Invalid URL, refused destination or unknown event type',
    409: 'The organisation has its maximum of endpoints',
  })
  registerWebhook(
    @CurrentPrincipal() principal: Principal,
    @Body() body: CreateWebhookDto,
  ): Promise<CreatedWebhookResponse> {
    return this.webhooks.registerWebhook(principal, body);
  }

  @Get()
  @ApiOperation({ summary: 'List your webhook endpoints, newest first' })
  @ApiOkResponse({ type: WebhookPageResponse })
  @ApiErrors({ 400: 'Bad page size or cursor' })
  listWebhooks(
    @CurrentPrincipal() principal: Principal,
    @Query() query: PageQuery,
  ): Promise<WebhookPageResponse> {
    return this.webhooks.listWebhooks(principal, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One of your webhook endpoints (never its secret)' })
  @ApiOkResponse({ type: WebhookResponse })
  @ApiErrors(404)
  getWebhook(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<WebhookResponse> {
    return this.webhooks.getWebhook(principal, id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change a webhook endpoint’s URL, description, event types or enabled flag' })
  @ApiOkResponse({ type: WebhookResponse })
  @ApiErrors(404, { 400: 'Invalid URL, refused destination or unknown event type' })
  updateWebhook(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() body: UpdateWebhookDto,
  ): Promise<WebhookResponse> {
    return this.webhooks.updateWebhook(principal, id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a webhook endpoint with its delivery log' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiErrors(404)
  deleteWebhook(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<void> {
    return this.webhooks.deleteWebhook(principal, id);
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: 'Deliveries to an endpoint, newest first, each with its attempts' })
  @ApiOkResponse({ type: DeliveryPageResponse })
  @ApiErrors(404, { 400: 'Bad filter, page size or cursor' })
  listDeliveries(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query() query: ListDeliveriesQuery,
  ): Promise<DeliveryPageResponse> {
    return this.webhooks.listDeliveries(principal, id, query);
  }

  @Post(':id/deliveries/:deliveryId/replay')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Send a finished delivery again',
    description:
      'Starts a new run of attempts with the same body and `webhook-id`. A delivery still being attempted is 409.',
  })
  @ApiAcceptedResponse({ type: DeliveryResponse, description: 'Queued for another run' })
  @ApiErrors(404, { 409: 'The delivery is still being attempted' })
  replayDelivery(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Param('deliveryId') deliveryId: string,
  ): Promise<DeliveryResponse> {
    return this.webhooks.replayDelivery(principal, id, deliveryId);
  }
}
