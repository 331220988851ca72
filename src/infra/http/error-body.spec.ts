import { BadRequestException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { DomainError } from '@/shared/domain-error';
import { mapPrismaError } from '@/infra/prisma/prisma-errors';
import { toErrorBody } from './error-body';

describe('toErrorBody', () => {
  it('keeps a domain error’s code, status, message and details', () => {
    const body = toErrorBody(new DomainError('CONFLICT', 'Already cancelled.', { state: 'CANCELLED' }), 'r1');
    expect(body).toEqual({
      statusCode: 409,
      code: 'CONFLICT',
      message: 'Already cancelled.',
      details: { state: 'CANCELLED' },
      requestId: 'r1',
    });
  });

  it('turns ValidationPipe errors into VALIDATION_FAILED with the list in details', () => {
    const body = toErrorBody(new BadRequestException(['gpus must be a positive number']), 'r2');
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.statusCode).toBe(400);
    expect(body.details).toEqual({ errors: ['gpus must be a positive number'] });
  });

  it('maps HTTP exceptions by status and keeps object responses as details', () => {
    expect(toErrorBody(new NotFoundException('Cannot GET /nope'), 'r3')).toMatchObject({
      statusCode: 404,
      code: 'NOT_FOUND',
      message: 'Cannot GET /nope',
    });
    const unavailable = toErrorBody(
      new ServiceUnavailableException({ status: 'error', error: { redis: {} } }),
      'r4',
    );
    expect(unavailable).toMatchObject({ statusCode: 503, code: 'SERVICE_UNAVAILABLE' });
    expect(unavailable.details).toEqual({ status: 'error', error: { redis: {} } });
  });

  it('answers Fastify client errors with their status and hides everything else as 500', () => {
    const tooLarge = Object.assign(new Error('Request body is too large'), {
      statusCode: 413,
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
    });
    expect(toErrorBody(tooLarge, 'r5')).toMatchObject({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE' });
    const internal = toErrorBody(new Error('password=hunter2 in a stack'), 'r6');
    expect(internal).toEqual({
      statusCode: 500,
      code: 'INTERNAL',
      message: 'Internal error.',
      requestId: 'r6',
    });
  });

  it('maps Prisma unique and missing-row errors to conflict and not-found', () => {
    expect(toErrorBody(mapPrismaError({ code: 'P2002', meta: {} }), 'r7').code).toBe('CONFLICT');
    expect(toErrorBody(mapPrismaError({ code: 'P2025' }), 'r8').code).toBe('NOT_FOUND');
    const other = { code: 'P1001' };
    expect(mapPrismaError(other)).toBe(other);
  });
});
