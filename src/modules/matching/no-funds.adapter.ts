import { Injectable } from '@nestjs/common';
import { FundsPort } from './funds.port';

/** Until the ledger lands nothing is held, so there is nothing to convert or release. */
@Injectable()
export class NoFundsAdapter extends FundsPort {
  async convertBidHolds(): Promise<void> {
    await Promise.resolve();
  }

  async releaseBidHolds(): Promise<void> {
    await Promise.resolve();
  }
}
