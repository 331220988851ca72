import { Injectable } from '@nestjs/common';
import type { OrganisationStatus } from '@/generated/prisma/enums';
import { Tx } from '@/infra/prisma/tx';

/** The one read of an organisation's status that writes make inside their own transaction. */
@Injectable()
export class OrganisationStatusRepository {
  constructor(private readonly txHost: Tx) {}

  /**
   * The status under a key-share lock until commit: a suspension locks the row for update, so
   * it waits for this transaction, or has committed and is what this read returns.
   */
  async lockStatusForWrite(organisationId: string): Promise<OrganisationStatus | null> {
    const [row] = await this.txHost.tx.$queryRaw<Array<{ status: OrganisationStatus }>>`
      SELECT status FROM organisations WHERE id = ${organisationId}::uuid FOR KEY SHARE`;
    return row?.status ?? null;
  }
}
