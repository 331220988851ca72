import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { OrderStatus } from '@/generated/prisma/enums';
import { PageQuery } from '@/infra/pagination/page';
import { IsMarketSlug } from '@/infra/http/field-validators';

export const ORDER_STATUSES = Object.values(OrderStatus);

export class ListBidsQuery extends PageQuery {
  @ApiPropertyOptional({ example: 'nvidia-h100-80gb' })
  @IsOptional()
  @IsMarketSlug()
  market?: string;

  @ApiPropertyOptional({ enum: ORDER_STATUSES })
  @IsOptional()
  @IsIn(ORDER_STATUSES)
  status?: OrderStatus;
}
