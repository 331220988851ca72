import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { mapPrismaError } from '@/infra/prisma/prisma-errors';
import { toErrorBody } from './error-body';

/** Every error leaves the API in the same shape; 5xx are logged with their cause. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const body = toErrorBody(mapPrismaError(exception), String(request.id));
    if (body.statusCode >= 500 && body.statusCode !== 503) {
      this.logger.error({ err: exception, requestId: body.requestId }, 'unhandled error');
    }
    const retryAfter = body.details?.retryAfterSeconds;
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
    void reply.status(body.statusCode).header('content-type', 'application/json; charset=utf-8').send(body);
  }
}
